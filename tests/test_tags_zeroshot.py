"""Zero-shot label features: prompt ensembles averaged, re-normalised, cached per model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clipdesk.core.encoder import load_encoder
from clipdesk.core.models.registry import ModelSpec
from clipdesk.core.models.testing import save_random_model, tiny_model_config
from clipdesk.core.tags.prompts import PromptSet
from clipdesk.core.tags.vocabulary import TagDef
from clipdesk.core.tags.zeroshot import LabelFeatureCache, label_features, zero_shot_scores

PROMPTS = PromptSet(templates=("a photo of {}.", "a drawing of {}.", "{}."))


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    folder = save_random_model(tmp_path_factory.mktemp("model"), tiny_model_config(), seed=5)
    spec = ModelSpec(name="tags-test", arch="custom", pretrained="random", local_dir=Path(folder))
    return load_encoder(spec, device="cpu")


class CountingEncoder:
    """The real encoder, counting the captions it is asked to embed."""

    def __init__(self, encoder):
        self.encoder = encoder
        self.texts: list[str] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.texts.extend(texts)
        return self.encoder.encode_texts(texts).vectors


def test_a_label_is_the_normalised_mean_of_its_captions(encoder):
    captions = [["a photo of a dog.", "a drawing of a dog."], ["a cat."]]
    features = label_features(lambda t: encoder.encode_texts(t).vectors, captions)
    direct = encoder.encode_texts(captions[0]).vectors
    mean = direct.mean(axis=0)
    assert np.allclose(features[0], mean / np.linalg.norm(mean), atol=1e-5)
    assert np.allclose(features[1], encoder.encode_texts(["a cat."]).vectors[0], atol=1e-5)
    assert np.allclose(np.linalg.norm(features, axis=1), 1.0, atol=1e-5)


def test_scores_are_cosines_against_tags_and_the_neutral_prompt(encoder, tmp_path):
    cache = LabelFeatureCache(tmp_path, shared=False)
    tags = [TagDef("dog"), TagDef("beach", "a sandy beach")]
    features = cache.features(encoder.model_key, CountingEncoder(encoder), tags, PROMPTS)
    images = features.vectors[::-1].copy()  # any unit vectors will do
    scores, baseline = zero_shot_scores(images, features)
    assert scores.shape == (2, 2) and baseline.shape == (2,)
    assert scores[1, 0] == pytest.approx(1.0, abs=1e-5)  # the dog row against "dog"
    assert np.allclose(baseline, images @ features.neutral)


def test_features_are_embedded_once_per_model_and_captions(encoder, tmp_path):
    counting = CountingEncoder(encoder)
    cache = LabelFeatureCache(tmp_path, shared=False)
    tags = [TagDef("dog"), TagDef("cat")]
    first = cache.features(encoder.model_key, counting, tags, PROMPTS)
    assert len(counting.texts) == (2 + len(PROMPTS.neutral)) * len(PROMPTS.templates)
    counting.texts.clear()
    again = cache.features(encoder.model_key, counting, tags, PROMPTS)
    assert counting.texts == [] and np.array_equal(first.vectors, again.vectors)
    # A new tag embeds only its own captions, also for a fresh cache reading the file.
    fresh = LabelFeatureCache(tmp_path, shared=False)
    more = fresh.features(encoder.model_key, counting, [*tags, TagDef("owl")], PROMPTS)
    assert counting.texts == ["a photo of an owl.", "a drawing of an owl.", "an owl."]
    assert np.allclose(more.vectors[:2], first.vectors)
    # Another model never reuses these features.
    counting.texts.clear()
    fresh.features("another-model", counting, tags, PROMPTS)
    assert len(counting.texts) > 0


def test_a_cache_folder_that_cannot_be_made_keeps_features_in_memory(encoder, tmp_path):
    """Tagging goes on when the cache folder is a file; the features are embedded once."""
    blocker = tmp_path / "cache-file"
    blocker.write_text("x")
    counting = CountingEncoder(encoder)
    cache = LabelFeatureCache(blocker / "tag-features", shared=False)
    first = cache.features(encoder.model_key, counting, [TagDef("dog")], PROMPTS)
    assert first.vectors.shape[0] == 1 and len(counting.texts) > 0
    counting.texts.clear()
    again = cache.features(encoder.model_key, counting, [TagDef("dog")], PROMPTS)
    assert counting.texts == [] and np.array_equal(first.vectors, again.vectors)
    assert blocker.read_text() == "x"


def test_a_damaged_cache_file_is_rebuilt(encoder, tmp_path):
    cache = LabelFeatureCache(tmp_path, shared=False)
    cache.features(encoder.model_key, CountingEncoder(encoder), [TagDef("dog")], PROMPTS)
    (path,) = tmp_path.glob("*.npz")
    path.write_bytes(b"not a zip file")
    counting = CountingEncoder(encoder)
    features = LabelFeatureCache(tmp_path, shared=False).features(
        encoder.model_key, counting, [TagDef("dog")], PROMPTS
    )
    assert counting.texts and features.vectors.shape[0] == 1


def test_caches_in_one_process_share_what_they_embedded(encoder, tmp_path):
    first, second = CountingEncoder(encoder), CountingEncoder(encoder)
    tags = [TagDef("heron")]
    LabelFeatureCache(tmp_path / "a").features(encoder.model_key, first, tags, PROMPTS)
    LabelFeatureCache(tmp_path / "b").features(encoder.model_key, second, tags, PROMPTS)
    assert first.texts and second.texts == []
    assert list((tmp_path / "b").glob("*.npz"))  # each library still gets its own file
