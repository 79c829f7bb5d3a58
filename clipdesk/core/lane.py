"""The writer lane: the one thread that changes a library, one job at a time.

Every job that writes (indexing, the folder watcher's looks, tagging, tag edits,
vocabulary changes, adding and removing roots, a model switch) is submitted here and
runs on the lane's thread, in order. The GUI, the command line and the watcher submit
jobs and get progress and results back; none of them holds a lock while a job runs.

Two kinds of jobs share the lane:

- **long** jobs are generators of :class:`Progress`. They run one at a time, first in,
  first out, and are stepped one ``yield`` at a time: each step assumes the catalog did
  not change under it in ways only another long job makes (roots, files, vectors).
- **short** jobs (a tag decision, a vocabulary edit) run to their end *between* two
  steps of the running long job, so a tag edit made during a long index lands after at
  most one step. A paused long job is simply not stepped; short jobs still run.

Readers (searches, status, lists) never come here: SQLite in WAL mode serves them on
their own connections, and the vector index guards itself for short moments only.

Between processes, a :class:`WriteGuard` (a file lock beside the catalog) is held for
the length of each long job, so two ``clipdesk index`` runs on one library take turns
instead of saving vector indexes over each other. While it waits, the lane keeps
running short jobs and tells the job's watchers once (a ``wait`` progress step).

Jobs submitted from the lane's own thread (a job that starts another) run inline.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import deque
from collections.abc import Callable, Generator
from typing import Any, Generic, Protocol, TypeVar

from clipdesk.core.progress import Cancelled, CancelToken, Progress

__all__ = ["WAITING_MESSAGE", "JobHandle", "WriteGuard", "WriterLane"]

T = TypeVar("T")
WAITING_MESSAGE = "waiting for another clipdesk process writing to this library"
LOCK_POLL_S = 0.2


class WriteGuard(Protocol):
    """Exclusion between processes for long jobs (see :mod:`clipdesk.core.write_lock`)."""

    def try_acquire(self) -> bool:
        """Take the guard if it is free; never waits."""

    def release(self) -> None: ...


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
        self._lane: WriterLane | None = None

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

    def _ask(self) -> None:
        """A paced job's consumer wants one more step."""
        self._demand += 1
        self._poke()

    def _poke(self) -> None:
        if self._lane is not None:
            self._lane._wake()

    # -- the lane's side --------------------------------------------------------------------

    def _steppable(self) -> bool:
        if self._aborted or self.cancel_token.cancelled:
            return True  # a cancel must not wait for a resume or for a consumer
        return not self._paused and (not self._paced or self._demand > 0)

    def _report(self, progress: Progress) -> None:
        if self._paced:
            self._demand -= 1
        for listener in list(self._listeners):
            with contextlib.suppress(Exception):  # a watcher's bug must not stop the writer
                listener(progress)

    def _tell_paused(self) -> None:
        for listener in list(self._pause_listeners):
            with contextlib.suppress(Exception):
                listener()

    def _finish(self, result: Any = None, error: BaseException | None = None) -> None:
        self._result, self._error = result, error
        self._done.set()
        callbacks, self._done_callbacks = self._done_callbacks, []
        for callback in callbacks:
            with contextlib.suppress(Exception):
                callback(self)


class _Task:
    def __init__(self, handle: JobHandle[Any], job: Generator[Progress, None, Any] | None,
                 call: Callable[[], Any] | None) -> None:  # fmt: skip
        self.handle = handle
        self.job = job
        self.call = call
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
        name: str = "",
        on_done: Callable[[JobHandle[T]], None] | None = None,
    ) -> JobHandle[T]:
        """Queue a plain function: a short job (between two steps of the running long
        job), or with ``long`` a job in the long jobs' order (e.g. removing a root,
        which must not happen in the middle of a scan)."""
        handle: JobHandle[T] = JobHandle(name, CancelToken(), long=long, on_done=on_done)
        task = _Task(handle, None, func)
        if self.on_lane_thread():
            self._run_inline(task)
            return handle
        self._enqueue(task, self._long if long else self._short)
        return handle

    def call(self, func: Callable[[], T], *, long: bool = False, name: str = "") -> T:
        """Run ``func`` on the lane and return its result (inline on the lane itself)."""
        if self.on_lane_thread():
            return func()
        return self.submit_call(func, long=long, name=name).result()

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
                handle._ask()
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
            current = self._current
            self._cond.notify_all()
        for task in dropped:
            task.handle._finish(error=Cancelled("the library was closed"))
        if current is not None:
            current.handle.abort()
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout)
        return not thread.is_alive()

    # -- the lane's thread ------------------------------------------------------------------

    def _enqueue(self, task: _Task, into: deque[_Task]) -> None:
        task.handle._lane = self
        with self._cond:
            if self._closing:
                task.handle._finish(error=Cancelled("the library was closed"))
                return
            into.append(task)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def _wake(self) -> None:
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
                task.handle._tell_paused()
            elif action == "short":
                self._run_whole(task)
            elif action == "start":
                self._start(task)
            else:
                self._step(task)

    def _next_action(self) -> tuple[_Task | None, str]:
        """What to do next (called holding the condition)."""
        if self._short:
            return self._short.popleft(), "short"
        if self._current is None and self._long:
            self._current = self._long.popleft()
        task = self._current
        if task is None:
            return None, "exit" if self._closing else "wait"
        if not task.started:
            return task, "start"
        if task.handle._steppable():
            return task, "step"
        if task.handle._paused and not task.handle._pause_told:
            task.handle._pause_told = True
            return task, "paused"
        return None, "wait"

    def _start(self, task: _Task) -> None:
        """Take the guard (or wait for it, running short jobs meanwhile), then begin."""
        handle = task.handle
        if handle._aborted:  # stopped before it began: it never runs
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
                    handle._report(Progress("wait", message=WAITING_MESSAGE))
                with self._cond:
                    if not self._short and not handle._aborted:
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

    def _step(self, task: _Task) -> None:
        assert task.job is not None
        handle = task.handle
        try:
            if handle._aborted:
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
        handle._report(progress)

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
        task.handle._finish(result, error)

    def _run_inline(self, task: _Task) -> None:
        """A job submitted by a job: it runs now, on this thread, to its end."""
        task.handle._lane = self
        try:
            if task.call is not None:
                result = task.call()
            else:
                assert task.job is not None
                result = _drain(task.job, task.handle._report)
        except BaseException as exc:
            task.handle._finish(error=exc)
            return
        task.handle._finish(result)


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
