"""Per-tag decision thresholds, read from the scores over the whole library.

CLIP similarities sit in a narrow band whose place differs from tag to tag (a matching
"dog" may score 0.28 where a matching "document" scores 0.22), so no fixed cut-off works
for every tag. Each image is first measured against a reference caption (the vocabulary's
average caption, or neutral captions such as "a photo of something"): the *margin*
``score - baseline`` says how much more the image looks like the tag than like any photo,
which removes what is peculiar to the image (its style, its light) rather than to the tag.
Some models need no reference (their raw similarities split more cleanly): the tagging
job tries each and keeps the one whose margins split best (``job.choose_reference``).

Over a library, margins fall into groups: the photos that show a tag, and the rest
(which may itself be lopsided, e.g. photos with something merely similar). A Gaussian
mixture with two, else three, components finds them; components whose photos beat the
reference and stand clearly apart from the others are "the tag", and the threshold is
where a photo becomes more likely to belong to them. When the margins do not split like
that (the tag is on no photo, or on all of them), only photos that stand far out of the
crowd are tagged. :func:`calibrate_pooled` reads one tag's height from its own margins
and the split from every tag's together, which is what a library of a few hundred photos
can support; :func:`calibrate` reads both from one tag's margins.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

MAX_FIT = 20000  # photos the mixture is fitted on; larger libraries are sampled
MIN_SAMPLES = 8  # fewer photos than this: no distribution to read, use the outlier rule
MIN_SEPARATION = 2.0  # Ashman's D between the tag's group and the rest
MIN_BIC_GAIN = 10.0  # "very strong" evidence for groups over a single one
OUTLIER_SIGMAS = 3.0
NEUTRAL_FLOOR = 0.0  # the tag's group must beat the neutral caption on average
_GRID = 512


@dataclass(frozen=True)
class Calibration:
    """How one tag's margins are turned into a decision and a confidence."""

    threshold: float
    method: str  # "mixture" or "outlier"
    weights: tuple[float, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]
    positive: tuple[bool, ...]  # which components are the tag

    @property
    def spread(self) -> float:
        """A margin distance over which the decision goes from unlikely to likely."""
        if self.method == "mixture":
            pos = [m for m, p in zip(self.means, self.positive, strict=True) if p]
            neg = [m for m, p in zip(self.means, self.positive, strict=True) if not p]
            return max((min(pos) - max(neg)) / 4.0, 1e-4)
        return max(self.stds[0] / 2.0, 1e-4)

    @property
    def separation(self) -> float:
        """Ashman's D between the tag's group and the rest; 0 when the margins did not split.

        How cleanly "has the tag" stands apart from "has not": what the choice of the
        reference caption is judged by (see ``job.choose_reference``).
        """
        if self.method != "mixture":
            return 0.0
        high = self.positive.index(True)
        low = high - 1
        pooled = np.sqrt((self.stds[low] ** 2 + self.stds[high] ** 2) / 2)
        return float((self.means[high] - self.means[low]) / pooled)

    @property
    def tag_share(self) -> float:
        """The share of photos (or, pooled, of (photo, tag) pairs) in the tag's group."""
        return sum(w for w, p in zip(self.weights, self.positive, strict=True) if p)

    def confidence(self, margins: np.ndarray) -> np.ndarray:
        """A 0-1 confidence that rises with the margin and is 0.5 at the threshold."""
        margins = np.asarray(margins, dtype=np.float64)
        if self.method == "mixture":
            grid = np.linspace(min(self.means), max(self.means), _GRID)
            post = np.maximum.accumulate(_posterior(grid, self))
            return np.interp(margins, grid, post).astype(np.float32)
        z = np.clip((margins - self.threshold) / self.spread, -40, 40)
        return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)

    def to_json(self) -> dict[str, object]:
        return {
            "threshold": round(self.threshold, 6),
            "method": self.method,
            "weights": [round(w, 6) for w in self.weights],
            "means": [round(m, 6) for m in self.means],
            "stds": [round(s, 6) for s in self.stds],
            "positive": list(self.positive),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Calibration:
        return cls(
            float(data["threshold"]),  # type: ignore[arg-type]
            str(data["method"]),
            *(tuple(data[k]) for k in ("weights", "means", "stds", "positive")),  # type: ignore[call-overload]
        )


def _normal(x: np.ndarray, mean: float, std: float) -> np.ndarray:
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / std


def _posterior(x: np.ndarray, cal: Calibration) -> np.ndarray:
    parts = [w * _normal(x, m, s) for w, m, s in zip(cal.weights, cal.means, cal.stds, strict=True)]
    pos = sum(p for p, keep in zip(parts, cal.positive, strict=True) if keep)
    return pos / np.maximum(sum(parts), 1e-300)


def _otsu_cuts(values: np.ndarray, k: int, bins: int = 128) -> list[float]:
    """The ``k - 1`` cuts that best separate ``values`` into ``k`` groups (Otsu, k <= 3)."""
    hist, edges = np.histogram(values, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    w = np.concatenate([[0.0], np.cumsum(hist)])
    m = np.concatenate([[0.0], np.cumsum(hist * centres)])

    def between(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:  # groups of bins [lo, hi)
        count = w[hi] - w[lo]
        return np.where(count > 0, (m[hi] - m[lo]) ** 2 / np.maximum(count, 1e-12), 0.0)

    if k == 2:
        cut = np.arange(1, bins)
        best = int(np.argmax(between(0 * cut, cut) + between(cut, bins + 0 * cut)))
        return [float(edges[cut[best]])]
    i, j = np.triu_indices(bins, 1)
    i, j = i[i > 0], j[i > 0]
    score = between(0 * i, i) + between(i, j) + between(j, bins + 0 * j)
    best = int(np.argmax(score))
    return [float(edges[i[best]]), float(edges[j[best]])]


def _em(x: np.ndarray, means: np.ndarray, iterations: int) -> tuple[float, tuple[np.ndarray, ...]]:
    k = len(means)
    floor = max(float(np.std(x)) * 0.02, 1e-6)
    stds = np.full(k, max(float(np.std(x)) / k, floor))
    weights = np.full(k, 1.0 / k)
    previous = -np.inf
    loglik = previous
    for _ in range(iterations):
        dens = np.stack(
            [w * _normal(x, m, s) for w, m, s in zip(weights, means, stds, strict=True)]
        )
        total = np.maximum(dens.sum(axis=0), 1e-300)
        loglik = float(np.log(total).sum())
        resp = dens / total
        counts = resp.sum(axis=1) + 1e-12
        weights = counts / len(x)
        means = resp @ x / counts
        stds = np.maximum(np.sqrt((resp * (x - means[:, None]) ** 2).sum(axis=1) / counts), floor)
        if loglik - previous < 1e-9 * abs(loglik):
            break
        previous = loglik
    order = np.argsort(means)
    return loglik, (weights[order], means[order], stds[order])


def _group_mean(x: np.ndarray, lo: float, hi: float) -> float:
    inside = x[(x >= lo) & (x <= hi)]
    return float(inside.mean()) if len(inside) else (lo + hi) / 2


def fit_mixture(values: np.ndarray, k: int = 2, iterations: int = 200) -> tuple[np.ndarray, ...]:
    """EM for ``k`` 1-D Gaussians: ``(weights, means, stds)`` sorted by mean.

    Started from Otsu's cuts and from quantiles; the better likelihood wins (EM finds
    local optima, and a small group at the top is easy to miss from a single start).
    """
    x = np.asarray(values, dtype=np.float64)
    cuts = [x.min(), *_otsu_cuts(x, k), x.max() + 1e-12]
    otsu = np.array([_group_mean(x, lo, hi) for lo, hi in itertools.pairwise(cuts)])
    starts = [otsu, np.quantile(x, (np.arange(k) + 0.5) / k)]
    fits = [_em(x, start.astype(np.float64), iterations) for start in starts]
    return max(fits, key=lambda fit: fit[0])[1]


def _bic(x: np.ndarray, weights: np.ndarray, means: np.ndarray, stds: np.ndarray) -> float:
    dens = sum(w * _normal(x, m, s) for w, m, s in zip(weights, means, stds, strict=True))
    loglik = float(np.log(np.maximum(dens / np.sqrt(2 * np.pi), 1e-300)).sum())
    return -2.0 * loglik + (3 * len(weights) - 1) * np.log(len(x))


def _mixture(margins: np.ndarray, k: int) -> Calibration | None:
    """A mixture calibration with ``k`` components, or None when they do not split well."""
    weights, means, stds = fit_mixture(margins, k)
    one = (np.ones(1), np.array([margins.mean()]), np.array([max(margins.std(), 1e-6)]))
    if _bic(margins, weights, means, stds) > _bic(margins, *one) - MIN_BIC_GAIN:
        return None  # one group explains the margins as well: nothing to split
    for cut in range(k - 1, 0, -1):  # components cut.. are the tag; try the fewest first
        pos = slice(cut, k)
        low, high = cut - 1, cut
        separation = (means[high] - means[low]) / np.sqrt((stds[low] ** 2 + stds[high] ** 2) / 2)
        members = weights[pos].sum() * len(margins)
        pos_mean = float(weights[pos] @ means[pos] / weights[pos].sum())
        if separation >= MIN_SEPARATION and members >= 1.0 and pos_mean > NEUTRAL_FLOOR:
            flags = tuple(i >= cut for i in range(k))
            cal = Calibration(0.0, "mixture", *map(_floats, (weights, means, stds)), flags)
            grid = np.linspace(means[0], means[-1], _GRID)
            post = np.maximum.accumulate(_posterior(grid, cal))
            threshold = float(grid[int(np.argmax(post >= 0.5))])
            return Calibration(threshold, "mixture", cal.weights, cal.means, cal.stds, flags)
    return None


def _floats(values: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def calibrate(scores: np.ndarray, baseline: np.ndarray) -> Calibration:
    """The threshold on ``scores - baseline`` for one tag over a library of photos."""
    margins = np.asarray(scores, dtype=np.float64) - np.asarray(baseline, dtype=np.float64)
    if len(margins) > MAX_FIT:  # the shape of the distribution needs no more than this
        margins = np.random.default_rng(0).choice(margins, MAX_FIT, replace=False)
    if len(margins) >= MIN_SAMPLES and np.ptp(margins) > 0:
        for k in (2, 3):
            found = _mixture(margins, k)
            if found is not None:
                return found
    median = float(np.median(margins)) if len(margins) else 0.0
    mad = float(np.median(np.abs(margins - median))) * 1.4826 if len(margins) else 0.0
    robust_std = max(mad, 1e-4)
    # Far enough out that, were the margins one normal group, less than one photo in the
    # whole library would pass by chance (3 sigma for small libraries, more for big ones).
    sigmas = max(OUTLIER_SIGMAS, NormalDist().inv_cdf(1.0 - 1.0 / max(len(scores), 2)))
    if median - 2 * sigmas * robust_std > NEUTRAL_FLOOR:
        # Every photo beats the neutral caption by far: the tag fits the whole library.
        threshold = median - sigmas * robust_std
    else:
        threshold = max(median + sigmas * robust_std, NEUTRAL_FLOOR)
    return Calibration(threshold, "outlier", (1.0,), (median,), (robust_std,), (False,))


def calibrate_all(scores: np.ndarray, baseline: np.ndarray) -> list[Calibration]:
    """One calibration per column of ``scores`` (images x tags), each on its own margins."""
    return [calibrate(scores[:, j], baseline) for j in range(scores.shape[1])]


def shifted(cal: Calibration, offset: float) -> Calibration:
    """``cal`` moved by ``offset`` along the margin axis."""
    return Calibration(
        cal.threshold + offset,
        cal.method,
        cal.weights,
        tuple(m + offset for m in cal.means),
        cal.stds,
        cal.positive,
    )


def calibrate_pooled(margins: np.ndarray) -> list[Calibration]:
    """One calibration per tag (column of ``margins``), read from all tags together.

    Each tag's margins are first centred on their median over the library (most photos
    do not show a given tag, so the median is where "not this tag" sits; this removes
    what is peculiar to the tag's text, e.g. a caption that every photo resembles a
    little). The centred margins of every tag are then pooled and split into "has the
    tag" and "has not" once. A library shows each tag on few photos, too few to read a
    tag's own distribution reliably; pooled, the tags lend each other strength. (On the
    tiny-shapes sample libraries, per-tag mixtures lost 0.04-0.25 F1 to this; see
    ``benchmarks/bench_tags.py``.)
    """
    margins = np.asarray(margins, dtype=np.float64)
    if margins.ndim != 2 or margins.shape[1] == 0:
        return []
    medians = np.median(margins, axis=0) if len(margins) else np.zeros(margins.shape[1])
    pooled = (margins - medians).ravel()  # calibrate() samples it down if it is large
    common = calibrate(pooled, np.zeros_like(pooled))
    return [shifted(common, float(m)) for m in medians]
