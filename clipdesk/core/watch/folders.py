"""Watching folders with watchdog, and turning its events into hints.

An event never changes the catalog by itself: it only names a folder that should be
looked at (see :class:`~clipdesk.core.watch.dirty.DirtySet`). Events can be lost (a full
kernel queue), late, or missing entirely (network shares), so the watcher also looks at
everything at start-up, periodically and after any trouble reported here.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import threading
from collections.abc import Callable, Sequence

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedNoWriteEvent,
    FileOpenedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)

from clipdesk.core.imageio import is_image_path
from clipdesk.core.mediatypes import is_video_path
from clipdesk.core.watch.dirty import Scope, is_below

log = logging.getLogger(__name__)

LIMIT_ERRNOS = (errno.ENOSPC, errno.EMFILE)  # inotify watch or instance limit reached
_WATCHDOG_LOGGERS = ("watchdog.observers.inotify_c", "watchdog.observers.inotify")

Hint = Callable[[Scope], None]
Trouble = Callable[["bytes | None", str], None]  # root (None: every root), what happened


def _bytes(path: str | bytes) -> bytes:
    return path if isinstance(path, bytes) else os.fsencode(path)


def scopes_for(event: FileSystemEvent) -> list[Scope]:
    """The folders an event asks us to look at (none for opening or reading a file)."""
    if isinstance(event, FileOpenedEvent | FileClosedNoWriteEvent):
        return []
    paths = [_bytes(event.src_path)]
    if getattr(event, "dest_path", ""):
        paths.append(_bytes(event.dest_path))
    if event.is_directory:
        if isinstance(event, DirCreatedEvent | DirDeletedEvent | DirMovedEvent):
            return [Scope(p, recursive=True) for p in paths]  # may hold files already
        return [Scope(p) for p in paths]  # a folder's own listing changed
    if not any(is_image_path(os.fsdecode(p)) or is_video_path(p) for p in paths):
        return []  # e.g. a sidecar or a download's temporary name
    return [Scope(os.path.dirname(p)) for p in paths]


class _Handler(FileSystemEventHandler):
    def __init__(self, owner: FolderWatcher) -> None:
        self.owner = owner

    def on_any_event(self, event: FileSystemEvent) -> None:
        # Runs on watchdog's thread; must never raise, or the observer dies.
        try:
            self.owner._event(event)
        except Exception as exc:  # pragma: no cover - defensive
            self.owner._trouble(None, f"event handler failed: {exc}")


class _OverflowLog(logging.Handler):
    """watchdog reports a full kernel queue only in its log; listen there."""

    def __init__(self, owner: FolderWatcher) -> None:
        super().__init__(logging.WARNING)
        self.owner = owner

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self.owner._trouble(None, "file system events were lost (event queue overflowed)")


class FolderWatcher:
    """Hints for folders below some roots, from one watchdog observer.

    ``on_hint(scope)`` is called (on watchdog's thread) for every folder an event names;
    ``on_trouble(root, message)`` when events may have been lost: for one root, or for
    all (``root`` None). Paths below ``exclude`` (the library's own folder) are ignored.
    """

    def __init__(
        self,
        on_hint: Hint,
        on_trouble: Trouble,
        *,
        exclude: Sequence[bytes] = (),
        observer_factory: Callable[[], object] | None = None,
    ) -> None:
        self._on_hint, self._on_trouble = on_hint, on_trouble
        self._exclude = tuple(exclude)
        self._factory = observer_factory
        self._lock = threading.RLock()
        self._observer = None
        self._watches: dict[bytes, object] = {}
        self._handler = _Handler(self)
        self._log_handler = _OverflowLog(self)
        self.dropping = False  # tests set this to simulate lost events

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        with self._lock:
            for name in _WATCHDOG_LOGGERS:
                logger = logging.getLogger(name)
                logger.addHandler(self._log_handler)
                if logger.getEffectiveLevel() > logging.WARNING:
                    logger.setLevel(logging.WARNING)
            self._start_observer()

    def _start_observer(self) -> None:
        if self._factory is not None:
            observer = self._factory()
        else:
            from watchdog.observers import Observer

            observer = Observer()
        observer.start()  # type: ignore[attr-defined]
        self._observer = observer

    def stop(self) -> None:
        with self._lock:
            observer, self._observer = self._observer, None
            self._watches.clear()
            for name in _WATCHDOG_LOGGERS:
                logging.getLogger(name).removeHandler(self._log_handler)
        if observer is not None:
            observer.stop()  # type: ignore[attr-defined]
            observer.join(10)  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ roots
    def watch(self, root: bytes) -> None:
        """Start following ``root``; raises OSError (e.g. the inotify limit) if it cannot."""
        with self._lock:
            if self._observer is None:
                raise RuntimeError("the folder watcher is not running")
            if root in self._watches:
                return
            watch = self._observer.schedule(  # type: ignore[attr-defined]
                self._handler, os.fsdecode(root), recursive=True
            )
            self._watches[root] = watch

    def unwatch(self, root: bytes) -> None:
        with self._lock:
            watch = self._watches.pop(root, None)
            if watch is not None and self._observer is not None:
                with contextlib.suppress(KeyError, OSError):  # gone with its folder
                    self._observer.unschedule(watch)  # type: ignore[attr-defined]

    def watched(self) -> set[bytes]:
        with self._lock:
            return set(self._watches)

    def check(self) -> list[bytes]:
        """Roots whose events stopped (their folder went away, or the emitter failed).

        They are no longer watched; a dead observer is replaced, and every root it had
        is returned so the caller watches them again and looks at them.
        """
        with self._lock:
            observer = self._observer
            if observer is None:
                return []
            if not observer.is_alive():  # type: ignore[attr-defined]
                lost = list(self._watches)
                self._watches.clear()
                self._start_observer()
                return lost
            alive = {
                _bytes(e.watch.path)
                for e in observer.emitters  # type: ignore[attr-defined]
                if e.is_alive()
            }
            dead = [root for root in self._watches if root not in alive]
            for root in dead:
                self.unwatch(root)
            return dead

    # ------------------------------------------------------------------ events
    def _event(self, event: FileSystemEvent) -> None:
        if self.dropping:
            return
        for scope in scopes_for(event):
            if any(scope.directory == ex or is_below(scope.directory, ex) for ex in self._exclude):
                continue
            self._on_hint(scope)

    def _trouble(self, root: bytes | None, message: str) -> None:
        self._on_trouble(root, message)
