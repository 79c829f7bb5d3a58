"""The distance under which two faces are taken for one person, read from the library.

dlib's embedder was tuned so that 0.6 separates people on LFW (celebrities, adults,
frontal). A family's library differs: children, siblings, old photos. The library tells
its own story: two faces in the same photo are two different people, so the distances
between faces that share a photo are a sample of "different people" distances in this
very library. The threshold sits below nearly all of them (their 1st percentile, less a
margin), within bounds; until a library has enough such pairs it is ``DEFAULT``.

``DEFAULT`` is 0.5, not dlib's 0.6: a daughter and her mother in one PASCAL photo lie
0.54-0.61 apart across crops and light, while the same actor's photos taken years apart,
turned heads included, group as well at 0.5 as at 0.55
(``benchmarks/bench_people_hard_cases.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT = 0.5
LOWEST = 0.35
HIGHEST = 0.6
MIN_PAIRS = 20
QUANTILE = 0.01
MARGIN = 0.9


@dataclass(frozen=True, slots=True)
class Threshold:
    value: float
    pairs: int  # same-photo pairs it was read from (0: the default)


def same_photo_distances(fingerprints: Sequence[str], embeddings: np.ndarray) -> np.ndarray:
    """Distances between every two faces that share a photo: "different people" pairs."""
    by_photo: dict[str, list[int]] = {}
    for row, fp in enumerate(fingerprints):
        by_photo.setdefault(fp, []).append(row)
    distances = [np.zeros(0, np.float32)]
    for rows in by_photo.values():
        if len(rows) < 2:
            continue
        vectors = embeddings[rows]
        d = np.linalg.norm(vectors[:, None, :] - vectors[None, :, :], axis=-1)
        distances.append(d[np.triu_indices(len(rows), 1)].astype(np.float32))
    return np.concatenate(distances)


def threshold_from(pooled: np.ndarray) -> Threshold:
    """The threshold below nearly every "different people" distance, within bounds."""
    if len(pooled) < MIN_PAIRS:
        return Threshold(DEFAULT, len(pooled))
    value = float(np.quantile(pooled, QUANTILE)) * MARGIN
    return Threshold(min(HIGHEST, max(LOWEST, value)), len(pooled))


def calibrate(fingerprints: Sequence[str], embeddings: np.ndarray) -> Threshold:
    """The threshold for a library whose faces are ``embeddings``, one per fingerprint."""
    return threshold_from(same_photo_distances(fingerprints, embeddings))
