"""Putting a model folder in place: built beside it, then swapped in with renames.

Downloading and importing both build the new model folder under a hidden staging name
next to its final place (``.NAME.download``, ``.NAME.import``), write its open_clip
config and manifest last, and only then swap it in. A crash at any point leaves the old
model (or none) and some staging to clean up, never a folder that mixes the two.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from clipdesk.core.models.manifest import Manifest, write_manifest
from clipdesk.core.models.openclip_config import write_open_clip_config
from clipdesk.core.preprocess import PreprocessConfig

__all__ = ["fresh_staging", "install_staged", "staging_dir", "swap_into_place"]


def staging_dir(final: Path, purpose: str) -> Path:
    """Where a model headed for ``final`` is built (``purpose``: download or import)."""
    return final.with_name(f".{final.name}.{purpose}")


@contextlib.contextmanager
def fresh_staging(final: Path, purpose: str) -> Iterator[Path]:
    """An empty staging folder for ``final``; removed again if the block fails."""
    staging = staging_dir(final, purpose)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def install_staged(
    staging: Path,
    final: Path,
    *,
    model_cfg: dict[str, Any],
    preprocess: PreprocessConfig,
    manifest: Manifest,
) -> None:
    """Complete a staging folder whose weights are in place, and swap it in: the config
    and manifest are written last, so a folder with a manifest is a whole model."""
    write_open_clip_config(staging, model_cfg, preprocess)
    write_manifest(staging, manifest)
    swap_into_place(staging, final)


def swap_into_place(staging: Path, final: Path) -> None:
    """Replace ``final`` by ``staging`` with renames only, so a crash never mixes them."""
    old = final.with_name(f".{final.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        os.replace(final, old)
    os.replace(staging, final)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)
