"""Reading a file's bytes without trusting the file: size limits, odd file types, and a
short reason for every way it can fail; and the content fingerprint of those bytes."""

from __future__ import annotations

import errno
import hashlib
import os
import stat

from clipdesk.core.errors import ImageReadError

__all__ = ["DEFAULT_MAX_FILE_BYTES", "file_fingerprint", "read_file_bytes"]

DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024


def file_fingerprint(data: bytes) -> str:
    """Content identity of a file (BLAKE2b-128, hex): moves and copies keep it."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _os_reason(exc: OSError) -> str:
    code = exc.errno
    if isinstance(exc, PermissionError) or code in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, IsADirectoryError):
        return "is a directory"
    if code == errno.ELOOP:
        return "symlink loop"
    if code == errno.ENAMETOOLONG:
        return "path too long"
    if code == errno.EIO:
        return "input/output error"
    return "cannot read file"


def read_file_bytes(
    path: str | bytes | os.PathLike[str] | os.PathLike[bytes],
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> bytes:
    """Read a whole regular file, refusing what is not one or is larger than ``max_bytes``.

    Opened non-blocking so that a FIFO or device named ``*.jpg`` cannot hang a worker.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ImageReadError(_os_reason(exc), str(exc)) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ImageReadError("is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise ImageReadError("not a regular file")
        if info.st_size > max_bytes:
            raise ImageReadError("file too large", f"{info.st_size} bytes")
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:  # grew while we read it
                raise ImageReadError("file too large", f"over {max_bytes} bytes")
        return b"".join(chunks)
    except OSError as exc:
        raise ImageReadError(_os_reason(exc), str(exc)) from None
    finally:
        os.close(fd)
