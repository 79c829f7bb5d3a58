"""The resources a bundle ships: a copy of ``resources/`` with the chosen models in it.

The frozen app finds its read-only files in ``sys._MEIPASS/resources`` (see
``clipdesk.core.paths.resources_dir``). A model is bundled by copying its folder to
``resources/models/<name>/`` and pointing its registry entry there (``local_dir``), which
makes it a "bundled" model: installed from the first start, never downloaded. A
downloaded registry model keeps its facts; an imported one joins the registry from its
manifest. Nothing under ``resources/`` in the source tree is modified.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clipdesk.core.models.manifest import (
    CONFIG_NAME,
    find_weights,
    has_packed_export,
    read_manifest,
)
from clipdesk.core.models.openclip_config import read_open_clip_config, uses_hf_text

DEMO_MODEL = "tiny-shapes"


class StageError(Exception):
    """A model that cannot be bundled, with a reason for the person building."""


@dataclass(frozen=True)
class StagedModel:
    name: str
    source: Path
    size_mb: float
    needs_hf_text: bool  # a Hugging Face text tower: the bundle needs transformers


def parse_model_option(text: str) -> tuple[str, Path | None]:
    """``NAME`` or ``NAME=FOLDER`` (a model folder to take the files from)."""
    name, sep, folder = text.partition("=")
    return name.strip(), (Path(folder).expanduser().resolve() if sep else None)


def model_source(name: str, explicit: Path | None, resources: Path, models_dir: Path) -> Path:
    """Where the files of model ``name`` are on this computer."""
    candidates = [explicit] if explicit else [resources / "models" / name, models_dir / name]
    for folder in candidates:
        if folder is None or not (folder / CONFIG_NAME).is_file():
            continue
        if find_weights(folder) or has_packed_export(folder):  # weights, or a pack's towers
            return folder
    where = " or ".join(str(c) for c in candidates if c is not None)
    hint = (
        "its training has not produced the weights yet"
        if name == DEMO_MODEL and not explicit
        else f"install it first (clipdesk models download/import {name})"
    )
    raise StageError(f"model {name}: no {CONFIG_NAME} and weights in {where}; {hint}")


def stage_resources(
    resources: Path,
    stage: Path,
    models: list[tuple[str, Path | None]],
    models_dir: Path,
    *,
    lite: bool = False,
) -> list[StagedModel]:
    """Fill ``stage`` (emptied first) with ``resources`` plus the chosen model folders.

    ``lite``: a model that carries its own ONNX towers goes without its torch weights,
    which only torch reads (tiny-shapes' are 14.7 MB); the towers name the model's key.
    """
    if stage.exists():
        shutil.rmtree(stage)
    shutil.copytree(resources, stage, ignore=_ignore_model_folders(resources))
    registry_file = stage / "models" / "registry.json"
    registry = json.loads(registry_file.read_text(encoding="utf-8"))
    staged = []
    for name, explicit in models:
        source = model_source(name, explicit, resources, models_dir)
        target = stage / "models" / name
        skip = ["*.part", ".*"]
        weights = find_weights(source)
        if lite and weights is not None and has_packed_export(source):
            skip.append(weights.name)
        shutil.copytree(source, target, ignore=shutil.ignore_patterns(*skip))
        _bundle_entry(registry, name, target)
        size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file()) / 1e6
        model_cfg = read_open_clip_config(target)["model_cfg"]
        staged.append(StagedModel(name, source, round(size, 1), uses_hf_text(model_cfg)))
    registry_file.write_text(json.dumps(registry, indent=2) + "\n", encoding="utf-8")
    for path in stage.rglob("*"):  # readable by every user of a system-wide install
        path.chmod(0o755 if path.is_dir() else 0o644)
    return staged


def _ignore_model_folders(resources: Path) -> Any:
    """Copy everything except model folders: only chosen models are bundled."""
    models = (resources / "models").resolve()

    def ignore(folder: str, names: list[str]) -> list[str]:
        if Path(folder).resolve() == models:
            return [n for n in names if (models / n).is_dir()]
        return [n for n in names if n in ("__pycache__", ".DS_Store")]

    return ignore


def _bundle_entry(registry: dict[str, Any], name: str, folder: Path) -> None:
    """Point the registry entry of ``name`` at its bundled folder (add one if needed)."""
    for entry in registry["models"]:
        if entry["name"] == name:
            entry["local_dir"] = name
            return
    manifest = read_manifest(folder)
    facts = dict(manifest.facts) if manifest else {}
    registry["models"].append(
        {
            "name": name,
            "arch": manifest.arch if manifest else "custom",
            "pretrained": manifest.pretrained if manifest else "",
            "resolution": facts.get("resolution"),
            "params_m": facts.get("params_m"),
            "licence": str(facts.get("licence", "as given by whoever built this bundle")),
            "good_for": str(facts.get("good_for", "Bundled with this installation.")),
            "local_dir": name,
            "files": [],
        }
    )


def write_icons(icons: Path, out: Path) -> dict[str, Path]:
    """Windows ``.ico`` and macOS ``.icns`` made from the app's PNGs (Pillow writes both)."""
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    pngs = sorted(icons.glob("clipdesk-*.png"), key=lambda p: int(p.stem.split("-")[-1]))
    if not pngs:
        raise StageError(f"no clipdesk-<size>.png icons in {icons}")
    largest = Image.open(pngs[-1]).convert("RGBA")
    ico, icns = out / "clipdesk.ico", out / "clipdesk.icns"
    sizes = [(s, s) for s in (16, 24, 32, 48, 64, 128, 256) if s <= largest.width]
    largest.save(ico, sizes=sizes)
    largest.save(icns)
    return {"ico": ico, "icns": icns, "png": pngs[-1]}
