"""Tag features shipped with a model: a pack carries its vocabulary's features, so the
first tag run with a newly imported model embeds no vocabulary prompt; what changed
(a tag of the user's, other templates) is still embedded; a first run that must embed
says so on the command line.

The pack is a random-initialised small open_clip model (fixed seed), exported and
checked as any pack; its encoders and the counting wrapper are real, never mocked.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from clipdesk.core.encoder import load_encoder
from clipdesk.core.library import Library
from clipdesk.core.models.manifest import LABEL_FEATURES, PACKED_DIR, shipped_label_features
from clipdesk.core.models.pack import MANIFEST, install_pack, write_pack
from clipdesk.core.models.registry import get_model, install_dir
from clipdesk.core.models.testing import save_random_model, tiny_model_config
from clipdesk.core.progress import run_to_end
from clipdesk.core.tags.prompts import PromptSet, prompt_set_for_model
from clipdesk.core.tags.vocabulary import TagDef, default_vocabulary
from clipdesk.core.tags.zeroshot import LabelFeatureCache
from clipdesk.training.shapes import write_sample_library

SHIPPED = f"{PACKED_DIR}/{LABEL_FEATURES}"


class CountingEncoder:
    """The real encoder, counting the captions it is asked to embed."""

    def __init__(self, encoder) -> None:
        self.encoder = encoder
        self.texts: list[str] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.texts.extend(texts)
        return self.encoder.encode_texts(texts).vectors


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pack of a random small CLIP, made once for this module (exporting takes a while)."""
    base = tmp_path_factory.mktemp("shipped-pack")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CLIPDESK_MODELS_DIR", str(base / "models"))
        save_random_model(
            base / "models" / "shipped-clip", tiny_model_config(), name="shipped-clip", seed=11
        )
        out = base / "shipped-clip.clipdesk-pack"
        write_pack(get_model("shipped-clip"), out)
    return out


def test_a_pack_lists_its_vocabulary_features_with_their_sha256(pack: Path) -> None:
    with zipfile.ZipFile(pack) as zf:
        manifest = json.loads(zf.read(MANIFEST))
        data = zf.read(SHIPPED)
    assert manifest["files"][SHIPPED]["sha256"] == hashlib.sha256(data).hexdigest()
    shipped = manifest["label_features"]
    vocabulary = default_vocabulary()
    assert shipped["vocabulary"] == "default" and shipped["tags"] == len(vocabulary)
    assert shipped["captions"] == len(vocabulary) + 1  # every tag and the neutral captions
    assert tuple(shipped["templates"]) == PromptSet().templates


def test_the_first_tag_run_with_an_imported_pack_embeds_no_vocabulary_prompt(
    pack: Path, tmp_path: Path
) -> None:
    spec = install_pack(pack, name="from-pack")
    photos = tmp_path / "photos"
    write_sample_library(photos, 8, seed=3)
    with Library.open(tmp_path / "lib", model=spec.name) as library:
        report = run_to_end(library.index([photos], workers=1, retag=True))
        cache = library.tags.cache
    assert report.tagging is not None and report.tagging.error is None, report.tagging
    tagged = report.tagging.report
    assert tagged.photos == 8 and tagged.tags == len(default_vocabulary())
    assert tagged.captions_embedded == 0
    assert cache.embedded == 0


def test_shipped_features_are_the_model_own_and_a_changed_vocabulary_computes_the_rest(
    pack: Path,
) -> None:
    spec = install_pack(pack, name="from-pack")
    encoder = load_encoder(spec, device="cpu")
    shipped = shipped_label_features(install_dir(spec))
    assert shipped is not None
    prompts = prompt_set_for_model(spec.name)
    vocabulary = default_vocabulary()

    cache = LabelFeatureCache(None, shared=False)
    assert cache.seed(encoder.model_key, shipped) == len(vocabulary) + 1
    counting = CountingEncoder(encoder)
    mine = TagDef("my grandmother's teapot")
    features = cache.features(encoder.model_key, counting, [*vocabulary[:6], mine], prompts)
    assert counting.texts == prompts.texts_for(mine)  # only the new tag was embedded
    assert cache.embedded == 1

    fresh = LabelFeatureCache(None, shared=False)
    computed = fresh.features(encoder.model_key, CountingEncoder(encoder), vocabulary[:6], prompts)
    assert np.allclose(features.vectors[:6], computed.vectors, atol=1e-4)
    assert np.allclose(features.neutral, computed.neutral, atol=1e-4)

    # Other templates are another vocabulary: nothing shipped fits, all is embedded.
    other = PromptSet(templates=("a sketch of {}.", "{}, drawn."))
    counting.texts.clear()
    cache.features(encoder.model_key, counting, vocabulary[:3], other)
    wanted = [text for tag in vocabulary[:3] for text in other.texts_for(tag)]
    assert counting.texts == wanted + other.neutral_texts()

    # Features shipped for another model are never used.
    stranger = LabelFeatureCache(None, shared=False)
    assert stranger.seed("another-model@0", shipped) == 0


def _index(library: Path, photos: Path) -> subprocess.CompletedProcess[str]:
    """``clipdesk index`` as a user runs it: a new process, so no cache from another test
    is in its memory."""
    argv = ["--model", "tiny-shapes", "--library", str(library), "index", str(photos)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(
        [sys.executable, "-m", "clipdesk", *argv],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip


def test_a_first_index_that_must_embed_prompts_says_so(tmp_path: Path) -> None:
    """tiny-shapes ships no features: its first index embeds its tags' prompts, and the
    command line says so; the second library finds them in the cache."""
    photos = tmp_path / "photos"
    write_sample_library(photos, 6, seed=4)
    first = _index(tmp_path / "lib", photos)
    assert first.returncode == 0, first.stderr
    assert "tag prompts for this model" in first.stderr, first.stderr
    assert "Tagged 6 photos" in first.stderr, first.stderr
    second = _index(tmp_path / "lib2", photos)
    assert second.returncode == 0, second.stderr
    assert "tag prompts" not in second.stderr, second.stderr
    assert "Tagged 6 photos" in second.stderr, second.stderr
