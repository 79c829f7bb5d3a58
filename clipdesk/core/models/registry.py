"""Which CLIP models clipdesk knows, what they are good for, and which are installed.

The curated list is data (``resources/models/registry.json``), read here into frozen
:class:`ModelSpec` objects; models imported from disk (``clipdesk models import``) join
it from their folders under ``paths.models_dir()``. Nothing here imports torch.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from clipdesk.core import paths
from clipdesk.core.errors import ModelNotInstalledError, UnknownModelError
from clipdesk.core.models.manifest import (
    CONFIG_NAME,
    find_weights,
    has_packed_export,
    read_manifest,
)
from clipdesk.core.preprocess import PreprocessConfig

DEFAULT_HF_ENDPOINT = "https://huggingface.co"
DEMO_MODEL = "tiny-shapes"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
_REVISION_RE = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True, slots=True)
class ModelFile:
    """One file of a downloadable model, pinned to a repository revision and a SHA-256."""

    repo: str
    revision: str
    filename: str
    sha256: str | None = None
    size: int | None = None

    @property
    def pinned(self) -> bool:
        """True when both the revision (a commit) and the content (SHA-256) are fixed."""
        return bool(self.sha256) and bool(_REVISION_RE.match(self.revision))

    def url(self, endpoint: str | None = None) -> str:
        """Where to fetch it; ``HF_ENDPOINT`` redirects every download (mirrors, tests)."""
        base = (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_HF_ENDPOINT).rstrip("/")
        return f"{base}/{self.repo}/resolve/{self.revision}/{self.filename}"


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A model clipdesk can use, with the facts a user needs to choose one."""

    name: str
    arch: str
    pretrained: str
    resolution: int | None = None
    params_m: float | None = None
    imagenet_top1: float | None = None
    licence: str = ""
    download_mb: float | None = None
    cpu_ms_per_image: float | None = None
    good_for: str = ""
    is_demo: bool = False
    files: tuple[ModelFile, ...] = ()
    local_dir: Path | None = None  # bundled or imported models: their own folder
    languages: str = ""
    preprocess: PreprocessConfig | None = None
    research_only: bool = False
    gpu_recommended: bool = False
    requires: tuple[str, ...] = ()
    source: str = "registry"  # "registry" | "bundled" | "imported"
    pack: ModelFile | None = None  # an ONNX pack of the model: runs without torch

    @property
    def downloadable(self) -> bool:
        return bool(self.files or self.pack) and self.local_dir is None

    @property
    def pinned(self) -> bool:
        sources = (*self.files, self.pack) if self.pack else self.files
        return self.downloadable and all(f.pinned for f in sources)

    def facts(self) -> dict[str, Any]:
        """Plain facts for ``models list --json`` and the GUI's model chooser."""
        return {
            "params_m": self.params_m,
            "imagenet_top1": self.imagenet_top1,
            "download_mb": self.download_mb,
            "cpu_ms_per_image": self.cpu_ms_per_image,
            "languages": self.languages,
            "good_for": self.good_for,
            "research_only": self.research_only,
            "gpu_recommended": self.gpu_recommended,
            "is_demo": self.is_demo,
            "requires": list(self.requires),
            "source": self.source,
            "pinned": self.pinned,
        }


# --- the registry file -------------------------------------------------------------


def registry_path() -> Path:
    return paths.resources_dir() / "models" / "registry.json"


