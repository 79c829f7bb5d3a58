"""The model registry: its data agrees with open_clip, and model resolution is predictable."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from clipdesk.core import paths
from clipdesk.core.models import (
    ModelFile,
    ModelNotInstalledError,
    UnknownModelError,
    default_model_name,
    get_model,
    is_installed,
    list_models,
    resolve_model,
)
from clipdesk.core.models.manifest import Manifest, file_record, write_manifest
from clipdesk.core.models.openclip_config import builtin_archs, builtin_model_config
from clipdesk.core.models.registry import install_dir

REAL_REGISTRY = paths.resources_dir() / "models" / "registry.json"


@pytest.fixture(autouse=True)
def _dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("DATA", "CACHE", "CONFIG", "MODELS"):
        monkeypatch.setenv(f"CLIPDESK_{var}_DIR", str(tmp_path / var.lower()))


@pytest.fixture
def resources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the registry, without the bundled demo model's files."""
    root = tmp_path / "resources"
    (root / "models").mkdir(parents=True)
    shutil.copy(REAL_REGISTRY, root / "models" / "registry.json")
    monkeypatch.setenv("CLIPDESK_RESOURCES_DIR", str(root))
    return root


def test_registry_has_the_models_the_issue_asks_for() -> None:
    specs = {s.arch + "/" + s.pretrained: s for s in list_models()}
    for wanted in (
        "ViT-B-32-quickgelu/openai",
        "ViT-B-32-256/datacomp_s34b_b86k",
        "MobileCLIP2-S0/dfndr2b",
        "xlm-roberta-base-ViT-B-32/laion5b_s13b_b90k",
        "ViT-L-14-336-quickgelu/openai",
    ):
        assert wanted in specs, wanted
    demo = get_model("tiny-shapes")
    assert demo.is_demo and demo.local_dir is not None and not demo.downloadable


def test_default_is_open_licensed_fast_and_accurate() -> None:
    default = get_model(default_model_name())
    assert default.name == "ViT-B-32-256-datacomp"
    assert not default.research_only and default.licence == "MIT"
    assert default.pinned
    real = [s for s in list_models() if not s.is_demo]
    cpu_class = [s for s in real if s.cpu_ms_per_image and s.cpu_ms_per_image < 100]
    best_open = max(
        (s for s in cpu_class if not s.research_only), key=lambda s: s.imagenet_top1 or 0
    )
    assert best_open.name == default.name
    mobile = get_model("MobileCLIP2-S0")
    assert mobile.research_only and "Apple" in mobile.licence


@pytest.mark.parametrize("spec", [s for s in list_models() if not s.is_demo], ids=lambda s: s.name)
def test_spec_agrees_with_open_clip(spec) -> None:
    import open_clip

    assert spec.arch in builtin_archs()
    cfg = builtin_model_config(spec.arch)
    assert spec.resolution == cfg["vision_cfg"]["image_size"]
    tag = open_clip.get_pretrained_cfg(spec.arch, spec.pretrained)
    assert tag, f"open_clip has no pretrained tag {spec.arch}/{spec.pretrained}"
    pre = spec.preprocess
    assert pre is not None and pre.size == spec.resolution
    assert pre.mean == pytest.approx(tuple(tag["mean"]))
    assert pre.std == pytest.approx(tuple(tag["std"]))
    assert pre.interpolation == tag["interpolation"]
    assert pre.resize_mode == tag["resize_mode"]
    # OpenAI weights were trained with QuickGELU: the architecture must say so.
    assert bool(cfg.get("quick_gelu")) == bool(tag.get("quick_gelu"))
    assert spec.licence and spec.good_for
    for f in spec.files:
        assert f.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", f.sha256)
        if f.sha256:
            assert re.fullmatch(r"[0-9a-f]{40}", f.revision), "a pinned file needs a commit"
    json.dumps(spec.facts())  # plain data for --json and the GUI


def test_urls_follow_hf_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    f = ModelFile("org/repo", "a" * 40, "w.safetensors", "0" * 64, 1)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    assert f.url() == f"https://huggingface.co/org/repo/resolve/{'a' * 40}/w.safetensors"
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9/")
    assert f.url().startswith("http://127.0.0.1:9/org/repo/resolve/")
    assert f.pinned and not ModelFile("org/repo", "main", "w", "0" * 64).pinned


def test_unknown_model_lists_the_known_ones() -> None:
    with pytest.raises(UnknownModelError) as info:
        get_model("ViT-Z-99")
    assert "ViT-B-32-256-datacomp" in str(info.value) and "tiny-shapes" in str(info.value)
    assert get_model("vit-b-32-openai").name == "ViT-B-32-openai"


def _fake_install(name: str) -> None:
    """Files that look installed (is_installed never re-hashes)."""
    spec = get_model(name)
    folder = install_dir(spec)
    folder.mkdir(parents=True)
    (folder / "open_clip_config.json").write_text("{}")
    records = {}
    for f in spec.files:
        path = folder / f.filename
        path.write_bytes(b"x" * 10)
        records[f.filename] = file_record(path, f.sha256 or "")
    write_manifest(folder, Manifest(spec.name, spec.arch, spec.pretrained, "download", records))


def _fake_demo(resources: Path) -> None:
    folder = resources / "models" / "tiny-shapes"
    folder.mkdir()
    (folder / "open_clip_config.json").write_text("{}")
    (folder / "open_clip_model.safetensors").write_bytes(b"x")


def test_resolution_order(resources: Path) -> None:
    with pytest.raises(ModelNotInstalledError, match="models download ViT-B-32-256-datacomp"):
        resolve_model(None)
    _fake_demo(resources)
    demo = resolve_model(None)
    assert demo.name == "tiny-shapes" and demo.is_demo
    _fake_install("ViT-B-32-openai")
    _fake_install("MobileCLIP2-S0")
    assert resolve_model(None).name == "MobileCLIP2-S0"  # best installed by accuracy
    _fake_install("ViT-B-32-256-datacomp")
    assert resolve_model(None).name == "ViT-B-32-256-datacomp"
    assert resolve_model("ViT-B-32-openai").name == "ViT-B-32-openai"


def test_install_state_needs_every_pinned_file(resources: Path) -> None:
    _fake_install("ViT-B-32-openai")
    spec = get_model("ViT-B-32-openai")
    assert is_installed(spec)
    weights = install_dir(spec) / spec.files[0].filename
    weights.write_bytes(b"truncated")  # size no longer what was verified
    assert not is_installed(spec)
    weights.unlink()
    assert not is_installed(spec)


def test_imported_models_join_the_list(resources: Path) -> None:
    folder = paths.models_dir() / "my-model"
    folder.mkdir(parents=True)
    (folder / "open_clip_config.json").write_text("{}")
    (folder / "open_clip_model.safetensors").write_bytes(b"x")
    write_manifest(
        folder, Manifest("my-model", "ViT-S-32", "", "import", facts={"resolution": 224})
    )
    names = [s.name for s in list_models()]
    assert names[-1] == "my-model"
    spec = get_model("my-model")
    assert spec.source == "imported" and spec.resolution == 224 and is_installed(spec)
    assert resolve_model(None).name == "my-model"  # the only installed real model
