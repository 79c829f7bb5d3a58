"""Per-tag thresholds from score distributions, and the few-shot linear probe."""

from __future__ import annotations

import numpy as np
import pytest

from clipdesk.core.tags.calibration import calibrate, calibrate_pooled
from clipdesk.core.tags.job import choose_reference, reference_vector
from clipdesk.core.tags.probe import KEEP_ZERO_SHOT, Anchors, Probe, train_probe


def _library(rng, n, share, neg_mean, pos_mean, std=0.012):
    """Margins of one tag over a library: ``share`` of photos show it."""
    truth = rng.random(n) < share
    margins = np.where(truth, rng.normal(pos_mean, std, n), rng.normal(neg_mean, std, n))
    baseline = rng.normal(0.22, 0.02, n)  # varies per photo; the margin does not care
    return baseline + margins, baseline, truth


def _f1(pred, truth):
    tp = (pred & truth).sum()
    return 2 * tp / max(pred.sum() + truth.sum(), 1)


def test_threshold_falls_between_the_two_groups():
    rng = np.random.default_rng(0)
    scores, baseline, truth = _library(rng, 400, 0.2, -0.03, 0.03)
    cal = calibrate(scores, baseline)
    assert cal.method == "mixture"
    assert -0.02 < cal.threshold < 0.02
    pred = scores - baseline >= cal.threshold
    assert _f1(pred, truth) > 0.95
    conf = cal.confidence(np.array([-0.05, cal.threshold, 0.05]))
    assert conf[0] < 0.1 and conf[1] == pytest.approx(0.5, abs=0.02) and conf[2] > 0.9
    grid = np.linspace(-0.1, 0.1, 101)
    assert np.all(np.diff(cal.confidence(grid)) >= 0)


def test_per_tag_thresholds_beat_one_fixed_cut_off():
    """Tags whose scores sit at different heights defeat any single cut-off."""
    rng = np.random.default_rng(1)
    tags = [_library(rng, 300, share, lo, hi) for share, lo, hi in
            [(0.3, -0.05, 0.01), (0.2, 0.0, 0.06), (0.4, -0.03, 0.03)]]  # fmt: skip
    calibrated = np.mean([_f1(s - b >= calibrate(s, b).threshold, t) for s, b, t in tags])
    best_fixed = max(
        np.mean([_f1(s - b >= cut, t) for s, b, t in tags]) for cut in np.linspace(-0.1, 0.1, 201)
    )
    assert calibrated > best_fixed + 0.05


def test_photos_with_something_merely_similar_stay_untagged():
    """Three groups (most photos, some with a similar colour, the tag): only the top one."""
    rng = np.random.default_rng(7)
    group = rng.choice(3, size=600, p=[0.7, 0.15, 0.15])
    margins = rng.normal(np.array([-0.3, -0.12, 0.06])[group], np.array([0.05, 0.04, 0.03])[group])
    baseline = rng.normal(0.2, 0.02, 600)
    cal = calibrate(baseline + margins, baseline)
    assert cal.method == "mixture" and -0.06 < cal.threshold < 0.04
    assert _f1(margins >= cal.threshold, group == 2) > 0.9


def test_a_long_tail_alone_is_not_a_tag():
    rng = np.random.default_rng(8)
    margins = -0.3 + rng.gamma(2.0, 0.03, 800)  # one lopsided group, all below neutral
    baseline = rng.normal(0.2, 0.02, 800)
    cal = calibrate(baseline + margins, baseline)
    assert (margins >= cal.threshold).sum() <= 2


def test_a_tag_on_no_photo_tags_almost_nothing():
    rng = np.random.default_rng(2)
    baseline = rng.normal(0.22, 0.02, 500)
    scores = baseline + rng.normal(-0.04, 0.01, 500)
    cal = calibrate(scores, baseline)
    assert cal.method == "outlier"
    assert (scores - baseline >= cal.threshold).sum() <= 3


def test_a_tag_on_every_photo_tags_almost_everything():
    rng = np.random.default_rng(3)
    baseline = rng.normal(0.22, 0.02, 300)
    scores = baseline + rng.normal(0.08, 0.005, 300)
    cal = calibrate(scores, baseline)
    assert (scores - baseline >= cal.threshold).mean() > 0.95


def test_few_photos_do_not_break_it():
    cal = calibrate(np.array([0.3, 0.2]), np.array([0.2, 0.2]))
    assert np.isfinite(cal.threshold)
    assert cal.threshold >= 0.0  # must at least beat the neutral caption


