"""How each root is being followed: by events, by polling, or not at all (offline)."""

from __future__ import annotations

import os
import threading


def _identity(path: bytes) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


class RootModes:
    """Per root: its mode, why it is polled, when it is next polled, and which folder
    (device and inode) was being followed, to notice a root replaced by another folder
    at the same path (a drive plugged in again, a share mounted again)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mode: dict[bytes, str] = {}
        self._reason: dict[bytes, str] = {}
        self._identity: dict[bytes, tuple[int, int] | None] = {}
        self._next_poll: dict[bytes, float] = {}

    def set(
        self, root: bytes, mode: str, reason: str | None = None, *, first_poll: float = 0.0
    ) -> None:
        with self._lock:
            self._mode[root] = mode
            self._reason.pop(root, None)
            self._next_poll.pop(root, None)
            if reason:
                self._reason[root] = reason
            if mode == "poll":
                self._next_poll[root] = first_poll
            self._identity[root] = _identity(root) if mode != "offline" else None

    def mode(self, root: bytes) -> str | None:
        with self._lock:
            return self._mode.get(root)

    def forget(self, root: bytes) -> None:
        with self._lock:
            for table in (self._mode, self._reason, self._identity, self._next_poll):
                table.pop(root, None)

    def roots(self) -> set[bytes]:
        with self._lock:
            return set(self._mode)

    def replaced(self, root: bytes) -> bool:
        """Whether the folder at ``root`` is no longer the one being followed."""
        with self._lock:
            if self._mode.get(root) not in ("events", "poll"):
                return False
            expected = self._identity.get(root)
        return expected is not None and _identity(root) != expected

    def polls_due(self, now: float, interval_s: float) -> list[bytes]:
        with self._lock:
            due = [root for root, at in self._next_poll.items() if at <= now]
            for root in due:
                self._next_poll[root] = now + interval_s
            return due

    def next_poll(self) -> float:
        with self._lock:
            return min(self._next_poll.values(), default=float("inf"))

    def snapshot(self) -> tuple[dict[str, str], dict[str, str]]:
        with self._lock:
            modes = {os.fsdecode(r): m for r, m in self._mode.items()}
            reasons = {os.fsdecode(r): why for r, why in self._reason.items()}
        return modes, reasons
