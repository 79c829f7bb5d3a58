"""A submitted job as its caller sees it: result, progress, cancel, pause.

The lane's side of a handle (stepping permission, reporting, finishing) is a few
methods :class:`clipdesk.core.lane.writer.WriterLane` calls; nothing else should.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from clipdesk.core.progress import CancelToken, Progress

__all__ = ["JobHandle"]

T = TypeVar("T")


class Lane(Protocol):
    def wake(self) -> None:
        """Look again at what to do (a job was paused, resumed, cancelled or asked)."""


class JobHandle(Generic[T]):
    """A submitted job: its result, its progress, and the user's controls over it.

    Progress listeners and done callbacks are called on the lane's thread and must
    return quickly (the GUI turns them into queued signals).
    """

    def __init__(
        self,
        name: str,
        cancel: CancelToken,
        *,
        long: bool,
        paced: bool = False,
        on_progress: Callable[[Progress], None] | None = None,
        on_done: Callable[[JobHandle[T]], None] | None = None,
    ) -> None:
        self.name = name
        self.cancel_token = cancel
        self.long = long
        self._paced = paced
        self._demand = 0
        self._listeners = [on_progress] if on_progress is not None else []
        self._done_callbacks = [on_done] if on_done is not None else []
        self._done = threading.Event()
        self._result: Any = None
        self._error: BaseException | None = None
        self._paused = False
        self._pause_told = False
        self._pause_listeners: list[Callable[[], None]] = []
        self._aborted = False
        self._lane: Lane | None = None

    # -- the caller's side ----------------------------------------------------------------

    def result(self, timeout: float | None = None) -> T:
        """The job's return value (or its exception); TimeoutError if not done in time."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"{self.name or 'job'} did not finish in {timeout} s")
        if self._error is not None:
            raise self._error
        return self._result

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def done(self) -> bool:
        return self._done.is_set()

    def exception(self) -> BaseException | None:
        return self._error if self.done() else None

    def cancel(self) -> None:
        """Ask the job to stop at its next step; what it finished is kept and it returns
        as a cancelled job does (a report saying so)."""
        self.cancel_token.cancel()
        self._poke()

    def abort(self) -> None:
        """Close the job's generator at its next step: its ``finally`` clean-up runs on
        the lane, as when a caller closes a generator it drives itself, and its result
        raises :class:`Cancelled`. A job that has not started never starts."""
        self._aborted = True
        self.cancel_token.cancel()
        self._poke()

    def pause(self) -> None:
        """Stop stepping the job after its current step; the pause listeners hear when
        that step is over (short jobs still run meanwhile)."""
        self._paused = True
        self._poke()

    def resume(self) -> None:
        self._paused = False
        self._pause_told = False
        self._poke()

    def add_pause_listener(self, on_paused: Callable[[], None]) -> None:
        """Call ``on_paused()`` (on the lane's thread) once a pause has taken hold: the
        step running when :meth:`pause` was called has ended, and no other will start."""
        self._pause_listeners.append(on_paused)

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def followed(self) -> bool:
        """Whether someone hears this job's progress (a wait is then told there)."""
        return bool(self._listeners)

    def add_listener(self, on_progress: Callable[[Progress], None]) -> None:
        self._listeners.append(on_progress)

    def add_done_callback(self, on_done: Callable[[JobHandle[T]], None]) -> None:
        """Call ``on_done(handle)`` when the job ends (now, if it already has)."""
        if self.done():
            on_done(self)
        else:
            self._done_callbacks.append(on_done)
            if self.done() and on_done in self._done_callbacks:  # ended meanwhile
                self._done_callbacks.remove(on_done)
                on_done(self)

    def ask(self) -> None:
        """A paced job's consumer wants one more step."""
        self._demand += 1
        self._poke()

    def _poke(self) -> None:
        if self._lane is not None:
            self._lane.wake()

    # -- the lane's side (called by WriterLane only) ------------------------------------------

    def attach(self, lane: Lane) -> None:
        self._lane = lane

    @property
    def aborted(self) -> bool:
        return self._aborted

    def pause_news(self) -> bool:
        """True once per pause: the lane has just found the job paused."""
        if not self._paused or self._pause_told:
            return False
        self._pause_told = True
        return True

    def steppable(self) -> bool:
        if self._aborted or self.cancel_token.cancelled:
            return True  # a cancel must not wait for a resume or for a consumer
        return not self._paused and (not self._paced or self._demand > 0)

    def report(self, progress: Progress) -> None:
        if self._paced:
            self._demand -= 1
        for listener in list(self._listeners):
            with contextlib.suppress(Exception):  # a watcher's bug must not stop the writer
                listener(progress)

    def tell_paused(self) -> None:
        for listener in list(self._pause_listeners):
            with contextlib.suppress(Exception):
                listener()

    def finish(self, result: Any = None, error: BaseException | None = None) -> None:
        self._result, self._error = result, error
        self._done.set()
        callbacks, self._done_callbacks = self._done_callbacks, []
        for callback in callbacks:
            with contextlib.suppress(Exception):
                callback(self)
