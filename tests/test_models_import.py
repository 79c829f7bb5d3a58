"""Importing open_clip checkpoints from disk: checked, converted, and refused when unsafe."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clipdesk.cli import main
from clipdesk.core import paths
from clipdesk.core.encoder import load_encoder
from clipdesk.core.models import (
    ImportCheckpointError,
    get_model,
    install_dir,
    is_installed,
    list_models,
)
from clipdesk.core.models.importing import import_checkpoint

ARCH = "ViT-S-32-alt"  # the smallest built-in open_clip CLIP (43M parameters)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """One random model of ARCH, saved as safetensors and as a wrapped torch state dict."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    folder = tmp_path_factory.mktemp("ckpt")
    torch.manual_seed(5)
    model, _, transform = open_clip.create_model_and_transforms(ARCH)
    model.eval()
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "weights.safetensors"))
    wrapped = {"state_dict": {f"module.{k}": v for k, v in state.items()}, "epoch": 3}
    torch.save(wrapped, folder / "weights.pt")
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (240, 320, 3), np.uint8))
    with torch.no_grad():
        reference = model.encode_image(transform(image)[None], normalize=True).numpy()[0]
    return {"dir": folder, "image": image, "reference": reference}


@pytest.fixture(autouse=True)
def _dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("DATA", "CACHE", "CONFIG", "MODELS"):
        monkeypatch.setenv(f"CLIPDESK_{var}_DIR", str(tmp_path / var.lower()))


def _models_dir_entries() -> list[str]:
    root = paths.models_dir()
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_import_safetensors_then_embed_like_open_clip(checkpoint: dict) -> None:
    spec = import_checkpoint(checkpoint["dir"] / "weights.safetensors", ARCH, name="small")
    assert spec.name == "small" and spec.source == "imported" and spec.arch == ARCH
    assert spec.resolution == 224 and spec.params_m == pytest.approx(43.2, abs=0.1)
    assert is_installed(spec) and "small" in [s.name for s in list_models()]
    encoder = load_encoder("small")
    vector = encoder.encode_images([checkpoint["image"]])[0]
    assert float(vector @ checkpoint["reference"]) > 0.99999
    assert _models_dir_entries() == ["small"]  # no staging folder left


def test_import_wrapped_torch_state_dict(checkpoint: dict) -> None:
    spec = import_checkpoint(checkpoint["dir"] / "weights.pt", ARCH)
    assert spec.name == f"{ARCH}-weights"
    folder = install_dir(spec)
    assert sorted(p.name for p in folder.iterdir()) == [
        "clipdesk_model.json",
        "open_clip_config.json",
        "open_clip_model.safetensors",
    ]
    vector = load_encoder(spec).encode_images([checkpoint["image"]])[0]
    assert float(vector @ checkpoint["reference"]) > 0.99999


def test_wrong_architecture_is_refused_cleanly(checkpoint: dict) -> None:
    with pytest.raises(ImportCheckpointError, match="is not a checkpoint of ViT-S-32"):
        import_checkpoint(checkpoint["dir"] / "weights.safetensors", "ViT-S-32", name="x")
    assert _models_dir_entries() == []


def test_pickled_code_is_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"

    class Boom:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.mkdir, (str(marker),))

    evil = tmp_path / "evil.bin"
    evil.write_bytes(pickle.dumps({"visual.conv1.weight": Boom()}, protocol=2))
    with pytest.raises(ImportCheckpointError, match="safely"):
        import_checkpoint(evil, ARCH, name="evil")
    assert not marker.exists()
    assert _models_dir_entries() == []