@lru_cache(maxsize=4)
def _load_registry(path: Path, mtime_ns: int) -> tuple[str, tuple[ModelSpec, ...]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    specs = tuple(_spec_from_json(entry, path.parent) for entry in data["models"])
    default = str(data["default"])
    if default not in {s.name for s in specs}:
        raise ValueError(f"{path}: default model {default!r} is not in the list")
    return default, specs


def _registry() -> tuple[str, tuple[ModelSpec, ...]]:
    path = registry_path()
    return _load_registry(path, path.stat().st_mtime_ns)


def _spec_from_json(entry: dict[str, Any], models_root: Path) -> ModelSpec:
    name = str(entry["name"])
    if not _NAME_RE.match(name):
        raise ValueError(f"bad model name in registry: {name!r}")
    resolution = entry.get("resolution")
    pre = entry.get("preprocess")
    preprocess = (
        PreprocessConfig.from_open_clip({**pre, "size": resolution}) if pre and resolution else None
    )
    local = entry.get("local_dir")
    return ModelSpec(
        name=name,
        arch=str(entry["arch"]),
        pretrained=str(entry.get("pretrained", "")),
        resolution=resolution,
        params_m=entry.get("params_m"),
        imagenet_top1=entry.get("imagenet_top1"),
        licence=str(entry.get("licence", "")),
        download_mb=entry.get("download_mb"),
        cpu_ms_per_image=entry.get("cpu_ms_per_image"),
        good_for=str(entry.get("good_for", "")),
        is_demo=bool(entry.get("is_demo", False)),
        files=tuple(_model_file(f) for f in entry.get("files", [])),
        local_dir=(models_root / local) if local else None,
        languages=str(entry.get("languages", "")),
        preprocess=preprocess,
        research_only=bool(entry.get("research_only", False)),
        gpu_recommended=bool(entry.get("gpu_recommended", False)),
        requires=tuple(entry.get("requires", ())),
        source="bundled" if local else "registry",
        pack=_model_file(entry["pack"]) if entry.get("pack") else None,
    )


def _model_file(f: dict[str, Any]) -> ModelFile:
    return ModelFile(
        repo=str(f["repo"]),
        revision=str(f["revision"]),
        filename=str(f["filename"]),
        sha256=f.get("sha256"),
        size=f.get("size"),
    )


# --- imported models ----------------------------------------------------------------


def _imported_specs(registry_names: set[str]) -> list[ModelSpec]:
    root = paths.models_dir()
    if not root.is_dir():
        return []
    specs = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        manifest = read_manifest(folder)
        if (
            manifest is None
            or manifest.source not in ("import", "pack")
            or manifest.name in registry_names
        ):
            continue
        facts = manifest.facts
        specs.append(
            ModelSpec(
                name=manifest.name,
                arch=manifest.arch,
                pretrained=manifest.pretrained,
                resolution=facts.get("resolution"),
                params_m=facts.get("params_m"),
                licence=str(facts.get("licence", "unknown (imported from disk)")),
                good_for=str(facts.get("good_for", "Imported from a checkpoint on disk.")),
                local_dir=folder,
                source="imported",
                languages=str(facts.get("languages", "")),
            )
        )
    return specs


# --- public API ---------------------------------------------------------------------


def list_models() -> list[ModelSpec]:
    """Every known model: the curated registry first, then imported ones by name."""
    _, specs = _registry()
    return [*specs, *_imported_specs({s.name for s in specs})]


def get_model(name: str) -> ModelSpec:
    """The model called ``name``; :class:`UnknownModelError` lists the known names."""
    models = list_models()
    for spec in models:
        if spec.name == name:
            return spec
    lowered = name.lower()
    for spec in models:  # be forgiving about case, never about spelling
        if spec.name.lower() == lowered:
            return spec
    raise UnknownModelError(name, [s.name for s in models])


def default_model_name() -> str:
    return _registry()[0]


def install_dir(spec: ModelSpec) -> Path:
    """The folder a model's files live in (bundled, imported, or downloaded)."""
    if spec.local_dir is not None:
        return spec.local_dir
    return paths.models_dir() / spec.name


def is_installed(spec: ModelSpec) -> bool:
    """True when the model's files are all present; it does not re-hash them. A folder
    with its own ONNX towers (a pack, tiny-shapes) counts without weights."""
    folder = install_dir(spec)
    if has_packed_export(folder):
        return True
    if not (folder / CONFIG_NAME).is_file() or find_weights(folder) is None:
        return False
    if not spec.downloadable:
        return True
    manifest = read_manifest(folder)
    if manifest is None:
        return False
    for f in spec.files:
        record = manifest.files.get(f.filename)
        path = folder / f.filename
        if record is None or not path.is_file():
            return False
        if f.sha256 and record.get("sha256") != f.sha256:
            return False  # installed from another revision than the one now pinned
        if path.stat().st_size != record.get("size"):
            return False
    return True


def torch_available() -> bool:
    """True when torch and open_clip can be imported (the ``torch`` extra), found without
    importing them."""
    try:
        return all(importlib.util.find_spec(m) is not None for m in ("torch", "open_clip"))
    except (ImportError, ValueError):
        return False


def needs_torch_message(spec: ModelSpec) -> str:
    """One line for a model that only exists as open_clip weights on an install without torch."""
    return (
        f"model {spec.name} is installed as open_clip weights, which need torch: "
        "pip install 'clipdesk[torch]', or import an ONNX pack of it: "
        "clipdesk models import FILE"
    )


def missing_requirements(spec: ModelSpec) -> list[str]:
    """Optional Python packages the model needs that are not installed."""
    return [pkg for pkg in spec.requires if importlib.util.find_spec(pkg) is None]


def resolve_model(name: str | None) -> ModelSpec:
    """The model to use: the one named, else the default if installed, else the best
    installed one, else the bundled demo model (``spec.is_demo`` says so)."""
    if name:
        return get_model(name)
    models = list_models()
    by_name = {s.name: s for s in models}
    default = by_name[default_model_name()]
    if is_installed(default):
        return default
    installed = [s for s in models if not s.is_demo and is_installed(s)]
    if installed:
        return max(installed, key=lambda s: (s.imagenet_top1 or 0.0, s.source == "registry"))
    demo = by_name.get(DEMO_MODEL)
    if demo is not None and is_installed(demo):
        return demo
    raise ModelNotInstalledError(
        f"no model is installed; run: clipdesk models download {default.name}"
    )


def validate_name(name: str) -> str:
    """A model name usable as a folder name on every platform."""
    if not _NAME_RE.match(name):
        raise ValueError(
            f"model name {name[:40]!r} must start with a letter or digit and may then use "
            "letters, digits, '.', '_' and '-' (80 characters at most)"
        )
    return name
