"""Files written whole or not at all, under names any file system accepts.

A crash, a SIGKILL or a full disk in the middle of a write must leave either the old
file or the new one, never half of one: everything clipdesk writes (settings, manifests,
index files, sidecars, caches) goes through :func:`atomic_path` or :func:`atomic_write`.
They write to a unique temporary name in the target's folder (so several writers never
share one), flush it to disk unless the file is a cache that is cheap to rebuild, and
rename it over the target, which is atomic on every platform clipdesk supports.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "atomic_write", "fsync_dir", "safe_file_name"]


def safe_file_name(text: str) -> str:
    """``text`` as one path component: letters, digits and ``-_.@`` kept, the rest ``_``.

    Used for every name made from data (model keys, for instance), so the same key maps
    to the same file name wherever it is stored.
    """
    return "".join(c if c.isalnum() or c in "-_.@" else "_" for c in text)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, durable: bool = True) -> Iterator[Path]:
    """A temporary path to write instead of ``path``; it replaces ``path`` on success.

    For writers that want a file name rather than bytes (``usearch``, ``np.savez``).
    On an error the temporary file is removed and ``path`` is left as it was.
    ``durable=False`` skips the flush to disk, for caches.
    """
    target = Path(path)
    tmp = _new_temporary(target)
    try:
        yield tmp
        if durable:
            _fsync(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(
    path: str | os.PathLike[str],
    data: bytes | str,
    *,
    encoding: str = "utf-8",
    durable: bool = True,
) -> None:
    """Write ``data`` (text is encoded with ``encoding``) so ``path`` is whole or old."""
    raw = data.encode(encoding) if isinstance(data, str) else data
    with atomic_path(path, durable=durable) as tmp:
        tmp.write_bytes(raw)


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    """Make the renames done in ``directory`` durable (nothing to do on Windows)."""
    if os.name == "nt":
        return
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _new_temporary(target: Path) -> Path:
    """A new empty file beside ``target``, created with the usual permissions (unlike
    ``tempfile.mkstemp``'s owner-only ones: a sidecar must stay readable by others)."""
    while True:
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return tmp


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
