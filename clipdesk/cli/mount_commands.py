"""`clipdesk library roots / mount / unmount`: where this computer sees a library's roots.

A shared library stores each root at the path it was first added at; a computer that
mounts it elsewhere says where once, and keeps that in its own settings (see
``clipdesk.core.mounts``). JSON: a list (``roots``) or one object (``mount``,
``unmount``) of ``{"id", "path", "stored_path", "mounted", "online"}``: ``path`` is where
this computer sees the root, ``stored_path`` where the library stores it, ``mounted``
whether the two differ by this computer's choice.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clipdesk.core.catalog import RootRecord
    from clipdesk.core.library import Library

__all__ = ["add_subparsers"]


def add_subparsers(sub: argparse._SubParsersAction) -> None:
    from clipdesk.cli.checks import non_empty

    p = sub.add_parser(
        "roots", help="the library's roots: id, where this computer sees each, where it is stored"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_roots)

    p = sub.add_parser(
        "mount", help="say where this computer sees a root (a NAS mounted at another path)"
    )
    p.add_argument("root", type=non_empty, metavar="ROOT", help="the root's id or path")
    p.add_argument("folder", type=non_empty, metavar="LOCAL_PATH", help="where it is here")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_mount)

    p = sub.add_parser("unmount", help="see a root at the path the library stores it at again")
    p.add_argument("root", type=non_empty, metavar="ROOT", help="the root's id or path")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_mount)


def _entry(root: RootRecord, stored_roots: dict[int, bytes]) -> dict[str, object]:
    stored = os.fsdecode(stored_roots.get(root.id, root.path))
    return {"id": root.id, "path": root.fspath, "stored_path": stored,
            "mounted": stored != root.fspath, "online": root.online}  # fmt: skip


def _show(entries: list[dict[str, object]], as_json: bool, one: bool) -> None:
    from clipdesk.cli.output import one_line, print_json

    if as_json:
        print_json(entries[0] if one else entries)
        return
    for e in entries:
        line = f"{e['id']}  {one_line(str(e['path']))}"
        if e["mounted"]:
            line += f"  (stored as {one_line(str(e['stored_path']))})"
        print(line + ("" if e["online"] else "  (offline)"))


def cmd_roots(args: argparse.Namespace) -> int:
    from clipdesk.cli.library_commands import with_library

    def action(library: Library) -> int:
        stored = library.catalog.stored_roots()
        _show([_entry(r, stored) for r in library.roots()], args.json, one=False)
        return 0

    return with_library(args, action)


def cmd_mount(args: argparse.Namespace) -> int:
    """``library mount ROOT LOCAL_PATH``, and ``library unmount ROOT`` (no folder: the
    path the library stores it at)."""
    from clipdesk.cli.library_commands import with_library

    def action(library: Library) -> int:
        root = library.mount_root(args.root, getattr(args, "folder", None))
        _show([_entry(root, library.catalog.stored_roots())], args.json, one=True)
        return 0

    return with_library(args, action)
