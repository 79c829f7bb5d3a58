"""Keeping a library in step with its folders, on one background thread.

Events from :class:`FolderWatcher` only mark folders as due (debounced per folder); the
watcher's thread takes what is due and submits a look to the library's writer lane
(:meth:`Library.reconcile`), which compares it with the catalog, reads only files that
have stopped changing, embeds what is new, and tags the library again if photos
changed. The watcher waits for that job's progress and result; it holds no lock.
Everything is looked at on start-up, every ``full_reconcile_s`` and after lost events;
roots that cannot be trusted to raise events are polled. Nothing here imports Qt: the
GUI passes ``on_event`` and turns each :class:`WatchEvent` into a signal.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from clipdesk.core.progress import CancelToken
from clipdesk.core.watch.dirty import DirtySet, Scope
from clipdesk.core.watch.events import WatchEvent, WatchEventKind, WatchTotals
from clipdesk.core.watch.folders import FolderWatcher
from clipdesk.core.watch.following import RootFollower
from clipdesk.core.watch.reconcile import ReconcileReport
from clipdesk.core.watch.settings import WatchSettings
from clipdesk.core.watch.stability import Stabilizer

if TYPE_CHECKING:
    from clipdesk.core.decode_pool import DecodePool
    from clipdesk.core.library import Library

Kind = WatchEventKind
PROGRESS_EVERY_S = 0.25


@dataclass(frozen=True)
class WatchStatus:
    running: bool
    busy: bool
    waiting_folders: int  # folders due to be looked at
    unsettled_files: int  # files seen changing, waiting to settle
    roots: dict[str, str]  # root -> "events", "poll" or "offline"
    reasons: dict[str, str]  # root -> why it is polled
    totals: WatchTotals


class LibraryWatcher:
    """Follows every root of ``library`` until :meth:`stop`; see the module docstring.

    ``on_event`` is called on the watcher's thread and must return quickly; without it,
    events go to the :attr:`events` queue.
    """

    def __init__(
        self,
        library: Library,
        settings: WatchSettings | None = None,
        *,
        on_event: Callable[[WatchEvent], None] | None = None,
        observer_factory: Callable[[], object] | None = None,
    ) -> None:
        self.library = library
        self.settings = s = settings or WatchSettings()
        self.events: queue.Queue[WatchEvent] = queue.Queue()
        self.totals = WatchTotals()
        self._on_event = on_event
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._dirty = DirtySet(s.debounce_s, s.max_delay_s, on_change=self._wake.set)
        self._stability = Stabilizer(s.settle_s)
        exclude = library.store.excluded_folders()
        folders = FolderWatcher(
            self._dirty.hint, self._trouble, exclude=exclude, observer_factory=observer_factory
        )
        self._follower = RootFollower(folders, s, self._dirty, self._emit)
        self._requests: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
        self._full_requested = True  # the start-up look
        self._next_full = self._next_root_check = 0.0
        self._retry_at = 0.0
        self._failures = 0
        self._pool: DecodePool | None = None
        self._pool_used = 0.0
        self._cancel = CancelToken()
        self._cv = threading.Condition()
        self._idle = False
        self._looks = 0
        self._announced = -1  # the first idle is always announced
        self._thread: threading.Thread | None = None
        self._last_progress = 0.0
        self._told: set[tuple[str, str]] = set()

    # ------------------------------------------------------------------ public API
    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the watcher was already started")
        self._thread = threading.Thread(target=self._run, name="clipdesk-watch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 60.0) -> None:
        """Stop following changes; work in progress is kept, as after a cancel."""
        self._stopping.set()
        self._cancel.cancel()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def add_root(self, folder: str | os.PathLike[str]) -> None:
        """Add a folder to the library and follow it (done on the watcher's thread)."""
        self._request("add", os.fspath(folder))

    def remove_root(self, folder: str | os.PathLike[str]) -> None:
        """Stop following a root and forget its photos (their tags stay with the content)."""
        self._request("remove", os.fspath(folder))

    def reconcile_all(self) -> None:
        """Look at every root again soon, whatever the events said."""
        self._full_requested = True
        self._set_busy()
        self._wake.set()

    def wait_idle(self, timeout: float = 60.0, quiet_s: float = 0.3) -> bool:
        """Wait until nothing is due and nothing happened for ``quiet_s``; False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cv:
                if not self._cv.wait_for(
                    lambda: self._is_idle() or not self.running,
                    max(0.0, deadline - time.monotonic()),
                ):
                    return False
                looks = self._looks
            time.sleep(quiet_s)
            with self._cv:
                if self._is_idle() and self._looks == looks:
                    return True
                if not self.running:
                    return False
            if time.monotonic() > deadline:
                return False

    def status(self) -> WatchStatus:
        modes, reasons = self._follower.modes.snapshot()
        return WatchStatus(
            running=self.running,
            busy=not self._idle,
            waiting_folders=len(self._dirty),
            unsettled_files=len(self._stability),
            roots=modes,
            reasons=reasons,
            totals=replace(self.totals),
        )

    # ------------------------------------------------------------------ the thread
    def _run(self) -> None:
        from clipdesk.core.errors import LibraryError

        self._emit(Kind.STARTED)
        try:
            self._follower.start()
            while not self._stopping.is_set():
                self._step()
        except LibraryError as exc:  # e.g. the model cannot be loaded: nothing to retry
            self._emit(Kind.ERROR, str(exc))
        except Exception as exc:  # never die silently
            self._emit(Kind.ERROR, f"the watcher stopped: {type(exc).__name__}: {exc}")
        finally:
            self._close_pool()
            self._follower.stop()
            with self._cv:
                self._idle = False
                self._cv.notify_all()
            self._emit(Kind.STOPPED)

    def _step(self) -> None:
        self._wake.clear()
        now = time.monotonic()
        self._handle_requests()
        if now >= self._next_root_check:
            self._follower.check(self.library.catalog)
            self._next_root_check = now + self.settings.root_check_s
        if self._full_requested or now >= self._next_full:
            self._full_requested = False
            self._next_full = now + self.settings.full_reconcile_s
            for root in self.library.catalog.roots():
                self._dirty.schedule(Scope(root.path, recursive=True))
        for root in self._follower.polls_due(now):
            self._dirty.schedule(Scope(root, recursive=True))
        scopes = self._dirty.take_due() if now >= self._retry_at else []
        if scopes:
            self._set_busy()
            self._look(scopes)
            return
        self._become_idle()
        if self._pool is not None and now - self._pool_used > self.settings.pool_idle_s:
            self._close_pool()
        wake_at = [self._next_root_check, self._next_full, self._follower.modes.next_poll()]
        wake_at.append(max(self._dirty.next_due() or float("inf"), self._retry_at))
        self._wake.wait(max(0.01, min(wake_at) - time.monotonic()))

    def _look(self, scopes: list[Scope]) -> None:
        from clipdesk.core.errors import LibraryError

        s = self.settings
        self._cancel = cancel = CancelToken()
        if self._stopping.is_set():
            return
        try:
            job = self.library.reconcile(
                scopes,
                stability=self._stability,
                cancel=cancel,
                batch_size=s.batch_size,
                pool=self._get_pool(),
                retag=s.retag,
            )
            report = self._drive(job)
        except LibraryError:
            raise
        except Exception as exc:
            self._failures += 1
            backoff = min(60.0, 2.0**self._failures)
            self._retry_at = time.monotonic() + backoff
            for scope in scopes:
                self._dirty.schedule(scope, backoff)
            message = f"looking at folders failed ({exc}); trying again in {backoff:g} s"
            self._emit(Kind.ERROR, message)
            return
        self._failures = 0
        self.totals.add(report)
        if report.cancelled and not self._stopping.is_set():
            for scope in scopes:
                self._dirty.schedule(scope)
        for folder, wait in report.unsettled.items():
            self._dirty.schedule(Scope(folder), wait + 0.05)
        self._report(report)
        self._follower.sync(self.library.catalog.roots())

    def _drive(self, job: object) -> ReconcileReport:
        stage = None
        try:
            while True:
                step = next(job)  # type: ignore[call-overload]
                now = time.monotonic()
                # Every stage's start is told (the photos are searchable once "read"
                # starts), and at most a few steps a second in between.
                due = now - self._last_progress >= PROGRESS_EVERY_S or step.done == step.total
                if due or step.stage != stage:
                    self._last_progress, stage = now, step.stage
                    self._emit(Kind.PROGRESS, progress=step)
        except StopIteration as stop:
            return stop.value
        finally:
            job.close()  # type: ignore[attr-defined]

    def _report(self, report: ReconcileReport) -> None:
        for root in report.offline_roots:
            self._emit(Kind.OFFLINE, f"{root} is not reachable; its photos are kept", root=root)
        for root in report.online_roots:
            self._emit(Kind.ONLINE, f"{root} is back", root=root)
        for path, why in report.folder_errors:
            if (path, why) not in self._told:  # once, not at every poll
                self._told.add((path, why))
                self._emit(Kind.MESSAGE, f"cannot list {path}: {why}")
        for key in report.models_missing:
            if ("models", key) not in self._told:  # once: it stands until they arrive
                self._told.add(("models", key))
                self._emit(Kind.MESSAGE, _missing_models_message(key))
        changed = (report.added, report.changed, report.moved, report.removed, report.decoded)
        if any(changed) or report.skipped or report.offline_roots or report.online_roots:
            with self._cv:
                self._looks += 1  # something happened: wait_idle waits for quiet again
            self._emit(Kind.UPDATED, report=report)

    # ------------------------------------------------------------------ roots
    def _handle_requests(self) -> None:
        from clipdesk.core.errors import LibraryError

        while True:
            try:
                action, folder = self._requests.get_nowait()
            except queue.Empty:
                return
            try:
                if action == "add":
                    root = self.library.add_root(folder)
                    self._dirty.schedule(Scope(root.path, recursive=True))
                else:
                    self.library.remove_root(folder)
                    self._dirty.discard_below(os.fsencode(os.path.realpath(folder)))
                    self._emit(Kind.MESSAGE, f"no longer following {folder}")
            except LibraryError as exc:
                self._emit(Kind.ERROR, str(exc))
            self._follower.sync(self.library.catalog.roots())

    def _trouble(self, root: bytes | None, message: str) -> None:
        """Events were lost (called from watchdog's threads): look at everything again."""
        self._full_requested = True
        self._emit(Kind.MESSAGE, f"{message}; looking at every folder again")
        self._set_busy()
        self._wake.set()

    def _request(self, action: str, folder: str) -> None:
        self._requests.put((action, folder))
        self._set_busy()
        self._wake.set()

    # ------------------------------------------------------------------ helpers
    def _get_pool(self) -> DecodePool:
        if self._pool is None:
            from clipdesk.core.decode_pool import DecodePool
            from clipdesk.core.decode_task import decode_file, job_timeout
            from clipdesk.core.indexer import default_decode_workers

            s = self.settings
            self._pool = DecodePool(
                decode_file,
                workers=s.workers or default_decode_workers(),
                timeout_s=s.decode_timeout_s,
                memory_limit_mb=s.memory_limit_mb,
                timeout_for=job_timeout,
            )
        self._pool_used = time.monotonic()
        return self._pool

    def _close_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def _is_idle(self) -> bool:
        return (
            self._idle
            and not self._full_requested
            and len(self._dirty) == 0
            and self._requests.empty()
        )

    def _set_busy(self) -> None:
        with self._cv:
            self._idle = False

    def _become_idle(self) -> None:
        with self._cv:
            if self._idle or len(self._dirty) or not self._requests.empty():
                return
            self._idle = True
            self._cv.notify_all()
            announce = self._looks != self._announced  # not after every quiet poll
            self._announced = self._looks
        if announce:
            self._emit(Kind.IDLE)

    def _emit(
        self,
        kind: WatchEventKind,
        message: str = "",
        *,
        root: str | None = None,
        progress: object = None,
        report: ReconcileReport | None = None,
    ) -> None:
        event = WatchEvent(kind, message, root, progress, report)  # type: ignore[arg-type]
        if self._on_event is None:
            self.events.put(event)
            return
        with contextlib.suppress(Exception):  # a consumer's bug must not stop the watcher
            self._on_event(event)


def _missing_models_message(key: str) -> str:
    from clipdesk.core.models.readers import readers_named

    readers = readers_named(key)
    return readers.hint() if readers is not None else f"the {key} models are not installed"
