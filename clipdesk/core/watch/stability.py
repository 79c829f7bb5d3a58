"""Reading a file only once it has stopped changing; forgetting one only once it is gone.

A photo being copied in (from a camera, over the network) grows for a while; reading it
then gives a truncated image. A file counts as settled once two looks at least
``settle_s`` apart saw the same size and modification time. Likewise a catalogued file
is forgotten only once two looks that far apart missed it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from clipdesk.core.catalog.records import StatEntry

FORGET_AFTER_S = 3600.0


class Stabilizer:
    def __init__(self, settle_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.settle_s = settle_s
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[bytes, tuple[int, int, float]] = {}  # path -> size, mtime, first seen
        self._gone: dict[bytes, tuple[float, float]] = {}  # path -> first, last seen missing

    def wait_s(self, entry: StatEntry) -> float:
        """0 when ``entry`` may be read now; else how long to wait before looking again."""
        if self.settle_s <= 0:
            return 0.0
        now = self._clock()
        with self._lock:
            seen = self._seen.get(entry.path)
            if seen is not None and seen[:2] == (entry.size, entry.mtime_ns):
                waited = now - seen[2]
                if waited >= self.settle_s:
                    del self._seen[entry.path]
                    return 0.0
                return self.settle_s - waited
            self._seen[entry.path] = (entry.size, entry.mtime_ns, now)
            if len(self._seen) > 10_000:
                self._forget_old(now)
            return self.settle_s

    def gone_wait_s(self, path: bytes) -> float:
        """0 when a catalogued file has been missing for ``settle_s``; else how long to wait.

        A file that vanished may be on its way elsewhere (a folder moved, whose other
        end's events come later); waiting lets the move be recognised instead of the
        file being forgotten and read again.
        """
        if self.settle_s <= 0:
            return 0.0
        now = self._clock()
        window = max(30.0, 5 * self.settle_s)  # looks further apart: it was back between
        with self._lock:
            first, last = self._gone.get(path, (now, now))
            if now - last > window:
                first = now
            if now - first >= self.settle_s:
                self._gone.pop(path, None)
                return 0.0
            self._gone[path] = (first, now)
            if len(self._gone) > 10_000:
                self._forget_old(now)
            return self.settle_s - (now - first)

    def _forget_old(self, now: float) -> None:
        for path, (_, _, first) in list(self._seen.items()):
            if now - first > FORGET_AFTER_S:
                del self._seen[path]
        for path, (_, last) in list(self._gone.items()):
            if now - last > FORGET_AFTER_S:
                del self._gone[path]

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)
