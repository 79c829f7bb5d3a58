"""The writer lane's thread: long jobs one step at a time, short jobs in between.

See :mod:`clipdesk.core.lane` for what runs here and why.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Generator
from typing import Any, Protocol, TypeVar

from clipdesk.core.lane.handle import JobHandle
from clipdesk.core.progress import Cancelled, CancelToken, Progress

__all__ = ["LOCK_POLL_S", "WAITING_MESSAGE", "WriteGuard", "WriterLane"]

T = TypeVar("T")
WAITING_MESSAGE = "waiting for another clipdesk process writing to this library"
LOCK_POLL_S = 0.2


class WriteGuard(Protocol):
    """Exclusion between processes for long jobs (see :mod:`clipdesk.core.write_lock`)."""

    def try_acquire(self) -> bool:
        """Take the guard if it is free; never waits."""

    def release(self) -> None: ...


class _Task:
    def __init__(self, handle: JobHandle[Any], job: Generator[Progress, None, Any] | None,
                 call: Callable[[], Any] | None, guarded: bool = False) -> None:  # fmt: skip
        self.handle = handle
        self.job = job
        self.call = call
        self.guarded = guarded  # a short job that must hold the guard (see ``call``)
        self.started = False
        self.holds_guard = False
        self.told_waiting = False


class WriterLane:
    """One thread that runs every write of a library; see the module docstring.

    The thread starts with the first job and ends at :meth:`close`.
    """

    def __init__(self, *, guard: WriteGuard | None = None, name: str = "clipdesk-writer",
                 on_guard_acquired: Callable[[], None] | None = None) -> None:  # fmt: skip
        self._guard = guard
        self._on_guard_acquired = on_guard_acquired
        self._name = name
        self._cond = threading.Condition()
        self._short: deque[_Task] = deque()
        self._guarded: deque[_Task] = deque()  # short jobs that need the guard
        self._guard_retry_at = 0.0
        self._wait_listeners: list[Callable[[str], None]] = []
        self._long: deque[_Task] = deque()
        self._current: _Task | None = None
        self._thread: threading.Thread | None = None
        self._closing = False

    # -- submitting -------------------------------------------------------------------------

    def submit(
        self,
        job: Generator[Progress, None, T],
        *,
        cancel: CancelToken | None = None,
        name: str = "",
        on_progress: Callable[[Progress], None] | None = None,
        on_done: Callable[[JobHandle[T]], None] | None = None,
        paced: bool = False,
    ) -> JobHandle[T]:
        """Queue a long job; it runs after the long jobs queued before it.

        ``paced``: step only when the consumer asks (see :meth:`run`).
        """
        handle: JobHandle[T] = JobHandle(name, cancel or CancelToken(), long=True, paced=paced,
                                         on_progress=on_progress, on_done=on_done)  # fmt: skip
        task = _Task(handle, job, None)
        if self.on_lane_thread():
            self._run_inline(task)
            return handle
        self._enqueue(task, self._long)
        return handle

    def submit_call(
        self,
        func: Callable[[], T],
        *,
        long: bool = False,
        guarded: bool = False,
        name: str = "",
        on_done: Callable[[JobHandle[T]], None] | None = None,
    ) -> JobHandle[T]:
        """Queue a plain function: a short job (between two steps of the running long
        job), or with ``long`` a job in the long jobs' order (e.g. removing a root,
        which must not happen in the middle of a scan).

        ``guarded``: a short job that writes what another process's long job may be
        writing too (the people tables): it runs between two steps of a long job of
        this process that holds the guard, else it takes the guard for itself, waiting
        for another process as a long job does (short jobs keep running meanwhile).
        """
        handle: JobHandle[T] = JobHandle(name, CancelToken(), long=long, on_done=on_done)
        guarded = guarded and not long and self._guard is not None
        task = _Task(handle, None, func, guarded)
        if self.on_lane_thread():
            self._run_inline(task)
            return handle
        into = self._long if long else self._guarded if guarded else self._short
        self._enqueue(task, into)
        return handle

    def call(
        self, func: Callable[[], T], *, long: bool = False, guarded: bool = False, name: str = ""
    ) -> T:
        """Run ``func`` on the lane and return its result (inline on the lane itself)."""
        if self.on_lane_thread():
            return func()
        return self.submit_call(func, long=long, guarded=guarded, name=name).result()

    def add_wait_listener(self, on_wait: Callable[[str], None]) -> None:
        """Call ``on_wait(message)`` (on the lane's thread) each time a job whose progress
        nobody follows starts waiting for another process: how a command's edits say
        they wait (a job driven through :meth:`run` says so in its progress)."""
        self._wait_listeners.append(on_wait)

    def run(
        self,
        job: Generator[Progress, None, T],
        *,
        cancel: CancelToken | None = None,
        name: str = "",
    ) -> Generator[Progress, None, T]:
        """Submit ``job`` and relay its progress to whoever iterates this generator.

        The job is stepped only as fast as the caller asks, so driving this generator
        feels like driving ``job`` itself, while short jobs run in between. Closing it
        (or an exception in the caller, Ctrl+C included) closes the job and waits for its
        clean-up. On the lane's own thread the job simply runs inline.
        """
        if self.on_lane_thread():
            return (yield from job)
        steps: queue.SimpleQueue[Progress | None] = queue.SimpleQueue()
        handle = self.submit(job, cancel=cancel, name=name, paced=True, on_progress=steps.put,
                             on_done=lambda _h: steps.put(None))  # fmt: skip
        try:
            while True:
                handle.ask()
                step = _get(steps)
                if step is None:
                    return handle.result()
                yield step
        finally:
            if not handle.done():
                handle.abort()
                handle.wait()

    def on_lane_thread(self) -> bool:
        return self._thread is not None and threading.current_thread() is self._thread

    @property
    def busy(self) -> bool:
        """Whether a job is running or queued."""
        with self._cond:
            return bool(self._current or self._long or self._short)

    # -- closing ----------------------------------------------------------------------------

    def close(self, timeout: float | None = 60.0) -> bool:
        """Stop: queued long jobs are dropped, the running one is closed (its clean-up
        runs), queued short jobs (edits the user made) still run. True when the thread
        has ended."""
        with self._cond:
            self._closing = True
            dropped = list(self._long)
            self._long.clear()
            self._guard_retry_at = 0.0  # guarded jobs get one more try, then are dropped
            current = self._current
            self._cond.notify_all()
        for task in dropped:
            task.handle.finish(error=Cancelled("the library was closed"))
        if current is not None:
            current.handle.abort()
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout)
        return not thread.is_alive()

    # -- the lane's thread ------------------------------------------------------------------

    def _enqueue(self, task: _Task, into: deque[_Task]) -> None:
        task.handle.attach(self)
        with self._cond:
            if self._closing:
                task.handle.finish(error=Cancelled("the library was closed"))
                return
            into.append(task)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                task, action = self._next_action()
                if task is None:
                    if action == "exit":
                        return
                    self._cond.wait(LOCK_POLL_S if action == "poll" else None)
                    continue
            if action == "paused":
                task.handle.tell_paused()
            elif action == "short":
                self._run_whole(task)
            elif action == "guarded":
                self._run_guarded(task)
            elif action == "start":
                self._start(task)
            else:
                self._step(task)

    def _next_action(self) -> tuple[_Task | None, str]:
        """What to do next (called holding the condition)."""
        if self._short:
            return self._short.popleft(), "short"
        if self._guarded and (
            self._holds_guard() or time.monotonic() >= self._guard_retry_at or self._closing
        ):
            return self._guarded.popleft(), "guarded"
        if self._current is None and self._long:
            self._current = self._long.popleft()
        task = self._current
        if task is None:
            if self._guarded:
                return None, "poll"
            return None, "exit" if self._closing else "wait"
        if not task.started:
            return task, "start"
        if task.handle.steppable():
            return task, "step"
        if task.handle.pause_news():
            return task, "paused"
        return None, "poll" if self._guarded else "wait"

    def _start(self, task: _Task) -> None:
        """Take the guard (or wait for it, running short jobs meanwhile), then begin."""
        handle = task.handle
        if handle.aborted:  # stopped before it began: it never runs
            self._end(task, error=Cancelled(f"{handle.name or 'job'} was stopped"))
            return
        if self._guard is not None and not task.holds_guard:
            try:
                acquired = self._guard.try_acquire()
            except Exception as exc:  # e.g. a read-only library: the job cannot write
                self._end(task, error=exc)
                return
            if not acquired:
                if not task.told_waiting:
                    task.told_waiting = True
                    self._tell_waiting(task)
                with self._cond:
                    if not self._short and not handle.aborted:
                        self._cond.wait(LOCK_POLL_S)
                return
            task.holds_guard = True
            if self._on_guard_acquired is not None:
                try:
                    self._on_guard_acquired()
                except Exception as exc:
                    self._end(task, error=exc)
                    return
        task.started = True
        if task.call is not None:
            self._run_whole(task)

    def _holds_guard(self) -> bool:
        return self._current is not None and self._current.holds_guard

    def _run_guarded(self, task: _Task) -> None:
        """A guarded short job: now if this process holds the guard, else with the guard
        taken for it; put back to wait (saying so once) while another process has it."""
        if self._holds_guard():
            self._run_whole(task)
            return
        assert self._guard is not None
        try:
            acquired = self._guard.try_acquire()
        except Exception as exc:  # e.g. a read-only library: the job cannot write
            task.handle.finish(error=exc)
            return
        if not acquired:
            if self._closing:
                task.handle.finish(error=Cancelled("the library was closed"))
                return
            if not task.told_waiting:
                task.told_waiting = True
                self._tell_waiting(task)
            with self._cond:
                self._guarded.appendleft(task)
                self._guard_retry_at = time.monotonic() + LOCK_POLL_S
            return
        task.holds_guard = True  # let go by ``_end``, before the caller hears the result
        self._run_whole(task)

    def _tell_waiting(self, task: _Task) -> None:
        task.handle.report(Progress("wait", message=WAITING_MESSAGE))
        if task.handle.followed:  # its progress says so already: one line, not two
            return
        for listener in list(self._wait_listeners):
            with contextlib.suppress(Exception):
                listener(WAITING_MESSAGE)

    def _step(self, task: _Task) -> None:
        assert task.job is not None
        handle = task.handle
        try:
            if handle.aborted:
                task.job.close()
                self._end(task, error=Cancelled(f"{handle.name or 'job'} was stopped"))
                return
            progress = next(task.job)
        except StopIteration as stop:
            self._end(task, result=stop.value)
            return
        except BaseException as exc:
            self._end(task, error=exc)
            return
        handle.report(progress)

    def _run_whole(self, task: _Task) -> None:
        """A short job, or a long plain function, to its end."""
        try:
            if task.call is not None:
                result = task.call()
            else:
                assert task.job is not None
                result = _drain(task.job)
        except BaseException as exc:
            self._end(task, error=exc)
            return
        self._end(task, result=result)

    def _end(self, task: _Task, *, result: Any = None, error: BaseException | None = None) -> None:
        if task.job is not None:
            with contextlib.suppress(Exception):
                task.job.close()
        if task.holds_guard and self._guard is not None:
            task.holds_guard = False
            with contextlib.suppress(Exception):
                self._guard.release()
        with self._cond:
            if self._current is task:
                self._current = None
        task.handle.finish(result, error)

    def _run_inline(self, task: _Task) -> None:
        """A job submitted by a job: it runs now, on this thread, to its end."""
        task.handle.attach(self)
        try:
            if task.call is not None:
                result = task.call()
            else:
                assert task.job is not None
                result = _drain(task.job, task.handle.report)
        except BaseException as exc:
            task.handle.finish(error=exc)
            return
        task.handle.finish(result)


def _drain(job: Generator[Progress, None, T],
           report: Callable[[Progress], None] | None = None) -> T:  # fmt: skip
    try:
        while True:
            step = next(job)
            if report is not None:
                report(step)
    except StopIteration as stop:
        return stop.value
    finally:
        job.close()


def _get(steps: queue.SimpleQueue[Progress | None]) -> Progress | None:
    """The next item, waking now and then so that Ctrl+C reaches the waiting thread."""
    while True:
        try:
            return steps.get(timeout=0.5)
        except queue.Empty:
            continue
