"""The lock that lets one process at a time write to a library.

Each process keeps its own copy of the vector index in memory and saves it whole; two
processes indexing one library at once each saved theirs over the other's, and
thousands of vectors went missing from the index file. The writer lane therefore holds
this lock (a file beside the catalog, through ``filelock``) for the length of every long
job, and catches up with what another process wrote before it starts.
"""

from __future__ import annotations

from pathlib import Path

from filelock import FileLock, Timeout

from clipdesk.core.errors import LibraryError

__all__ = ["LOCK_FILE", "FileWriteGuard"]

LOCK_FILE = "writer.lock"


class FileWriteGuard:
    """A :class:`clipdesk.core.lane.WriteGuard` over ``directory / writer.lock``."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / LOCK_FILE
        # Not thread-local: the lane's thread takes it, and a closing thread may release.
        self._lock = FileLock(self.path, thread_local=False)

    def try_acquire(self) -> bool:
        """Take the lock if it is free; LibraryError where the library cannot be written
        (a read-only or immutable folder: no lock file can be made, nor any change)."""
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return False
        except OSError as exc:
            raise LibraryError(
                f"the library {self.directory} is read-only: reading works, changing it "
                f"does not ({exc.strerror or exc})"
            ) from exc
        return True

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release()

    @property
    def held(self) -> bool:
        return self._lock.is_locked
