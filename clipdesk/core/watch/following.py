"""Deciding how each root is followed, and keeping watchdog's watches in step.

A root is followed by file system events where they can be trusted; by polling where
settings ask for it, where it is a network share, or where events cannot be had (the
inotify watch limit, an observer that fails); and not at all while it is offline.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence

from clipdesk.core.catalog import Catalog, RootRecord
from clipdesk.core.watch.dirty import DirtySet, Scope
from clipdesk.core.watch.events import WatchEventKind
from clipdesk.core.watch.folders import LIMIT_ERRNOS, FolderWatcher
from clipdesk.core.watch.fstype import polling_reason
from clipdesk.core.watch.reconcile import is_available
from clipdesk.core.watch.roots import RootModes
from clipdesk.core.watch.settings import WatchMode, WatchSettings

Emit = Callable[..., None]  # (kind, message, root=...)


class RootFollower:
    def __init__(
        self,
        folders: FolderWatcher | None,
        settings: WatchSettings,
        dirty: DirtySet,
        emit: Emit,
    ) -> None:
        self.folders = folders
        self.settings = settings
        self.modes = RootModes()
        self._dirty = dirty
        self._emit = emit

    def start(self) -> None:
        if self.folders is None:
            return
        try:
            self.folders.start()
        except Exception as exc:
            self.folders = None
            self._emit(WatchEventKind.MESSAGE, f"file system events are unavailable ({exc})")

    def stop(self) -> None:
        if self.folders is not None:
            self.folders.stop()

    def check(self, catalog: Catalog) -> None:
        """Notice roots that were unplugged, came back, or were replaced under us."""
        if self.folders is not None:
            for root in self.folders.check():  # their events stopped
                self.modes.forget(root)
                self._dirty.schedule(Scope(root, recursive=True))
        roots = catalog.roots()
        for root in roots:
            if is_available(catalog, root) != root.online:
                self._dirty.schedule(Scope(root.path, recursive=True))
            elif root.online and self.modes.replaced(root.path):
                self._unwatch(root.path)
                self.modes.forget(root.path)
                self._dirty.schedule(Scope(root.path, recursive=True))
        self.sync(roots)

    def sync(self, roots: Sequence[RootRecord]) -> None:
        """Follow every online root, stop following offline and removed ones."""
        for path in self.modes.roots() - {r.path for r in roots}:
            self._unwatch(path)
            self.modes.forget(path)
        for root in roots:
            if not root.online:
                if self.modes.mode(root.path) != "offline":
                    self._unwatch(root.path)
                    self.modes.set(root.path, "offline")
            elif self.modes.mode(root.path) in (None, "offline"):
                self._follow(root.path)

    def polls_due(self, now: float) -> list[bytes]:
        return self.modes.polls_due(now, self.settings.poll_interval_s)

    def _follow(self, root: bytes) -> None:
        s = self.settings
        name = os.fsdecode(root)
        reason = None
        if s.mode == WatchMode.POLL or any(
            os.path.realpath(p) == os.path.realpath(name) for p in s.poll_folders
        ):
            reason = "chosen in settings"
        elif self.folders is None:
            reason = "file system events are not available"
        elif s.mode == WatchMode.AUTO:
            reason = polling_reason(name)
        if reason is None:
            assert self.folders is not None
            try:
                self.folders.watch(root)
                self.modes.set(root, "events")
                message = f"following {name} by file system events"
                self._emit(WatchEventKind.MODE, message, root=name)
                return
            except OSError as exc:
                if exc.errno in LIMIT_ERRNOS:
                    reason = (
                        f"the inotify limit was reached ({exc.strerror}); raise "
                        "fs.inotify.max_user_watches to follow it by events"
                    )
                else:
                    reason = f"file system events failed ({exc})"
        self.modes.set(root, "poll", reason, first_poll=time.monotonic() + s.poll_interval_s)
        message = f"checking {name} every {s.poll_interval_s:g} s: {reason}"
        self._emit(WatchEventKind.MODE, message, root=name)

    def _unwatch(self, root: bytes) -> None:
        if self.folders is not None:
            self.folders.unwatch(root)