def test_bad_arguments_are_explained(checkpoint: dict, tmp_path: Path) -> None:
    weights = checkpoint["dir"] / "weights.safetensors"
    with pytest.raises(ImportCheckpointError, match="did you mean"):
        import_checkpoint(weights, "ViT-S-32-alternative")
    with pytest.raises(ImportCheckpointError, match="no such file"):
        import_checkpoint(tmp_path / "missing.safetensors", ARCH)
    with pytest.raises(ImportCheckpointError, match="pretrained tag"):
        import_checkpoint(weights, ARCH, pretrained="laion9000")
    with pytest.raises(ImportCheckpointError, match="tokenizer"):
        import_checkpoint(weights, "xlm-roberta-base-ViT-B-32")
    with pytest.raises(ImportCheckpointError, match="not the pinned"):
        import_checkpoint(weights, "ViT-B-32-quickgelu", name="ViT-B-32-openai")
    import_checkpoint(weights, ARCH, name="dup")
    with pytest.raises(ImportCheckpointError, match="exists already"):
        import_checkpoint(weights, ARCH, name="dup")


def test_pinned_file_installs_as_its_registry_model(
    checkpoint: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An offline copy of a registry model's weights becomes that model, byte for byte."""
    weights = checkpoint["dir"] / "weights.safetensors"
    data = weights.read_bytes()
    resources = tmp_path / "resources"
    (resources / "models").mkdir(parents=True)
    registry = json.loads((paths.resources_dir() / "models" / "registry.json").read_text())
    registry["models"].append(
        {
            "name": "small-pinned",
            "arch": ARCH,
            "pretrained": "test",
            "resolution": 224,
            "licence": "MIT",
            "preprocess": {"interpolation": "bicubic", "resize_mode": "shortest"},
            "files": [
                {
                    "repo": "org/small",
                    "revision": "b" * 40,
                    "filename": "open_clip_model.safetensors",
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "size": len(data),
                }
            ],
        }
    )
    (resources / "models" / "registry.json").write_text(json.dumps(registry))
    monkeypatch.setenv("CLIPDESK_RESOURCES_DIR", str(resources))
    shutil.copy(weights, tmp_path / "downloaded-elsewhere.safetensors")

    spec = import_checkpoint(tmp_path / "downloaded-elsewhere.safetensors", ARCH)

    assert spec.name == "small-pinned" and spec.source == "registry"
    assert is_installed(get_model("small-pinned"))
    installed = install_dir(spec) / "open_clip_model.safetensors"
    assert installed.read_bytes() == data
    encoder = load_encoder("small-pinned")
    assert encoder.model_key == f"small-pinned@{hashlib.sha256(data).hexdigest()[:12]}"


def test_cli_import(checkpoint: dict, capsys: pytest.CaptureFixture[str]) -> None:
    weights = checkpoint["dir"] / "weights.safetensors"
    assert main(["models", "import", str(weights), "--arch", ARCH, "--name", "cli-model"]) == 0
    assert "installed cli-model" in capsys.readouterr().out
    assert main(["models", "import", str(weights), "--arch", "nope"]) == 1
    assert "unknown open_clip architecture" in capsys.readouterr().err
    assert main(["models", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["cli-model"]["installed"] and rows["cli-model"]["facts"]["source"] == "imported"


@pytest.mark.parametrize("kind", ["empty", "random bytes", "other architecture"])
def test_cli_import_of_a_wrong_file_says_one_clear_line(
    kind: str, checkpoint: dict, tmp_path: Path
) -> None:
    """open_clip's random-init notices and torch's weights_only advice stay out of it."""
    import subprocess
    import sys

    if kind == "empty":
        bad, expected = tmp_path / "empty.pt", "empty.pt is empty"
        bad.write_bytes(b"")
    elif kind == "random bytes":
        bad, expected = tmp_path / "noise.pt", "noise.pt is not a checkpoint of ViT-S-32: "
        bad.write_bytes(np.random.default_rng(1).bytes(4096))
    else:  # a torch.save'd state dict of ARCH, imported as another architecture
        bad, expected = checkpoint["dir"] / "weights.pt", "weights.pt is not a checkpoint of"
    run = subprocess.run(
        [sys.executable, "-m", "clipdesk", "models", "import", str(bad), "--arch", "ViT-S-32"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
    )
    assert run.returncode == 1
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert expected in lines[0], lines[0]
    for noise in ("initialized randomly", "weights_only", "WARNING", "Traceback"):
        assert noise not in run.stderr
    assert _models_dir_entries() == []
