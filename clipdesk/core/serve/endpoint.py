"""Where a clipdesk that has a library open can be asked to search it.

One endpoint per library: a Unix socket (a named pipe on Windows) in the user's runtime
folder, named after the library's location, and beside it a random key. A client proves
it runs as the same user by reading the key (``multiprocessing.connection``'s HMAC
challenge), and the folder itself is the user's alone: one that another user could
reach is never used.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from clipdesk.core.paths import runtime_dir

__all__ = ["Endpoint", "endpoint_for"]

PROTOCOL = 1  # bumped whenever a request or a reply changes shape
# The longest socket path, in bytes: sun_path holds 108 on Linux and 104 elsewhere,
# the final NUL included.
_MAX_SOCKET_PATH = 107 if sys.platform.startswith("linux") else 103
_KEY_BYTES = 32


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A library's socket (or pipe) address and the file holding its key."""

    address: str
    family: str  # "AF_UNIX", or "AF_PIPE" on Windows
    key_file: Path

    def read_key(self) -> bytes | None:
        """The key a running clipdesk wrote, or None when there is none to read."""
        try:
            key = self.key_file.read_bytes()
        except OSError:
            return None
        return key if len(key) == _KEY_BYTES else None

    def write_key(self) -> bytes:
        """A new random key, readable by this user only, replacing any earlier one."""
        key = secrets.token_bytes(_KEY_BYTES)
        partial = self.key_file.with_name(f"{self.key_file.name}.{os.getpid()}.partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, key)
        finally:
            os.close(fd)
        os.replace(partial, self.key_file)
        return key

    def remove_key(self) -> None:
        """Remove the key once nobody serves here any more (the socket goes with its
        listener)."""
        with contextlib.suppress(OSError):
            self.key_file.unlink()


def endpoint_for(location: str | os.PathLike[str], *, create: bool = False) -> Endpoint | None:
    """The endpoint of the library at ``location`` (as ``Library.location`` names it).

    None when the runtime folder is missing (and not ``create``), is not private to this
    user, or lies too deep for a socket's path.
    """
    folder = runtime_dir()
    if not _private_folder(folder, create=create):
        return None
    digest = hashlib.blake2b(
        f"{PROTOCOL}\0{os.fspath(location)}".encode("utf-8", "surrogateescape"),
        digest_size=8,
        person=b"clipdesk-serve",
    ).hexdigest()
    name = f"search-{digest}"
    if sys.platform == "win32":
        user = hashlib.blake2b(str(folder).encode("utf-8", "surrogateescape"), digest_size=6)
        address = rf"\\.\pipe\clipdesk-{user.hexdigest()}-{name}"
        return Endpoint(address, "AF_PIPE", folder / f"{name}.key")
    address = os.fspath(folder / f"{name}.sock")
    if len(os.fsencode(address)) > _MAX_SOCKET_PATH:
        return None
    return Endpoint(address, "AF_UNIX", folder / f"{name}.key")


def _private_folder(folder: Path, *, create: bool) -> bool:
    if create:
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            return False
    try:
        info = folder.stat()
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode):
        return False
    if sys.platform == "win32":
        return True  # under the user's own profile, which Windows keeps private
    return info.st_uid == os.getuid() and not info.st_mode & 0o077
