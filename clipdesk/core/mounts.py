"""This computer's mounts of libraries' roots, kept in its own settings.

A shared library's roots are stored at the path they were first added at; a computer
that sees a root elsewhere records where, here, in ``mounts.json`` in its config folder
(``CLIPDESK_CONFIG_DIR``), never in the shared database, where each computer would
overwrite the others' answer. The file maps a library's identity (the ``library_id`` in
its catalog, which a copy of the library keeps) and a root's id to a local folder:
``{"<library id>": {"<root id>": "/Volumes/photos"}}``.
:func:`mount_map` turns it into the catalog's :class:`MountMap` when a library opens.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from clipdesk.core import paths
from clipdesk.core.catalog.mounts import MountMap
from clipdesk.core.errors import FolderError

if TYPE_CHECKING:
    from clipdesk.core.catalog import Catalog

__all__ = ["MOUNTS_FILE", "mount_map", "mounts_of", "set_mount"]

MOUNTS_FILE = "mounts.json"


def _file() -> Path:
    return paths.config_dir() / MOUNTS_FILE


def _read() -> dict[str, dict[str, str]]:
    path = _file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise FolderError(f"cannot read this computer's mounts in {path}: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise FolderError(f"cannot read this computer's mounts in {path}: not a mounts file")
    return data


def mounts_of(library_id: str) -> dict[int, str]:
    """Where this computer sees the library's roots: root id to local folder."""
    return {int(k): str(v) for k, v in _read().get(library_id, {}).items() if k.isdigit()}


def set_mount(library_id: str, root_id: int, local: str | None) -> None:
    """Record (or with ``None`` forget) where this computer sees a root. The file is
    replaced whole (written beside it, then renamed), so a crash leaves the old one."""
    data = _read()
    mine = data.setdefault(library_id, {})
    if local is None:
        mine.pop(str(root_id), None)
    else:
        mine[str(root_id)] = local
    if not mine:
        del data[library_id]
    folder = paths.ensure_folder(paths.config_dir(), "config folder")
    fd, tmp = tempfile.mkstemp(prefix=".mounts-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, _file())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def mount_map(catalog: Catalog) -> MountMap:
    """The translation for ``catalog`` on this computer (empty when it mounts nothing)."""
    library_id = catalog.library_id(create=False)  # none yet: nothing mounted either
    if library_id is None:
        return MountMap()
    mounted = mounts_of(library_id)
    if not mounted:
        return MountMap()
    stored = catalog.stored_roots()
    return MountMap((stored[i], os.fsencode(local)) for i, local in mounted.items() if i in stored)
