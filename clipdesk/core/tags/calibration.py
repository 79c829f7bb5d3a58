"""Per-tag decision thresholds, read from the scores over the whole library.

CLIP similarities sit in a narrow band whose place differs from tag to tag (a matching
"dog" may score 0.28 where a matching "document" scores 0.22), so no fixed cut-off works
for every tag. Each image is first measured against a neutral caption ("a photo of
something."): the *margin* ``score - baseline`` says how much more the image looks like
the tag than like any photo. Over a library, margins of a tag fall into two groups, the
photos that show it and the rest; a two-component Gaussian mixture finds both and the
threshold is where a photo becomes more likely to belong to the upper group. When the
margins do not split (the tag is on no photo, or on all of them), only photos that stand
far out of the crowd and beat the neutral caption are tagged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

MIN_SAMPLES = 8  # fewer photos than this: no distribution to read, use the outlier rule
MIN_SEPARATION = 2.0  # Ashman's D between the two groups; below it they are one group
OUTLIER_SIGMAS = 3.0
NEUTRAL_FLOOR = 0.0  # a tagged photo's margin group must beat the neutral caption
_GRID = 512


@dataclass(frozen=True)
class Calibration:
    """How one tag's margins are turned into a decision and a confidence."""

    threshold: float
    method: str  # "mixture" or "outlier"
    neg_mean: float
    neg_std: float
    pos_mean: float
    pos_std: float
    pos_weight: float

    def confidence(self, margins: np.ndarray) -> np.ndarray:
        """A 0-1 confidence that rises with the margin and is 0.5 at the threshold."""
        margins = np.asarray(margins, dtype=np.float64)
        if self.method == "mixture":
            grid = np.linspace(self.neg_mean, self.pos_mean, _GRID)
            post = np.maximum.accumulate(_posterior(grid, self))
            return np.interp(margins, grid, post).astype(np.float32)
        scale = max(self.neg_std, 1e-6) / 2.0
        return (1.0 / (1.0 + np.exp(-(margins - self.threshold) / scale))).astype(np.float32)

    def to_json(self) -> dict[str, float | str]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Calibration:
        return cls(**data)  # type: ignore[arg-type]


def _normal(x: np.ndarray, mean: float, std: float) -> np.ndarray:
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / std


def _posterior(x: np.ndarray, cal: Calibration) -> np.ndarray:
    pos = cal.pos_weight * _normal(x, cal.pos_mean, cal.pos_std)
    neg = (1.0 - cal.pos_weight) * _normal(x, cal.neg_mean, cal.neg_std)
    return pos / np.maximum(pos + neg, 1e-300)


def _otsu_split(values: np.ndarray) -> float:
    """The cut that best separates sorted values into two groups (Otsu's criterion)."""
    v = np.sort(values)
    n = len(v)
    csum = np.cumsum(v)
    k = np.arange(1, n)
    left_mean = csum[:-1] / k
    right_mean = (csum[-1] - csum[:-1]) / (n - k)
    between = k * (n - k) * (left_mean - right_mean) ** 2
    best = int(np.argmax(between))
    return float((v[best] + v[best + 1]) / 2.0)


def fit_mixture(values: np.ndarray, iterations: int = 100) -> tuple[float, ...]:
    """EM for two 1-D Gaussians: ``(w_low, mean_low, std_low, w_high, mean_high, std_high)``."""
    x = np.asarray(values, dtype=np.float64)
    cut = _otsu_split(x)
    high = x > cut
    spread = float(np.std(x)) or 1e-6
    floor = max(spread * 0.02, 1e-6)
    w = high.mean()
    means = [x[~high].mean(), x[high].mean()]
    stds = [max(x[~high].std(), floor), max(x[high].std(), floor)]
    for _ in range(iterations):
        p_high = w * _normal(x, means[1], stds[1])
        p_low = (1 - w) * _normal(x, means[0], stds[0])
        r = p_high / np.maximum(p_high + p_low, 1e-300)
        total = r.sum()
        if total < 1e-3 or total > len(x) - 1e-3:
            break
        new_w = total / len(x)
        new_means = [float((1 - r) @ x / (len(x) - total)), float(r @ x / total)]
        new_stds = [
            max(float(np.sqrt((1 - r) @ (x - new_means[0]) ** 2 / (len(x) - total))), floor),
            max(float(np.sqrt(r @ (x - new_means[1]) ** 2 / total)), floor),
        ]
        converged = abs(new_w - w) < 1e-7 and abs(new_means[1] - means[1]) < 1e-9
        w, means, stds = new_w, new_means, new_stds
        if converged:
            break
    return (1 - w, means[0], stds[0], w, means[1], stds[1])


def calibrate(scores: np.ndarray, baseline: np.ndarray) -> Calibration:
    """The threshold on ``scores - baseline`` for one tag over a library of photos."""
    margins = np.asarray(scores, dtype=np.float64) - np.asarray(baseline, dtype=np.float64)
    median = float(np.median(margins)) if len(margins) else 0.0
    mad = float(np.median(np.abs(margins - median))) * 1.4826 if len(margins) else 0.0
    robust_std = max(mad, 1e-4)
    if len(margins) >= MIN_SAMPLES and np.ptp(margins) > 0:
        _w_low, m_low, s_low, w_high, m_high, s_high = fit_mixture(margins)
        separation = abs(m_high - m_low) / np.sqrt((s_low**2 + s_high**2) / 2.0)
        members = w_high * len(margins)
        if separation >= MIN_SEPARATION and members >= 1.0 and m_high > NEUTRAL_FLOOR:
            cal = Calibration(0.0, "mixture", m_low, s_low, m_high, s_high, w_high)
            grid = np.linspace(m_low, m_high, _GRID)
            post = np.maximum.accumulate(_posterior(grid, cal))
            threshold = float(grid[int(np.argmax(post >= 0.5))])
            return Calibration(threshold, "mixture", m_low, s_low, m_high, s_high, w_high)
    if median - 2 * OUTLIER_SIGMAS * robust_std > NEUTRAL_FLOOR:
        # Every photo beats the neutral caption by far: the tag fits the whole library.
        threshold = median - OUTLIER_SIGMAS * robust_std
    else:
        threshold = max(median + OUTLIER_SIGMAS * robust_std, NEUTRAL_FLOOR)
    return Calibration(threshold, "outlier", median, robust_std, median, robust_std, 0.0)


def calibrate_all(scores: np.ndarray, baseline: np.ndarray) -> list[Calibration]:
    """One calibration per column of ``scores`` (images x tags)."""
    return [calibrate(scores[:, j], baseline) for j in range(scores.shape[1])]
