"""Refining zero-shot decisions on the library's own photos: the fit, and what it buys."""

from __future__ import annotations

import numpy as np
import pytest

from clipdesk.core.tags.refine import Refiner


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _problem(seed: int, photos: int = 120, dim: int = 12, tags: int = 3):
    rng = np.random.default_rng(seed)
    images = _unit(rng.normal(size=(photos, dim)) + 2.0 * np.eye(dim)[0])
    targets = rng.random((photos, tags))
    priors = [(rng.normal(size=dim) * 3, float(rng.normal())) for _ in range(tags)]
    return images, targets, priors


def _newton(images, targets, prior, pull):
    """The same penalised logistic fit, solved directly by Newton's method."""
    mean = images.mean(axis=0)
    z = images - mean
    scale = np.sqrt((z**2).sum(axis=1).mean())
    z = np.hstack([z / scale, np.ones((len(z), 1))])
    w0, b0 = prior
    anchor = np.append(w0 * scale, 0.0)
    coef = np.append(w0 * scale, b0 + mean @ w0)
    penalty = np.full(len(coef), pull)
    penalty[-1] = 0.0

    def loss(c):
        logits = z @ c
        data = np.logaddexp(0, logits) - targets * logits
        return data.sum() + 0.5 * (penalty * (c - anchor) ** 2).sum()

    for _ in range(100):  # Newton's method, with step halving so it cannot overshoot
        p = 1 / (1 + np.exp(-(z @ coef)))
        gradient = z.T @ (p - targets) + penalty * (coef - anchor)
        hessian = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty)
        step = np.linalg.lstsq(hessian, gradient, rcond=None)[0]
        size = 1.0
        while loss(coef - size * step) > loss(coef) and size > 1e-8:
            size /= 2
        coef -= size * step
    return 1 / (1 + np.exp(-(z @ coef)))


@pytest.mark.parametrize("pull", [0.1, 0.3, 3.0])
def test_refinement_solves_the_penalised_logistic_fit(pull):
    images, targets, priors = _problem(1)
    refined = Refiner(images, pull=pull).refine(targets, priors).probabilities(images)
    for j, prior in enumerate(priors):
        expected = _newton(images, targets[:, j], prior, pull)
        np.testing.assert_allclose(refined[:, j], expected, atol=1e-4)


def test_each_tag_comes_out_the_same_whichever_tags_it_is_refined_with():
    images, targets, priors = _problem(2)
    refiner = Refiner(images)
    together = refiner.refine(targets, priors).probabilities(images)
    alone = refiner.refine(targets[:, 1:2], priors[1:2]).probabilities(images)
    np.testing.assert_allclose(together[:, 1], alone[:, 0], atol=1e-6)


def test_a_strong_pull_keeps_the_zero_shot_direction_and_a_weak_one_follows_the_photos():
    images, targets, priors = _problem(3, tags=1)
    w0 = priors[0][0]
    strong = Refiner(images, pull=1e9).refine(targets, priors).select(0).as_prior()[0]
    weak = Refiner(images, pull=1e-3).refine(targets, priors).select(0).as_prior()[0]
    assert np.dot(_unit(strong), _unit(w0)) > 0.9999
    assert np.dot(_unit(weak), _unit(w0)) < 0.9


def test_photos_and_priors_must_agree():
    images, targets, priors = _problem(4)
    with pytest.raises(ValueError):
        Refiner(images).refine(targets, priors[:2])
    with pytest.raises(ValueError):
        Refiner(np.zeros((0, 12)))
    assert Refiner(images).refine(targets[:, :0], []).weights.shape == (12, 0)


# On real pictures: held-out tiny-shapes scenes, whose truth is known.


@pytest.fixture(scope="module")
def held_out(tiny_shapes_encoder):
    """``(images, truth, tag names, tag vectors, neutral)`` for 400 pictures the model never saw."""
    from clipdesk.core.models.registry import get_model
    from clipdesk.core.tags.prompts import prompt_set_for_model
    from clipdesk.core.tags.vocabulary import vocabulary_for_model
    from clipdesk.core.tags.zeroshot import LabelFeatureCache
    from clipdesk.training.augment import photograph
    from clipdesk.training.render import render_scene
    from clipdesk.training.scene import sample_scene

    spec = get_model("tiny-shapes")
    encoder = tiny_shapes_encoder
    pictures, contents = [], []
    for i in range(400):
        rng = np.random.default_rng([77, 21, i])  # seeds apart from the training data's
        scene = sample_scene(rng)
        picture = render_scene(scene, (320, 320), rng)
        if rng.random() < 0.4:
            picture = photograph(picture, rng, strength=0.8)
        pictures.append(picture)
        contents.append(set(scene.shapes) | set(scene.colours))
    images = encoder.encode_images(pictures)
    _, vocabulary = vocabulary_for_model("tiny-shapes", spec.local_dir)
    features = LabelFeatureCache(None).features(
        encoder.model_key,
        lambda texts: encoder.encode_texts(texts).vectors,
        vocabulary,
        prompt_set_for_model("tiny-shapes"),
    )
    names = list(features.names)
    truth = np.array([[name in c for name in names] for c in contents])
    return images, truth, names, features.vectors, features.neutral


def _f1(pred: np.ndarray, truth: np.ndarray) -> float:
    return 2 * float((pred & truth).sum()) / max(float(pred.sum() + truth.sum()), 1.0)


def test_refined_tags_beat_the_thresholds_alone_and_the_best_fixed_cut_off(held_out):
    """The issue's measure: label-free decisions against one cut-off chosen knowing the
    truth. The pooled thresholds alone fall just short of it on this model (its raw
    similarities are already on one scale); refined on the photos, they pass it."""
    from clipdesk.core.tags.job import choose_reference
    from clipdesk.core.tags.learn import prior_from

    images, truth, _, vectors, neutral = held_out
    reference, calibrations = choose_reference(vectors, neutral, images)
    scores = images @ vectors.T
    margins = scores - (images @ reference)[:, None]
    thresholds = np.stack([margins[:, j] >= c.threshold for j, c in enumerate(calibrations)], 1)
    confidences = np.stack([c.confidence(margins[:, j]) for j, c in enumerate(calibrations)], 1)
    priors = [prior_from(c, vectors[j], reference) for j, c in enumerate(calibrations)]
    refined = Refiner(images).refine(confidences, priors).probabilities(images) >= 0.5
    best_fixed = max(_f1(scores >= cut, truth) for cut in np.unique(np.round(scores, 3)))
    assert _f1(refined, truth) > best_fixed, (_f1(refined, truth), best_fixed)
    assert _f1(refined, truth) > _f1(thresholds, truth) + 0.003
    tp = float((refined & truth).sum())
    assert tp / refined.sum() >= 0.9 and tp / truth.sum() >= 0.9