def _clusters(rng, n, d=64, shift=0.25):
    """Normalised embeddings in two clusters along one direction, plus a shared offset."""
    direction = rng.normal(size=d)
    direction /= np.linalg.norm(direction)
    common = rng.normal(size=d)
    common /= np.linalg.norm(common)
    y = rng.random(n) < 0.5
    x = common + rng.normal(0, 0.05, (n, d)) + np.where(y, shift, -shift)[:, None] * direction
    return x / np.linalg.norm(x, axis=1, keepdims=True), y, direction


def test_probe_learns_from_five_and_five():
    rng = np.random.default_rng(4)
    x, y, _ = _clusters(rng, 600)
    pos, neg = x[y][:5], x[~y][:5]
    probe = train_probe(pos, neg, center=x.mean(axis=0))
    pred = probe.probabilities(x[10:]) >= 0.5
    assert _f1(pred, y[10:]) > 0.85
    assert probe.positives == 5 and probe.negatives == 5


def test_a_good_zero_shot_start_is_kept_and_a_useless_one_dropped():
    rng = np.random.default_rng(5)
    x, y, direction = _clusters(rng, 400)
    good = (direction * 40.0, 0.0)
    useless = (-direction * 40.0, 0.0)  # points the wrong way
    pos, neg = x[y][:5], x[~y][:5]
    with_good = train_probe(pos, neg, prior=good, center=x.mean(axis=0))
    with_bad = train_probe(pos, neg, prior=useless, center=x.mean(axis=0))
    assert with_good.prior
    assert not with_bad.prior
    assert _f1(with_bad.probabilities(x) >= 0.5, y) > 0.8


def test_examples_the_zero_shot_decision_gets_right_leave_it_as_it_was():
    """Ten examples that agree with a good zero-shot classifier are no reason to move it:
    a probe refitted to them only adds the noise of ten points."""
    rng = np.random.default_rng(7)
    x, y, direction = _clusters(rng, 400)
    noise = rng.normal(0, 1, direction.shape)
    w0 = (direction + 0.3 * noise / np.linalg.norm(noise)) * 40.0  # good, not perfect
    zero_shot = x @ w0 >= 0
    agree = y == zero_shot
    pos, neg = x[y & agree][:5], x[~y & agree][:5]
    probe = train_probe(pos, neg, prior=(w0, 0.0), center=x.mean(axis=0))
    assert probe.prior and probe.lam == KEEP_ZERO_SHOT
    assert np.array_equal(probe.probabilities(x) >= 0.5, zero_shot)


@pytest.mark.parametrize("seed", [1, 3, 6])
def test_anchored_corrections_amend_the_zero_shot_decision(seed):
    """Five photos zero-shot missed and five it tagged wrongly, from a zero-shot
    classifier turned a little off the true direction. Fitted to them alone, the probe
    turns towards ten hard cases and tags held-out photos worse than zero-shot did;
    anchored to the zero-shot confidences of 300 other photos, it does no worse."""
    rng = np.random.default_rng(seed)
    direction, common = _unit(rng.normal(size=(2, 24)))
    y = rng.random(1200) < 0.3  # a rarer tag than half, as most are
    x = common + rng.normal(0, 0.05, (1200, 24)) + np.where(y, 0.08, -0.08)[:, None] * direction
    x = _unit(x)
    off = rng.normal(size=direction.shape)
    off -= (off @ direction) * direction
    w0 = (direction + 0.5 * off / np.linalg.norm(off)) * 40.0
    s = x @ w0
    b0 = -float((s[y].mean() + s[~y].mean()) / 2)
    zero_shot = s + b0 >= 0
    train, test = np.arange(600), np.arange(600, 1200)
    missed = [i for i in train if y[i] and not zero_shot[i]][:5]
    wrong = [i for i in train if zero_shot[i] and not y[i]][:5]
    assert len(missed) == len(wrong) == 5
    rest = np.setdiff1d(train, missed + wrong)[:300]
    anchors = Anchors(x[rest], 1.0 / (1.0 + np.exp(-(s[rest] + b0))), 0.5)
    kwargs = {"prior": (w0, b0), "center": x.mean(axis=0)}
    alone = train_probe(x[missed], x[wrong], **kwargs)
    anchored = train_probe(x[missed], x[wrong], anchors=anchors, **kwargs)
    held_out = [_f1(p, y[test]) for p in (zero_shot[test], *(
        probe.probabilities(x[test]) >= 0.5 for probe in (alone, anchored)))]  # fmt: skip
    zero_f1, alone_f1, anchored_f1 = held_out
    assert anchored.prior and anchored.lam != KEEP_ZERO_SHOT  # it did move
    assert anchored_f1 >= zero_f1 - 0.01, held_out
    assert alone_f1 < zero_f1 - 0.02, held_out


