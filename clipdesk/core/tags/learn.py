"""Turning the user's decisions on a tag into a probe, and a tag's scores into tags.

Pure functions over arrays: :func:`decide` says which photos carry a tag, from their
confidences; :func:`fit_tag_probe` trains a probe from confirmed and rejected photos. A
vocabulary tag's probe is held to its zero-shot decisions on a sample of the photos nobody
judged (anchors, see ``probe``); a custom tag, whose name means nothing to the model, is
topped up with presumed negatives (random photos of the library, down-weighted) instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from clipdesk.core.tags.calibration import Calibration
from clipdesk.core.tags.probe import MIN_EACH, Anchors, Probe, train_probe, zero_shot_prior

BACKGROUND_WEIGHT = 0.3  # a random library photo is a weaker "no" than the user's own
MIN_BACKGROUND = 10
# Anchors: enough unjudged photos that ten examples cannot turn the whole boundary, each
# half as weighty as a photo the user judged. Of 30-500 at 0.1-1.0, 300 at 0.5 did best,
# teaching from corrections and from random examples alike, in a simulation of
# benchmarks/bench_tags.py on its embeddings (figures in BENCHMARKS.md).
ANCHORS = 300
ANCHOR_WEIGHT = 0.5
# Part of the examples' digest: saved probes retrain once when this changes (last: their
# start and anchors became the zero-shot decision refined on the library).
PROBE_VERSION = b"refined-1"


def examples_digest(yes: Sequence[str], no: Sequence[str]) -> str:
    """Identifies a set of decisions, so a probe is retrained only when they change
    (or when the way probes are trained does: ``PROBE_VERSION``)."""
    h = hashlib.sha256(PROBE_VERSION)
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
    zero_shot: np.ndarray | None = None,
    seed: int = 0,
) -> Probe | None:
    """A probe from the user's examples, or None when there are too few to learn from.

    ``zero_shot`` is the tag's zero-shot confidence for every library photo (a
    vocabulary tag); without it (a custom tag) unjudged photos are presumed negatives.
    """
    if len(yes) < MIN_EACH:
        return None
    positives = np.stack(list(yes.values()))
    negatives = list(no.values())
    weights = [1.0] * len(negatives)
    taken = set(yes) | set(no)
    pool = np.array([i for i, fp in enumerate(library_fps) if fp not in taken], dtype=np.int64)
    rng = np.random.default_rng(seed)
    anchors = None
    if zero_shot is not None:
        confidence = np.asarray(zero_shot)
        rows = rng.choice(pool, size=min(len(pool), ANCHORS), replace=False)
        anchors = Anchors(library[rows], confidence[rows], ANCHOR_WEIGHT)
        pool = pool[confidence[pool] < 0.5]  # presumed negatives, if needed, are untagged
    if zero_shot is None or len(no) < MIN_EACH:
        # Library photos the user did not judge stand in as presumed negatives: the user's
        # few examples are balanced, the library is not, and without them the probe
        # would tag as if half the library carried the tag.
        want = min(len(pool), max(MIN_BACKGROUND, 3 * (len(yes) + len(no))))
        for i in rng.choice(pool, size=want, replace=False):
            negatives.append(library[int(i)])
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
        anchors=anchors,
    )


def decide(confidences: np.ndarray) -> np.ndarray:
    """The rows of the photos carrying the tag: more likely to show it than not (zero-shot
    confidences and a probe's probabilities alike are 0.5 at the decision)."""
    return np.flatnonzero(np.asarray(confidences) >= 0.5)
