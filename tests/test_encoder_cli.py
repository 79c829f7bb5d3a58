"""``clipdesk embed``: rows in argument order, normalised, long texts reported."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clipdesk.cli import main
from clipdesk.core import paths
from clipdesk.core.encoder import load_encoder
from clipdesk.core.models.testing import save_random_model, tiny_model_config

CONTEXT = 16
LONG = (
    "A red square sits in the top left corner of the picture. "
    "A blue circle with a thick black outline is next to it on the right."
)


@pytest.fixture(scope="module")
def models_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("models")
    save_random_model(
        root / "tiny-cli", tiny_model_config(context_length=CONTEXT), seed=9, name="tiny-cli"
    )
    return root


@pytest.fixture(autouse=True)
def _dirs(tmp_path: Path, models_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("DATA", "CACHE", "CONFIG"):
        monkeypatch.setenv(f"CLIPDESK_{var}_DIR", str(tmp_path / var.lower()))
    monkeypatch.setenv("CLIPDESK_MODELS_DIR", str(models_root))
    monkeypatch.delenv("CLIPDESK_MODEL", raising=False)


@pytest.fixture
def photos(tmp_path: Path) -> list[Path]:
    rng = np.random.default_rng(1)
    a = tmp_path / "a.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    arr = rng.integers(0, 256, (120, 200, 3), np.uint8)
    arr[:, :60] = (250, 20, 20)
    Image.fromarray(arr).save(a, "JPEG", exif=exif.tobytes())
    b = tmp_path / "b.png"
    Image.fromarray(rng.integers(0, 256, (90, 90, 3), np.uint8)).save(b)
    return [a, b]


def _expected(paths_: list[Path]) -> np.ndarray:
    from clipdesk.core.imageio import read_image

    encoder = load_encoder("tiny-cli")
    size = encoder.preprocess_cfg.size
    return encoder.encode_images([read_image(p, target_size=size).image for p in paths_])


def test_embed_images_in_argument_order(photos: list[Path], tmp_path: Path, capsys) -> None:
    out = tmp_path / "vectors.npy"
    assert main(["--model", "tiny-cli", "embed", *map(str, photos), "--out", str(out)]) == 0
    assert "wrote 2 x 64 vectors (tiny-cli@" in capsys.readouterr().out
    vectors = np.load(out)
    assert vectors.dtype == np.float32 and vectors.shape == (2, 64)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors, _expected(photos), atol=1e-6)
    swapped = tmp_path / "swapped"
    assert (
        main(
            ["--model", "tiny-cli", "embed", str(photos[1]), str(photos[0]), "--out", str(swapped)]
        )
        == 0
    )
    np.testing.assert_allclose(np.load(tmp_path / "swapped.npy"), vectors[::-1], atol=1e-6)


def test_embed_texts_warns_about_long_ones(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("CLIPDESK_MODEL", "tiny-cli")  # the environment picks the model
    out = tmp_path / "texts.npy"
    assert main(["embed", "--text", "a red square", LONG, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "text 2 has" in err and "sentence chunks" in err and "text 1" not in err
    vectors = np.load(out)
    encoder = load_encoder("tiny-cli")
    np.testing.assert_allclose(
        vectors, encoder.encode_texts(["a red square", LONG]).vectors, atol=1e-6
    )

    assert main(["embed", "--text", LONG, "--long-text", "truncate", "--out", str(out)]) == 0
    assert f"cut to the first {CONTEXT} tokens" in capsys.readouterr().err
    cut = np.load(out)[0]
    assert float(cut @ vectors[1]) < 0.9999


def test_embed_errors(photos: list[Path], tmp_path: Path, capsys) -> None:
    out = str(tmp_path / "x.npy")
    assert main(["--model", "tiny-cli", "embed", str(photos[0]), "--text", "hi", "--out", out]) == 1
    assert "not both" in capsys.readouterr().err
    missing = tmp_path / "missing.jpg"
    assert main(["--model", "tiny-cli", "embed", str(missing), "--out", out]) == 1
    assert "missing.jpg" in capsys.readouterr().err
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff not really a jpeg")
    assert main(["--model", "tiny-cli", "embed", str(broken), "--out", out]) == 1
    assert "broken.jpg" in capsys.readouterr().err
    assert main(["--model", "no-such-model", "embed", "--text", "hi", "--out", out]) == 1
    assert "known models" in capsys.readouterr().err
    assert not Path(out).exists()


def test_demo_model_is_flagged(tmp_path: Path, models_root: Path, monkeypatch, capsys) -> None:
    resources = tmp_path / "resources" / "models"
    resources.mkdir(parents=True)
    shutil.copy(paths.resources_dir() / "models" / "registry.json", resources / "registry.json")
    shutil.copytree(models_root / "tiny-cli", resources / "tiny-shapes")
    (resources / "tiny-shapes" / "clipdesk_model.json").unlink()
    monkeypatch.setenv("CLIPDESK_RESOURCES_DIR", str(tmp_path / "resources"))
    monkeypatch.setenv("CLIPDESK_MODELS_DIR", str(tmp_path / "empty-models"))
    out = tmp_path / "demo.npy"
    assert main(["embed", "--text", "a red square", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "demo model tiny-shapes" in captured.err
    assert "(tiny-shapes@" in captured.out
    assert main(["models", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["tiny-shapes"]["installed"] and rows["tiny-shapes"]["facts"]["is_demo"]