def test_probe_round_trips_through_bytes():
    rng = np.random.default_rng(6)
    x, y, _ = _clusters(rng, 50)
    probe = train_probe(x[y][:3], x[~y][:3])
    again = Probe.from_bytes(probe.to_bytes())
    assert np.array_equal(again.weights, probe.weights)
    assert (again.bias, again.lam, again.prior) == (probe.bias, probe.lam, probe.prior)
    with pytest.raises(ValueError, match="at least"):
        train_probe(x[:1], x[1:3])


def test_pooled_thresholds_follow_each_tags_height_with_few_photos():
    """Forty photos are too few for a tag's own mixture; pooled, the tags still split well."""
    rng = np.random.default_rng(4)
    heights = [(-0.05, 0.01), (0.0, 0.06), (-0.03, 0.03), (0.02, 0.08), (-0.08, -0.02)]
    tags = [_library(rng, 40, 0.15, lo, hi) for lo, hi in heights]
    margins = np.stack([s - b for s, b, _ in tags], axis=1)
    truth = np.stack([t for _, _, t in tags], axis=1)
    pooled = calibrate_pooled(margins)
    assert len(pooled) == len(tags)
    pred = np.stack([margins[:, j] >= c.threshold for j, c in enumerate(pooled)], axis=1)
    assert _f1(pred, truth) > 0.9
    # Each threshold sits between its own tag's groups, not at one common height.
    for (lo, hi), cal in zip(heights, pooled, strict=True):
        assert lo < cal.threshold < hi
    alone = np.stack([margins[:, j] >= calibrate(margins[:, j], 0 * margins[:, j]).threshold
                      for j in range(len(tags))], axis=1)  # fmt: skip
    assert _f1(pred, truth) >= _f1(alone, truth)


def test_photos_are_measured_against_the_vocabulary_or_the_neutral_captions():
    rng = np.random.default_rng(5)
    tags = rng.normal(size=(12, 16)).astype(np.float32)
    neutral = rng.normal(size=16).astype(np.float32)
    assert np.allclose(reference_vector(tags, neutral), tags.mean(axis=0))
    assert np.allclose(reference_vector(tags[:3], neutral), neutral)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _shapes_like_library(rng, photos: int, style: float):
    """Ten orthogonal tags; each photo shows one to three, plus ``style`` times a random
    amount of what every caption shares (light, look: the same for every tag)."""
    dim, n_tags = 32, 10
    basis = np.linalg.qr(rng.normal(size=(dim, dim)))[0]
    common = basis[:, n_tags]
    tag_vectors = _unit(basis[:, :n_tags].T + 0.8 * common)
    truth = np.zeros((photos, n_tags), dtype=bool)
    images = np.zeros((photos, dim))
    for i in range(photos):
        shown = rng.choice(n_tags, size=int(rng.integers(1, 4)), replace=False)
        truth[i, shown] = True
        images[i] = basis[:, shown].sum(axis=1) / np.sqrt(len(shown))
        images[i] += style * rng.normal() * common + 0.15 * rng.normal(size=dim)
    return _unit(tag_vectors).astype(np.float32), _unit(images).astype(np.float32), truth


def test_the_reference_is_the_one_the_margins_split_best_against():
    rng = np.random.default_rng(6)
    neutral = _unit(rng.normal(size=32)).astype(np.float32)
    candidates = {"vocabulary": None, "neutral": neutral, "none": np.zeros(32, np.float32)}
    for style in (0.0, 1.0):
        tags, images, truth = _shapes_like_library(rng, 400, style)
        candidates["vocabulary"] = tags.mean(axis=0)
        f1 = {}
        for name, r in candidates.items():
            margins = images @ (tags - r).T
            cals = calibrate_pooled(margins)
            f1[name] = _f1(
                np.stack([margins[:, j] >= c.threshold for j, c in enumerate(cals)], 1), truth
            )
        reference, chosen = choose_reference(tags, neutral, images)
        margins = images @ (tags - reference).T
        pred = np.stack([margins[:, j] >= c.threshold for j, c in enumerate(chosen)], axis=1)
        assert _f1(pred, truth) == pytest.approx(max(f1.values()))
        assert _f1(pred, truth) > 0.9
        if style:
            # A photo's look moves all its raw scores at once: raw and neutral margins then
            # split the photos (most "have every tag"), not the tags, and are passed over.
            assert max(f1["none"], f1["neutral"]) < 0.6
