"""ONNX packs: exported from open_clip, installed anywhere, embedding like open_clip.

A random-initialised open_clip model (fixed seed) is exported to a pack, its weights are
removed, and the pack installed: its vectors must stay within cosine 0.999 of open_clip's
own on inputs the export never probed. ViT-B-32 (the size users import) runs under
``-m slow``; the default run uses a small ViT with the real CLIP vocabulary.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from file_server import REVISION, FileServer
from lite_env import LiteRunner

from clipdesk.core.encoder import load_encoder
from clipdesk.core.errors import ChecksumError, ImportCheckpointError
from clipdesk.core.models.manifest import PACKED_DIR
from clipdesk.core.models.onnx_export import probe_images
from clipdesk.core.models.pack import MANIFEST, download_pack, install_pack, is_pack, write_pack
from clipdesk.core.models.registry import ModelFile, ModelSpec, get_model, install_dir, is_installed
from clipdesk.core.models.testing import (
    save_random_model,
    tiny_model_config,
    write_hf_text_files,
)
from clipdesk.core.onnx_backend import OnnxEncoder
from clipdesk.core.onnx_cache import load_tokenizer

TEXTS = ["a cat asleep on a sofa", "Berge im Nebel", "three red apples", "x"]


def _open_clip_vectors(folder: Path, pixels: np.ndarray, texts: list[str]):
    """open_clip's own vectors, straight from its model and tokenizer."""
    import open_clip
    import torch

    model = open_clip.create_model(f"local-dir:{folder}", weights_only=True).eval()
    tokenizer = open_clip.get_tokenizer(f"local-dir:{folder}")
    with torch.no_grad():
        image = model.encode_image(torch.from_numpy(pixels)).float()
        text = model.encode_text(tokenizer(texts)).float()
    unit = torch.nn.functional.normalize
    return unit(image, dim=-1).numpy(), unit(text, dim=-1).numpy()


def _pack_round_trip(tmp_path: Path, arch, seed: int) -> None:
    models = Path(os.environ["CLIPDESK_MODELS_DIR"])
    folder = save_random_model(models / "random-clip", arch, name="random-clip", seed=seed)
    pixels_cfg = load_encoder("random-clip", backend="torch", device="cpu").preprocess_cfg
    pixels = probe_images(pixels_cfg, n=6, seed=99)  # not the export's probes
    ref_images, ref_texts = _open_clip_vectors(folder, pixels, TEXTS)

    pack = tmp_path / "random-clip.clipdesk-pack"
    manifest = write_pack(get_model("random-clip"), pack)
    assert is_pack(pack)
    assert manifest["checks"]["image"] >= 0.999 and manifest["checks"]["text"] >= 0.999
    with zipfile.ZipFile(pack) as zf:
        names = set(zf.namelist())
    assert {
        MANIFEST,
        f"{PACKED_DIR}/meta.json",
        f"{PACKED_DIR}/bpe_simple_vocab_16e6.txt.gz",
    } <= names

    shutil.rmtree(folder)  # only the pack is left
    spec = install_pack(pack, name="from-pack")
    assert is_installed(spec) and spec.source == "imported"
    encoder = load_encoder("from-pack", device="auto", backend="torch")  # no weights: ONNX
    assert isinstance(encoder, OnnxEncoder)
    image_cos = (encoder.encode_image_batch(pixels) * ref_images).sum(1)
    text_cos = (encoder.encode_texts(TEXTS).vectors * ref_texts).sum(1)
    assert image_cos.min() >= 0.999, image_cos
    assert text_cos.min() >= 0.999, text_cos


def test_pack_of_a_random_clip_embeds_like_open_clip(tmp_path: Path) -> None:
    _pack_round_trip(tmp_path, tiny_model_config(), seed=5)


def test_pack_of_a_random_xlm_roberta_clip_embeds_like_open_clip_without_transformers(
    tmp_path: Path,
) -> None:
    """The multilingual model's kind of text tower (XLM-RoBERTa from transformers), small:
    its pack carries the tokenizer, and a lite process embeds like open_clip."""
    pytest.importorskip("transformers")
    models = Path(os.environ["CLIPDESK_MODELS_DIR"])
    folder = models / "random-xlmr"
    corpus = [*TEXTS, "ein Hund am Strand", "un chat sur un canapé", "red apples"] * 10
    write_hf_text_files(
        folder,
        corpus,
        num_hidden_layers=2,
        hidden_size=64,
        num_attention_heads=2,
        intermediate_size=128,
    )
    cfg = tiny_model_config()
    cfg["text_cfg"] = {
        "hf_model_name": str(folder),
        "hf_tokenizer_name": str(folder),
        "hf_model_pretrained": False,
        "hf_pooler_type": "mean_pooler",
    }
    save_random_model(folder, cfg, name="random-xlmr", seed=3)
    pixels = probe_images(load_encoder("random-xlmr", backend="torch").preprocess_cfg, n=4, seed=9)
    long_text = "a very long caption about a dog on a beach " * 12  # past 77 tokens: cut
    texts = [*TEXTS, long_text]
    ref_images, ref_texts = _open_clip_vectors(folder, pixels, texts)
    pack = tmp_path / "xlmr.clipdesk-pack"
    manifest = write_pack(get_model("random-xlmr"), pack)
    assert f"{PACKED_DIR}/tokenizer.json" in manifest["files"]
    assert f"{PACKED_DIR}/bpe_simple_vocab_16e6.txt.gz" not in manifest["files"]
    import open_clip

    odd = ["  Straße\tim   Regen ", "&amp; café", "", "😀 emoji", long_text]
    want_ids = open_clip.get_tokenizer(f"local-dir:{folder}")(texts + odd).numpy()
    shutil.rmtree(folder)

    lite = LiteRunner(tmp_path / "lite")
    out = lite.run("models", "import", str(pack), "--name", "xlmr-pack")
    assert out.returncode == 0, out.stderr
    vectors, pictures = tmp_path / "t.npy", tmp_path / "p.npy"
    run = lite.run(
        "--model",
        "xlmr-pack",
        "embed",
        "--long-text",
        "truncate",
        "--text",
        *texts,
        "--out",
        str(vectors),
    )
    assert run.returncode == 0, run.stderr
    np.save(pictures, pixels)
    text_cos = (np.load(vectors) * ref_texts).sum(1)
    assert text_cos.min() >= 0.999, text_cos
    assert float((np.load(vectors)[0] * ref_texts[1]).sum()) < 0.99  # it can fail
    assert lite.refused() == []  # neither torch nor transformers was imported

    spec = install_pack(pack, name="xlmr-here")
    packed = install_dir(spec) / PACKED_DIR
    meta = json.loads((packed / "meta.json").read_text())
    assert meta["tokenizer"]["kind"] == "hf" and meta["text"]["trim"]
    got_ids = load_tokenizer(packed, meta["tokenizer"])(texts + odd)
    np.testing.assert_array_equal(got_ids, want_ids)  # open_clip's ids, without transformers
    encoder = load_encoder(spec, backend="torch")
    assert isinstance(encoder, OnnxEncoder)
    image_cos = (encoder.encode_image_batch(pixels) * ref_images).sum(1)
    assert image_cos.min() >= 0.999, image_cos
    chunked = encoder.encode_texts([long_text])  # the default: chunks that fit, averaged
    assert chunked.chunks[0] >= 2 and encoder.count_tokens(long_text) > 77


