"""Turning the user's decisions on a tag into a probe, and a tag's scores into tags.

Pure functions over arrays: :func:`decide_zero_shot` and :func:`decide_learned` say which
photos carry a tag and with what score and confidence; :func:`fit_tag_probe` trains a
probe from confirmed and rejected photos, topping up with presumed negatives (random
photos of the library, down-weighted) when the user gave few or none.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from clipdesk.core.tags.calibration import Calibration
from clipdesk.core.tags.probe import MIN_EACH, Probe, train_probe, zero_shot_prior

BACKGROUND_WEIGHT = 0.3  # a random library photo is a weaker "no" than the user's own
MIN_BACKGROUND = 10


def examples_digest(yes: Sequence[str], no: Sequence[str]) -> str:
    """Identifies a set of decisions, so a probe is retrained only when they change."""
    h = hashlib.sha256()
    for fp in sorted(yes):
        h.update(b"+" + fp.encode())
    for fp in sorted(no):
        h.update(b"-" + fp.encode())
    return h.hexdigest()[:24]


def prior_from(calibration: Calibration, tag_vector: np.ndarray, neutral: np.ndarray):  # type: ignore[no-untyped-def]
    """The calibrated zero-shot decision as a starting point for the probe."""
    return zero_shot_prior(tag_vector, neutral, calibration.threshold, calibration.spread)


def fit_tag_probe(
    library: np.ndarray,
    library_fps: Sequence[str],
    yes: dict[str, np.ndarray],
    no: dict[str, np.ndarray],
    *,
    prior: tuple[np.ndarray, float] | None,
    seed: int = 0,
) -> Probe | None:
    """A probe from the user's examples, or None when there are too few to learn from."""
    if len(yes) < MIN_EACH:
        return None
    positives = np.stack(list(yes.values()))
    negatives = list(no.values())
    weights = [1.0] * len(negatives)
    # Library photos the user did not judge stand in as presumed negatives, always: the
    # user's few examples are balanced, the library is not, and without them the probe
    # would tag as if half the library carried the tag.
    taken = set(yes) | set(no)
    pool = [i for i, fp in enumerate(library_fps) if fp not in taken]
    want = min(len(pool), max(MIN_BACKGROUND, 3 * (len(yes) + len(no))))
    if want:
        rng = np.random.default_rng(seed)
        for i in rng.choice(len(pool), size=want, replace=False):
            negatives.append(library[pool[int(i)]])
            weights.append(BACKGROUND_WEIGHT)
    if len(negatives) < MIN_EACH:
        return None
    center = library.mean(axis=0) if len(library) else None
    return train_probe(
        positives,
        np.stack(negatives),
        prior=prior,
        center=center,
        negative_weight=np.array(weights),
    )


def decide_zero_shot(
    scores: np.ndarray, baseline: np.ndarray, calibration: Calibration
) -> tuple[np.ndarray, np.ndarray]:
    """``(chosen rows, confidences)`` of the photos carrying the tag."""
    margins = scores - baseline
    chosen = np.flatnonzero(margins >= calibration.threshold)
    return chosen, calibration.confidence(margins[chosen])


def decide_learned(probabilities: np.ndarray) -> np.ndarray:
    return np.flatnonzero(probabilities >= 0.5)
