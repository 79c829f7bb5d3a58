"""Switching a library to another model: old answers until the new one is complete."""

from __future__ import annotations

import image_samples
import pytest

from clipdesk.core import paths
from clipdesk.core.library import Library
from clipdesk.core.models.testing import save_random_model, tiny_model_config
from clipdesk.core.progress import run_to_end as _drain


@pytest.fixture
def two_models():
    save_random_model(
        paths.models_dir() / "old-model", tiny_model_config(), seed=1, name="old-model"
    )
    cfg = tiny_model_config()
    cfg["embed_dim"] = 48  # a different space, different size: must never be mixed
    save_random_model(paths.models_dir() / "new-model", cfg, seed=2, name="new-model")


def test_switch_keeps_old_model_answering_until_done(tmp_path, two_models):
    photos = tmp_path / "photos"
    photos.mkdir()
    for seed in range(10):
        image_samples.photo(96, 80, seed=seed).save(photos / f"p{seed}.jpg")
    library = Library.open(tmp_path / "lib", model="old-model")
    with library:
        _drain(library.index([photos], workers=1))
        old_key = library.encoder.model_key
        job = library.switch_model("new-model", workers=1)
        step = next(job)
        assert step.stage == "embed"
        during = library.search("anything", k=3)
        assert during.model == "old-model" and len(during.hits) == 3
        assert _drain(job) is True
        after = library.search("anything", k=3)
        assert after.model == "new-model"
        new_key = library.encoder.model_key
        assert new_key != old_key and library.encoder.dim == 48
        assert len(library.catalog.embedding_ids(new_key)) == 10
        assert len(library.catalog.embedding_ids(old_key)) == 10  # kept, not mixed
        assert library.status()["indexed"] == 10
    reopened = Library.open(tmp_path / "lib")
    with reopened:
        assert reopened.model_name == "new-model"
