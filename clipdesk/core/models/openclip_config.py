"""open_clip's architecture configs, and the ``open_clip_config.json`` of a model folder.

Every installed model folder is loadable with open_clip's ``local-dir:`` schema: it holds
``open_clip_config.json`` (``{"model_cfg": ..., "preprocess_cfg": ...}``, the format of
open_clip's hub repositories) next to the weights. For downloaded and imported models
clipdesk writes that file itself from open_clip's built-in architecture JSON, read
straight from the installed package so that no torch import is needed.
"""

from __future__ import annotations

import copy
import importlib.util
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from clipdesk.core.models.manifest import CONFIG_NAME, write_json_atomic
from clipdesk.core.preprocess import PreprocessConfig


@lru_cache(maxsize=1)
def _configs_dir() -> Path:
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("open_clip is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "model_configs"


def builtin_archs() -> list[str]:
    """Names of the architectures open_clip ships a config for."""
    return sorted(p.stem for p in _configs_dir().glob("*.json"))


def builtin_model_config(arch: str) -> dict[str, Any]:
    """open_clip's ``model_cfg`` for a built-in architecture (a fresh copy)."""
    path = _configs_dir() / f"{arch}.json"
    if not path.is_file():
        raise KeyError(arch)
    return copy.deepcopy(json.loads(path.read_text(encoding="utf-8")))


def write_open_clip_config(
    folder: Path, model_cfg: dict[str, Any], preprocess: PreprocessConfig
) -> Path:
    """Write ``open_clip_config.json`` so that ``local-dir:<folder>`` loads the model."""
    path = folder / CONFIG_NAME
    write_json_atomic(path, {"model_cfg": model_cfg, "preprocess_cfg": preprocess.to_open_clip()})
    return path


def read_open_clip_config(folder: Path) -> dict[str, Any]:
    data = json.loads((folder / CONFIG_NAME).read_text(encoding="utf-8"))
    if "model_cfg" not in data:
        raise ValueError(f"{folder / CONFIG_NAME} has no model_cfg")
    return data


def uses_hf_text(model_cfg: dict[str, Any]) -> bool:
    """True for towers from Hugging Face transformers (e.g. XLM-RoBERTa)."""
    return "hf_model_name" in model_cfg.get("text_cfg", {})