@pytest.mark.slow
def test_pack_of_a_random_vit_b_32_embeds_like_open_clip(tmp_path: Path) -> None:
    _pack_round_trip(tmp_path, "ViT-B-32", seed=0)


@pytest.fixture
def small_pack(tmp_path: Path) -> Path:
    models = Path(os.environ["CLIPDESK_MODELS_DIR"])
    save_random_model(models / "small", tiny_model_config(), name="small", seed=2)
    pack = tmp_path / "small.clipdesk-pack"
    write_pack(get_model("small"), pack)
    return pack


def test_a_damaged_pack_is_refused_and_nothing_is_installed(small_pack: Path, tmp_path: Path):
    bad = tmp_path / "bad.clipdesk-pack"
    with zipfile.ZipFile(small_pack) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith("meta.json"):
                data = data.replace(b'"dim"', b'"dim" ')
            dst.writestr(item, data)
    with pytest.raises(ChecksumError):
        install_pack(bad, name="bad")
    assert not (install_dir(get_model("small")).parent / "bad").exists()

    hostile = tmp_path / "hostile.clipdesk-pack"
    with zipfile.ZipFile(small_pack) as src, zipfile.ZipFile(hostile, "w") as dst:
        manifest = json.loads(src.read(MANIFEST))
        manifest["files"]["../../escape"] = {"sha256": "0", "size": 1}
        dst.writestr(MANIFEST, json.dumps(manifest))
    with pytest.raises(ImportCheckpointError, match="unexpected file"):
        install_pack(hostile, name="hostile")


def test_models_import_installs_a_pack_without_torch(small_pack: Path, tmp_path: Path) -> None:
    lite = LiteRunner(tmp_path / "lite")
    out = lite.run("models", "import", str(small_pack), "--name", "small-pack")
    assert out.returncode == 0, out.stderr
    assert "installed small-pack" in out.stdout
    vectors = tmp_path / "v.npy"
    embed = lite.run("--model", "small-pack", "embed", "--text", "a dog", "--out", str(vectors))
    assert embed.returncode == 0, embed.stderr
    got = np.load(vectors)
    expected = load_encoder("small", device="cpu", backend="torch").encode_texts(["a dog"]).vectors
    assert float((got * expected).sum()) >= 0.999
    assert lite.refused() == []

    with_arch = lite.run("models", "import", str(small_pack), "--arch", "ViT-B-32")
    assert with_arch.returncode == 1
    assert "without --arch" in with_arch.stderr


def test_a_registry_pack_source_downloads_verified_and_runs(
    small_pack: Path,
    server: FileServer,
) -> None:
    """``models download`` on a plain install: the pinned pack from the model's source."""
    data = small_pack.read_bytes()
    server.files[f"/org/packs/resolve/{REVISION}/small.clipdesk-pack"] = data
    source = ModelFile(
        "org/packs", REVISION, "small.clipdesk-pack", hashlib.sha256(data).hexdigest(), len(data)
    )
    spec = ModelSpec(name="packed", arch="custom", pretrained="random", pack=source)
    assert spec.downloadable and spec.pinned

    folder = download_pack(spec)

    assert folder == install_dir(spec) and is_installed(spec)
    encoder = load_encoder("packed")
    assert isinstance(encoder, OnnxEncoder)
    expected = load_encoder("small", device="cpu", backend="torch").encode_texts(TEXTS).vectors
    assert (encoder.encode_texts(TEXTS).vectors * expected).sum(1).min() >= 0.999

    tampered = ModelSpec(
        name="tampered",
        arch="custom",
        pretrained="random",
        pack=ModelFile("org/packs", REVISION, "small.clipdesk-pack", "0" * 64, len(data)),
    )
    with pytest.raises(ChecksumError):
        download_pack(tampered)
    assert not install_dir(tampered).exists()
