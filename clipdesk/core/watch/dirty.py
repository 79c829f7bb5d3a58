"""Folders waiting to be looked at, each with the time it is due (per-folder debounce)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Scope:
    """A folder to compare with the catalog: only its own files, or everything below."""

    directory: bytes
    recursive: bool = False

    def covers(self, other: Scope) -> bool:
        """Whether looking at this scope also looks at ``other``."""
        if self.directory == other.directory:
            return self.recursive or not other.recursive
        return self.recursive and is_below(other.directory, self.directory)


def is_below(path: bytes, folder: bytes) -> bool:
    """Whether ``path`` lies strictly inside ``folder``."""
    return path.startswith(folder.rstrip(os.sep.encode()) + os.sep.encode())


def collapse(scopes: list[Scope]) -> list[Scope]:
    """Drop scopes another one in the list already covers."""
    ordered = sorted(set(scopes), key=lambda s: (not s.recursive, len(s.directory)))
    kept: list[Scope] = []
    for scope in ordered:
        if not any(k.covers(scope) for k in kept):
            kept.append(scope)
    return kept


class DirtySet:
    """Scopes with due times. A hint pushes a scope's time back by ``debounce_s`` (a
    folder is looked at once it has been quiet), but never past ``max_delay_s`` after
    its first hint, so a folder that never goes quiet is still looked at."""

    def __init__(
        self,
        debounce_s: float,
        max_delay_s: float,
        *,
        on_change: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.debounce_s, self.max_delay_s = debounce_s, max_delay_s
        self._clock = clock
        self._on_change = on_change
        self._lock = threading.Lock()
        self._due: dict[Scope, tuple[float, float]] = {}  # scope -> (due, first hint)

    def hint(self, scope: Scope) -> None:
        """Something happened in ``scope``: look at it once things are quiet."""
        now = self._clock()
        with self._lock:
            _, first = self._due.get(scope, (0.0, now))
            self._due[scope] = (min(now + self.debounce_s, first + self.max_delay_s), first)
        if self._on_change is not None:
            self._on_change()

    def schedule(self, scope: Scope, delay_s: float = 0.0) -> None:
        """Look at ``scope`` after ``delay_s`` (sooner if it is already due sooner)."""
        now = self._clock()
        with self._lock:
            due, first = self._due.get(scope, (now + delay_s, now))
            self._due[scope] = (min(due, now + delay_s), first)
        if self._on_change is not None:
            self._on_change()

    def take_due(self) -> list[Scope]:
        """Remove and return the scopes that are due, with any scope they cover."""
        now = self._clock()
        with self._lock:
            due = [s for s, (t, _) in self._due.items() if t <= now]
            if not due:
                return []
            taken = collapse(due)
            for scope in list(self._due):
                if any(t.covers(scope) for t in taken):
                    del self._due[scope]
            return taken

    def next_due(self) -> float | None:
        with self._lock:
            return min((t for t, _ in self._due.values()), default=None)

    def discard_below(self, folder: bytes) -> None:
        with self._lock:
            for scope in list(self._due):
                if scope.directory == folder or is_below(scope.directory, folder):
                    del self._due[scope]

    def __len__(self) -> int:
        with self._lock:
            return len(self._due)
