"""The plain install (no torch): tiny-shapes ships as ONNX and every everyday command runs.

The shipped towers must give open_clip's vectors (cosine >= 0.999 on probe inputs), and
the command line must work with torch, torchvision, open_clip and timm unimportable, and
without anything even trying to import them. A real fresh venv built with
``pip install .`` is the slow test at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import venv
from pathlib import Path

import numpy as np
import pytest
from lite_env import ROOT, LiteRunner
from PIL import Image

from clipdesk.core import onnx_backend
from clipdesk.core.encoder import load_encoder
from clipdesk.core.models.manifest import PACKED_DIR
from clipdesk.core.models.onnx_export import PROBE_TEXTS, probe_images
from clipdesk.core.models.registry import get_model, install_dir
from clipdesk.core.onnx_backend import OnnxEncoder
from clipdesk.core.onnx_cache import META_NAME

SHIPPED = ROOT / "resources" / "models" / "tiny-shapes" / PACKED_DIR


def _shipped_meta() -> dict:
    meta_path = SHIPPED / META_NAME
    assert meta_path.is_file(), f"tiny-shapes' ONNX export is missing: {meta_path}"
    return json.loads(meta_path.read_text(encoding="utf-8"))


def test_shipped_tiny_shapes_onnx_embeds_like_torch() -> None:
    meta = _shipped_meta()
    for tower in ("image", "text"):
        assert (SHIPPED / meta[tower]["file"]).is_file(), f"{tower} tower missing"
    spec = get_model("tiny-shapes")
    onnx = onnx_backend.load_onnx_encoder(spec)
    assert isinstance(onnx, OnnxEncoder), "the shipped export was not used (stale or damaged?)"
    assert onnx.directory == install_dir(spec) / PACKED_DIR
    reference = load_encoder("tiny-shapes", device="cpu", backend="torch")
    assert not isinstance(reference, OnnxEncoder)
    assert onnx.model_key == reference.model_key  # the same vector space, never mixed

    pixels = probe_images(reference.preprocess_cfg, n=16, seed=11)  # not the export's probes
    image_cos = (onnx.encode_image_batch(pixels) * reference.encode_image_batch(pixels)).sum(1)
    texts = [*PROBE_TEXTS, "a red circle", "two small blue squares", "a yellow star"]
    text_cos = (onnx.encode_texts(texts).vectors * reference.encode_texts(texts).vectors).sum(1)
    assert image_cos.min() >= 0.999, image_cos
    assert text_cos.min() >= 0.999, text_cos


def test_shipped_export_stays_small() -> None:
    meta = _shipped_meta()
    total = sum((SHIPPED / meta[t]["file"]).stat().st_size for t in ("image", "text"))
    assert total < 16e6, f"tiny-shapes' ONNX towers grew to {total / 1e6:.1f} MB"
    assert meta["text"].get("embedding") == "float16"


def test_everyday_commands_run_without_torch(tmp_path: Path) -> None:
    lite = LiteRunner(tmp_path)
    demo = lite.run("demo", str(tmp_path / "demo"))
    assert demo.returncode == 0, demo.stderr
    assert "search" in demo.stdout

    lib = ["--library", str(tmp_path / "lib")]
    photos = tmp_path / "demo" / "photos"
    index = lite.run(*lib, "index", str(photos))
    assert index.returncode == 0, index.stderr
    assert "Indexed 60 files" in index.stdout + index.stderr

    search = lite.run(*lib, "search", "a red star", "-n", "3", "--json")
    assert search.returncode == 0, search.stderr
    results = json.loads(search.stdout)["results"]
    assert len(results) == 3
    captions = json.loads((tmp_path / "demo" / "captions.json").read_text(encoding="utf-8"))
    best = Path(results[0]["path"]).name
    caption = next(v for k, v in captions.items() if Path(k).name == best)
    assert "red" in caption and "star" in caption, caption

    similar = lite.run(*lib, "similar", results[0]["path"], "-n", "2", "--json")
    assert similar.returncode == 0, similar.stderr
    assert json.loads(similar.stdout)["results"][0]["score"] == pytest.approx(1.0, abs=1e-3)

    tags = lite.run(*lib, "tags", "list")
    assert tags.returncode == 0, tags.stderr
    assert "star" in tags.stdout

    dupes = lite.run(*lib, "dupes", "--json")
    assert dupes.returncode == 0, dupes.stderr

    check = lite.python(
        "import sys; from clipdesk.cli import main; "
        f"code = main(['--library', {str(tmp_path / 'lib')!r}, 'search', 'a heart']); "
        "assert code == 0; "
        "bad = [m for m in ('torch', 'open_clip', 'timm', 'torchvision') if m in sys.modules]; "
        "print('loaded:', bad)"
    )
    assert check.returncode == 0, check.stderr
    assert "loaded: []" in check.stdout
    assert lite.refused() == []


def test_a_weights_only_model_without_torch_says_what_to_do(tmp_path: Path) -> None:
    lite = LiteRunner(tmp_path)
    folder = tmp_path / "models" / "shapes-weights"
    shutil.copytree(
        install_dir(get_model("tiny-shapes")), folder, ignore=shutil.ignore_patterns(PACKED_DIR)
    )
    (folder / "clipdesk_model.json").write_text(
        json.dumps({"format": 1, "name": "shapes-weights", "arch": "custom", "source": "import"}),
        encoding="utf-8",
    )
    Image.new("RGB", (64, 64), "red").save(tmp_path / "red.png")
    out = lite.run(
        "--model",
        "shapes-weights",
        "embed",
        str(tmp_path / "red.png"),
        "--out",
        str(tmp_path / "v.npy"),
    )
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "pip install 'clipdesk[torch]'" in lines[0] and "clipdesk models import" in lines[0]

    download = lite.run("models", "download", "ViT-B-32-openai")
    assert download.returncode == 1
    lines = download.stderr.strip().splitlines()
    assert len(lines) == 1, download.stderr
    assert "clipdesk[torch]" in lines[0] and "models import" in lines[0]


@pytest.mark.slow
def test_a_fresh_venv_with_pip_install_dot_has_no_torch(tmp_path: Path) -> None:
    """``pip install .`` into a new venv (from the registry, no torch), then the commands."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json"], capture_output=True, text=True
    )
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert not names & {"torch", "torchvision", "open-clip-torch", "timm"}, names
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(
        CLIPDESK_DATA_DIR=str(tmp_path / "data"),
        CLIPDESK_CACHE_DIR=str(tmp_path / "cache"),
        CLIPDESK_CONFIG_DIR=str(tmp_path / "config"),
        CLIPDESK_MODELS_DIR=str(tmp_path / "models"),
    )
    clipdesk = [str(python), "-m", "clipdesk"]
    lib = ["--library", str(tmp_path / "lib")]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(
            [*clipdesk, *args], capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path
        )
        assert out.returncode == 0, out.stderr
        return out

    run("demo", str(tmp_path / "demo"))
    run(*lib, "index", str(tmp_path / "demo" / "photos"))
    results = json.loads(run(*lib, "search", "a red star", "--json").stdout)["results"]
    assert results
    run(*lib, "similar", results[0]["path"])
    assert "star" in run(*lib, "tags", "list").stdout
    # A pack made here (with torch) installs and embeds like open_clip there (without).
    from clipdesk.core.models.pack import write_pack
    from clipdesk.core.models.testing import save_random_model, tiny_model_config

    here = Path(os.environ["CLIPDESK_MODELS_DIR"])
    save_random_model(here / "packed", tiny_model_config(), name="packed", seed=4)
    pack = tmp_path / "packed.clipdesk-pack"
    write_pack(get_model("packed"), pack)
    expected = load_encoder("packed", backend="torch", device="cpu").encode_texts(["a dog"])
    run("models", "import", str(pack))
    run("--model", "packed", "embed", "--text", "a dog", "--out", str(tmp_path / "v.npy"))
    assert float((np.load(tmp_path / "v.npy") * expected.vectors).sum()) >= 0.999
    where = subprocess.run(
        [str(python), "-c", "import clipdesk; print(clipdesk.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert str(env_dir) in where.stdout  # the installed copy, not the source tree
