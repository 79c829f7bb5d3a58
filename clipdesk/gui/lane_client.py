"""The window's side of the library's writer lane: submit, and hear back on the GUI thread.

The lane calls its listeners on its own thread; this object turns each call into a
queued signal, so every callback handed in here runs on the GUI thread, and the GUI
thread itself never waits for the writer.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from clipdesk.core.lane import JobHandle, WriterLane
    from clipdesk.core.progress import CancelToken, Progress

Done = Callable[[Any], None]
Failed = Callable[[BaseException], None]


@dataclass
class _Callbacks:
    progress: Callable[[Progress], None] | None
    done: Done | None
    failed: Failed | None
    paused: Callable[[], None] | None = None


class LaneClient(QObject):
    """Submits jobs to a :class:`WriterLane`; progress and results come back as calls on
    the GUI thread (see the module docstring)."""

    _stepped = Signal(object, object)  # key, Progress (emitted on the lane's thread)
    _ended = Signal(object, object)  # key, JobHandle (emitted on the lane's thread)
    _held = Signal(object)  # key: a pause took hold (emitted on the lane's thread)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pending: dict[object, _Callbacks] = {}
        self._stepped.connect(self._on_step)  # queued: the lane emits from its thread
        self._ended.connect(self._on_end)
        self._held.connect(self._on_held)

    @property
    def busy(self) -> bool:
        """Whether a job submitted here has not reported its end yet."""
        return bool(self._pending)

    def submit(
        self,
        lane: WriterLane,
        job: Generator[Progress, None, Any],
        *,
        name: str,
        cancel: CancelToken | None = None,
        progress: Callable[[Progress], None] | None = None,
        done: Done | None = None,
        failed: Failed | None = None,
        paused: Callable[[], None] | None = None,
    ) -> JobHandle[Any]:
        """A long job: it runs after the long jobs submitted before it. ``paused`` is
        called once a pause asked of the job has taken hold."""
        key = object()
        self._pending[key] = _Callbacks(progress, done, failed, paused)
        handle = lane.submit(
            job,
            cancel=cancel,
            name=name,
            on_progress=lambda step: self._stepped.emit(key, step),
            on_done=lambda handle: self._ended.emit(key, handle),
        )
        handle.add_pause_listener(lambda: self._held.emit(key))
        return handle

    def call(
        self,
        lane: WriterLane,
        func: Callable[[], Any],
        *,
        name: str,
        long: bool = False,
        guarded: bool = False,
        done: Done | None = None,
        failed: Failed | None = None,
    ) -> JobHandle[Any]:
        """A function on the lane: an edit (between two steps of the running job) or,
        with ``long``, in the long jobs' order (removing a folder); ``guarded``: an edit
        that holds the library's write guard (of people: see ``WriterLane.submit_call``)."""
        key = object()
        self._pending[key] = _Callbacks(None, done, failed)
        return lane.submit_call(
            func,
            long=long,
            guarded=guarded,
            name=name,
            on_done=lambda handle: self._ended.emit(key, handle),
        )

    def _on_step(self, key: object, step: Progress) -> None:
        callbacks = self._pending.get(key)
        if callbacks is not None and callbacks.progress is not None:
            callbacks.progress(step)

    def _on_held(self, key: object) -> None:
        callbacks = self._pending.get(key)
        if callbacks is not None and callbacks.paused is not None:
            callbacks.paused()

    def _on_end(self, key: object, handle: JobHandle[Any]) -> None:
        callbacks = self._pending.pop(key, None)
        if callbacks is None:
            return
        error = handle.exception()
        if error is None:
            if callbacks.done is not None:
                callbacks.done(handle.result())
        elif callbacks.failed is not None:
            callbacks.failed(error)
