"""Checks on command-line arguments, made before a command changes anything.

The argparse types here turn a bad number or an empty name into bad usage (exit 2) at
parse time, so no command starts work it cannot finish. The functions that need the
library (is this folder in it?) raise :class:`~clipdesk.cli.CliError` (exit 1).
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from clipdesk.cli.output import shown

if TYPE_CHECKING:
    from clipdesk.core.catalog.records import RootRecord


def _number(text: str, kind: type[int] | type[float]) -> int | float:
    try:
        value = kind(text)
    except (ValueError, OverflowError):
        what = "a whole number" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"expected {what}, got {shown(text)!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {shown(text)!r}")
    return value


def positive_int(text: str) -> int:
    """A count of at least 1 (results, workers, pictures, batch size)."""
    value = int(_number(text, int))
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def positive_seconds(text: str) -> float:
    """A time in seconds above zero (an interval that would spin otherwise)."""
    value = float(_number(text, float))
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {shown(text)}")
    return value


def non_negative_seconds(text: str) -> float:
    value = float(_number(text, float))
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 seconds or more, got {shown(text)}")
    return value


def similarity(text: str) -> float:
    """A cosine similarity threshold in (0, 1]."""
    value = float(_number(text, float))
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most 1, got {shown(text)}")
    return value


def non_empty(text: str) -> str:
    """A name or path that must not be empty (an empty path would mean the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def _kind(path: Path) -> str:
    """ "dir", "file", "other" or "missing"; a path the system cannot even look at
    (longer than PATH_MAX, below a file) counts as missing."""
    try:
        mode = path.stat().st_mode
    except (OSError, ValueError):
        return "missing"
    import stat

    if stat.S_ISDIR(mode):
        return "dir"
    return "file" if stat.S_ISREG(mode) else "other"


def regular_file(text: str) -> Path:
    """A file to read: it must exist and be a plain file (a fifo would wait forever)."""
    from clipdesk.cli.errors import CliError

    path = Path(text).expanduser()
    kind = _kind(path)
    if kind == "missing":
        raise CliError(f"no such file: {shown(text)}")
    if kind != "file":
        raise CliError(f"not a plain file: {shown(text)}")
    return path


def existing_folders(paths: Sequence[str]) -> list[Path]:
    """Every one of ``paths`` as a folder, checked before any of them is added."""
    from clipdesk.cli.errors import CliError

    folders = []
    for text in paths:
        path = Path(text).expanduser()
        kind = _kind(path)
        if kind == "missing":
            raise CliError(f"no such folder: {shown(text)}")
        if kind != "dir":
            raise CliError(f"not a folder: {shown(text)}")
        if not os.access(path, os.R_OK | os.X_OK):
            raise CliError(f"cannot read folder: {shown(text)}")
        folders.append(path)
    return folders


def containing_root(folder: str | os.PathLike[str], roots: Sequence[RootRecord]) -> bytes | None:
    """The root ``folder`` is (or is inside), if any."""
    target = os.fsencode(os.path.abspath(Path(folder).expanduser()))
    try:
        resolved = os.fsencode(Path(folder).expanduser().resolve())
    except (OSError, RuntimeError):
        resolved = target
    sep = os.sep.encode()
    for root in roots:
        base = root.path.rstrip(sep)
        for candidate in (target, resolved):
            if candidate == base or candidate.startswith(base + sep):
                return root.path
    return None


def check_search_folder(folder: str, roots: Sequence[RootRecord]) -> None:
    """``--folder`` must name a folder the library holds photos in, or contains."""
    from clipdesk.cli.errors import CliError

    path = Path(folder).expanduser()
    root = containing_root(folder, roots)
    if root is None:
        target = os.fsencode(os.path.abspath(path)).rstrip(os.sep.encode()) + os.sep.encode()
        if any(r.path.startswith(target) for r in roots):
            return  # a folder above some roots: their photos are below it
        if _kind(path) == "missing":
            raise CliError(f"no such folder: {shown(folder)}")
        raise CliError(
            f"{shown(folder)} is not in this library; `clipdesk roots` lists its folders"
        )
    online = next(r.online for r in roots if r.path == root)
    if online and _kind(path) != "dir":
        raise CliError(f"no such folder: {shown(folder)}")


def tag_name(text: str) -> str:
    """A tag name as typed: text that is valid UTF-8 and not empty. (The tag service
    checks the rest: length, '|' and ';'.)"""
    if not text.strip():
        raise argparse.ArgumentTypeError("a tag needs a name")
    return utf8_text(text)


def utf8_text(text: str) -> str:
    """Text that can be stored and shown: valid UTF-8 (it may be empty)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise argparse.ArgumentTypeError(f"expected UTF-8 text, got {shown(text)!r}") from None
    return text
