"""ONNX Runtime's optimised models, cached per model file, so a new process skips graph
optimisation.

Creating a session optimises the graph first (fusing layers, folding constants), every
time: about half of a text tower's session start, which a cold ``clipdesk search`` waits
for. ONNX Runtime can save the optimised graph (``SessionOptions.optimized_model_filepath``)
and load it with optimisation off. The copy is kept under the cache, named by the SHA-256
of the model file it came from, ONNX Runtime's version and the machine (a graph
optimised at the highest level may use this processor's layouts), so a changed file,
an upgrade or another computer never loads a stale one. The SHA-256 of a file is
computed once and remembered by its path, size and modification time, so later starts
hash nothing. Only CPU sessions use it; a cache that cannot be written just means no
copy (the session is made from the original, as before).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
from pathlib import Path

from clipdesk.core import paths
from clipdesk.core.files import atomic_path

FOLDER = "onnx-optimised"


def _folder() -> Path:
    return paths.cache_dir() / FOLDER


def file_sha256(path: Path) -> str:
    """The SHA-256 of the model file, hashed once per path, size and modification time."""
    stat = path.stat()
    stamp = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    key = hashlib.blake2b(os.fsencode(stamp), digest_size=16).hexdigest()
    remembered = _folder() / "digests" / key
    with contextlib.suppress(OSError, UnicodeDecodeError):
        digest = remembered.read_text("ascii").strip()
        if len(digest) == 64:
            return digest
    with open(path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    with contextlib.suppress(OSError):
        remembered.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(remembered, durable=False) as tmp:
            tmp.write_text(digest, "ascii")
    return digest


def optimised_path(path: Path, ort_version: str) -> Path | None:
    """Where the optimised copy of ``path`` is kept (it may not exist yet), or None when
    the model file cannot be read."""
    try:
        digest = file_sha256(path)
    except OSError:
        return None
    machine = (platform.machine() or "any").lower()
    return _folder() / f"{digest[:40]}-ort{ort_version}-{machine}.onnx"


def writing_path(target: Path) -> Path | None:
    """A private name to have ONNX Runtime write the optimised copy under (renamed into
    place once whole, so another process never reads half of it), or None when the
    cache cannot be written."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return target.with_name(f".{target.name}.{os.getpid()}.tmp")


def keep(written: Path, target: Path) -> None:
    """Put a copy ONNX Runtime wrote in place; a copy that cannot be kept is dropped."""
    try:
        os.replace(written, target)
    except OSError:
        with contextlib.suppress(OSError):
            written.unlink()


def forget(target: Path) -> None:
    """Drop a copy that would not load: the next session makes it again."""
    with contextlib.suppress(OSError):
        target.unlink()
