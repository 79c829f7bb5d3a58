"""A per-tag linear probe: logistic regression on image embeddings, from a few examples.

The CLIP paper's point is that a linear classifier on the image features beats zero-shot
once it has examples; with only five or ten, it needs a good starting point and strong
regularisation. So the probe is pulled towards the tag's calibrated zero-shot classifier
(``w0``, a direction in the same space) rather than towards zero, and leave-one-out
cross-validation picks how hard to pull, and whether the zero-shot start helps at all
(for a custom tag like "our dog Rex" the name means nothing to the model).

A vocabulary tag whose zero-shot scores split the library also keeps *anchors*: a
sample of the library's other photos, each labelled with its zero-shot confidence. They
stand for everything the user did not judge, so the probe bends the zero-shot boundary
only where the user's examples show it wrong, instead of turning wholesale towards ten
photos. Corrections are hard cases by nature: on the tiny-shapes sample libraries, five
confirmed and five rejected mistakes lowered held-out F1 from 0.930 to 0.850 without
anchors, and raise it to 0.940 with them (``benchmarks/bench_tags.py``).

With far fewer examples than dimensions the solution lies in the span of the examples
around ``w0`` (representer theorem), so Newton's method runs in n, not d, dimensions.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

LAMBDAS: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
BIAS_LAMBDA = 1e-3  # the bias is free when starting from zero
# Starting from the zero-shot classifier, its bias is pulled back too: the library-wide
# calibration knows how common the tag is, five plus five examples do not.
BIAS_TIE = 0.1
MIN_EACH = 2  # fewest positive and fewest negative examples a probe is trained from
# A pull so strong that the probe is the zero-shot classifier itself: the most cautious
# choice, kept unless the examples show the zero-shot decision is wrong.
KEEP_ZERO_SHOT = 1e12


@dataclass(frozen=True)
class Anchors:
    """Unjudged photos that hold the probe to the zero-shot decision where nobody said otherwise."""

    images: np.ndarray  # (n, dim) L2-normalised embeddings
    targets: np.ndarray  # (n,) zero-shot confidences, 0-1
    weight: float  # each one's weight; a user's example weighs 1


@dataclass(frozen=True)
class Probe:
    """``logit = x @ weights + bias`` on raw (normalised) embeddings."""

    weights: np.ndarray  # (dim,) float32
    bias: float
    lam: float
    prior: bool  # started from the zero-shot classifier
    loo_loss: float
    positives: int
    negatives: int

    def logits(self, images: np.ndarray) -> np.ndarray:
        return np.asarray(images, dtype=np.float32) @ self.weights + np.float32(self.bias)

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        return (1.0 / (1.0 + np.exp(-self.logits(images).astype(np.float64)))).astype(np.float32)

    def to_bytes(self) -> bytes:
        head = struct.pack("<dd?dii", self.bias, self.lam, self.prior, self.loo_loss,
                           self.positives, self.negatives)  # fmt: skip
        return head + np.ascontiguousarray(self.weights, dtype="<f4").tobytes()

    @classmethod
    def from_bytes(cls, blob: bytes) -> Probe:
        size = struct.calcsize("<dd?dii")
        bias, lam, prior, loss, pos, neg = struct.unpack("<dd?dii", blob[:size])
        weights = np.frombuffer(blob[size:], dtype="<f4").astype(np.float32)
        return cls(weights, bias, lam, prior, loss, pos, neg)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def _objective(
    K: np.ndarray, f0: np.ndarray, y: np.ndarray, c: np.ndarray, lam: float, b0: float,
    a: np.ndarray, b: float, bias_lam: float,
) -> float:  # fmt: skip
    f = f0 + K @ a + b
    data = c @ (np.logaddexp(0.0, f) - y * f)
    return float(data + 0.5 * lam * a @ K @ a + 0.5 * bias_lam * (b - b0) ** 2)


def _fit_dual(
    K: np.ndarray,
    f0: np.ndarray,
    y: np.ndarray,
    c: np.ndarray,
    lam: float,
    b0: float,
    bias_lam: float = BIAS_LAMBDA,
    iterations: int = 30,
    start: tuple[np.ndarray, float] | None = None,
) -> tuple[np.ndarray, float]:
    """Damped Newton for ``a, b`` with logits ``f0 + K a + b`` and penalty ``lam/2 a'Ka``.

    A far-off start (a zero-shot prior that points the wrong way) saturates the sigmoid;
    the backtracking line search keeps Newton from jumping to infinity there. ``start``
    (e.g. the fit on every example, for one left out) saves most of the iterations.
    """
    n = len(y)
    a, b = (np.zeros(n), b0) if start is None else (start[0].copy(), start[1])
    jitter = 1e-8 * (np.trace(K) / max(n, 1) + 1e-12)
    current = _objective(K, f0, y, c, lam, b0, a, b, bias_lam)
    for _ in range(iterations):
        f = f0 + K @ a + b
        p = _sigmoid(f)
        g = c * (p - y)
        s = c * p * (1 - p) + 1e-10
        # Gradient in a is K (g + lam a); divide out K (it is the same on K's range).
        grad_a = g + lam * a
        grad_b = g.sum() + bias_lam * (b - b0)
        hess = np.zeros((n + 1, n + 1))
        hess[:n, :n] = s[:, None] * K + lam * np.eye(n) + jitter * np.eye(n)
        hess[:n, n] = s
        hess[n, :n] = (s[:, None] * K).sum(axis=0)
        hess[n, n] = s.sum() + bias_lam
        step = np.linalg.solve(hess, np.concatenate([grad_a, [grad_b]]))
        t = 1.0
        while t > 1e-6:
            trial_a, trial_b = a - t * step[:n], b - t * step[n]
            trial = _objective(K, f0, y, c, lam, b0, trial_a, trial_b, bias_lam)
            if trial <= current:
                break
            t /= 2.0
        else:
            break  # no step lowers the objective: at the optimum to machine precision
        a, b, improvement, current = trial_a, trial_b, current - trial, trial
        if improvement < 1e-10 * max(1.0, abs(current)):
            break
    return a, float(b)


def _loss(p: np.ndarray, y: np.ndarray, c: np.ndarray) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-(c * (y * np.log(p) + (1 - y) * np.log(1 - p))).sum() / c.sum())


def train_probe(
    positives: np.ndarray,
    negatives: np.ndarray,
    *,
    prior: tuple[np.ndarray, float] | None = None,
    center: np.ndarray | None = None,
    negative_weight: np.ndarray | None = None,
    anchors: Anchors | None = None,
) -> Probe:
    """Fit a probe from example embeddings (rows L2-normalised).

    ``prior`` is ``(w0, b0)``, the zero-shot classifier as logits on raw embeddings;
    ``center`` (e.g. the library's mean embedding) is subtracted before fitting;
    ``negative_weight`` down-weights negatives that are only presumed (unlabelled photos);
    ``anchors`` are unjudged photos with soft targets, always fitted, never left out.
    """
    pos = np.asarray(positives, dtype=np.float64)
    neg = np.asarray(negatives, dtype=np.float64)
    if len(pos) < MIN_EACH or len(neg) < MIN_EACH:
        raise ValueError(f"a probe needs at least {MIN_EACH} positive and negative examples")
    x = np.concatenate([pos, neg])
    y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
    nw = np.ones(len(neg)) if negative_weight is None else np.asarray(negative_weight, float)
    c = np.concatenate([np.full(len(pos), 1.0 / len(pos)), nw / nw.sum()]) * len(y) / 2.0
    judged = len(y)  # leave-one-out runs over these; anchors stay in every fit
    anchored = anchors is not None and len(anchors.images) > 0
    if anchored:
        x = np.concatenate([x, np.asarray(anchors.images, dtype=np.float64)])
        y = np.concatenate([y, np.clip(np.asarray(anchors.targets, dtype=np.float64), 0, 1)])
        c = np.concatenate([c, np.full(len(anchors.targets), float(anchors.weight))])
    mu = np.zeros(x.shape[1]) if center is None else np.asarray(center, dtype=np.float64)
    z = x - mu
    scale = float(np.sqrt((z**2).sum(axis=1).mean())) or 1.0
    z /= scale
    K = z @ z.T
    options: list[tuple[bool, np.ndarray, float]] = [(False, np.zeros(len(y)), 0.0)]
    if prior is not None:
        w0, b0 = np.asarray(prior[0], dtype=np.float64), float(prior[1])
        # The prior on raw x, rewritten for standardised z: logit = z @ (w0 scale) + b.
        options.append((True, z @ (w0 * scale), b0 + float(mu @ w0)))
        if anchored:
            # Anchored, the probe amends the zero-shot decision; it is not dropped. The
            # user's examples cannot say it is useless: corrections are exactly the
            # photos it gets wrong, so it fails all of them even where it is right on
            # nearly every other photo. (Whether it means anything is the library's
            # call: the caller anchors only tags whose scores split it into groups.)
            options = [option for option in options if option[0]]
    # Leave-one-out mistakes pick the pull, by the one-standard-error rule: the most
    # cautious model (the zero-shot start pulled hardest first) whose mistakes are within
    # one standard error of the fewest. Ten examples cannot tell a flexible probe that is
    # one mistake better from luck. (Log-loss would not do either: on a few separable
    # examples it always prefers the weakest pull, whose confident answers generalise worst.)
    results = []
    for use_prior, f0, b0 in sorted(options, key=lambda o: -int(o[0])):
        pulls = (KEEP_ZERO_SHOT, *LAMBDAS) if use_prior else LAMBDAS
        for lam in sorted(pulls, reverse=True):
            bias_lam = lam * BIAS_TIE if use_prior else BIAS_LAMBDA
            errors, loss, fit = _leave_one_out(K, f0, y, c, lam, b0, bias_lam, judged)
            results.append((errors, loss, lam, use_prior, fit))
    fewest = min(r[0] for r in results)
    allowed = fewest + np.sqrt(fewest * (1.0 - fewest) / judged)
    _, loss, lam, use_prior, (a, b) = next(r for r in results if r[0] <= allowed + 1e-9)
    w_z = z.T @ a + (np.asarray(prior[0]) * scale if use_prior and prior is not None else 0.0)
    weights = w_z / scale
    bias = b - float(mu @ weights)
    return Probe(weights.astype(np.float32), bias, lam, use_prior, loss, len(pos), len(neg))


def _leave_one_out(
    K: np.ndarray, f0: np.ndarray, y: np.ndarray, c: np.ndarray, lam: float, b0: float,
    bias_lam: float, judged: int,
) -> tuple[float, float, tuple[np.ndarray, float]]:  # fmt: skip
    """``(weighted share of mistakes, log-loss)`` of each of the first ``judged`` examples
    predicted without it (the rest, anchors, are in every fit), and the fit on them all."""
    n = len(y)
    probs = np.empty(judged)
    full_a, full_b = _fit_dual(K, f0, y, c, lam, b0, bias_lam)
    for i in range(judged):
        keep = np.arange(n) != i
        a, b = _fit_dual(K[np.ix_(keep, keep)], f0[keep], y[keep], c[keep], lam, b0, bias_lam,
                         start=(full_a[keep], full_b))  # fmt: skip
        probs[i] = _sigmoid(f0[i] + K[i, keep] @ a + b)
    y, c = y[:judged], c[:judged]
    mistakes = float(c @ ((probs >= 0.5) != (y == 1)) / c.sum())
    return mistakes, _loss(probs, y, c), (full_a, full_b)


def zero_shot_prior(
    tag_vector: np.ndarray, neutral: np.ndarray, threshold: float, spread: float
) -> tuple[np.ndarray, float]:
    """The calibrated zero-shot decision as a logistic model: ``(margin - threshold) / spread``."""
    spread = max(float(spread), 1e-4)
    direction = (np.asarray(tag_vector, np.float64) - np.asarray(neutral, np.float64)) / spread
    return direction, -threshold / spread
