"""Worker processes that run untrusted decoding under time and memory limits.

A decoder that segfaults on a hostile file must take down a worker, not the app; one
that loops forever or allocates without end must be stopped. Workers are persistent
processes started with ``spawn`` (safe with threads and Qt; this module imports only the
standard library, so a worker imports neither torch nor Qt unless the task does). Each
has its own task pipe holding at most ``prefetch`` items, so a worker never waits for
its next item and a crash is pinned on the item it was running. The consumer's loop is
the watchdog: it waits on result pipes and process sentinels with a deadline, so there
is no extra thread, and closing the generator stops everything. Workers end with the
parent however it ends, SIGKILL included (see ``lifeline``).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import queue
import signal
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

from clipdesk.core.lifeline import Lifeline, ParentLink, die_with_parent

__all__ = ["DecodePool", "TaskFailure"]

T = TypeVar("T")
R = TypeVar("R")

_BOOT_FAILURES_ALLOWED = 3  # workers dying one after another before running anything
_BOOT_TIMEOUT_S = 60.0  # starting a worker (spawn + imports) on a busy machine


@dataclass(frozen=True, slots=True)
class TaskFailure:
    """Why an item produced no result. ``kind``: error, crashed, timeout or oom."""

    reason: str
    kind: str = "error"


# --------------------------------------------------------------------------- worker side
def _limit_memory(megabytes: int | None) -> None:
    if not megabytes:
        return
    try:
        import resource
    except ImportError:  # not on Windows: the time limit still holds
        return
    limit = megabytes * 1024 * 1024
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return text or type(exc).__name__


def _worker_main(
    tasks: Connection,
    results: Connection,
    task_bytes: bytes,
    memory_mb: int | None,
    parent: ParentLink,
) -> None:
    """Run tasks in order until told to stop; exit at once if the parent goes away."""
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")  # one decode per core; no thread pools per worker
    _limit_memory(memory_mb)
    try:
        task = pickle.loads(task_bytes)
    except BaseException as exc:
        results.send_bytes(pickle.dumps((-1, "fatal", _describe(exc))))
        return
    inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def read_tasks() -> None:
        # A separate reader keeps the task pipe drained while the main thread is busy
        # writing a large result, so parent and worker can never block on each other.
        try:
            while (message := pickle.loads(tasks.recv_bytes())) is not None:
                inbox.put(message)
        except (EOFError, OSError):
            os._exit(0)  # the parent closed the pipe or died: nobody wants our results
        inbox.put(None)

    threading.Thread(target=read_tasks, daemon=True).start()
    results.send_bytes(pickle.dumps((-1, "ready", os.getpid())))
    while (message := inbox.get()) is not None:
        task_id, item = message
        try:
            reply = (task_id, "ok", task(item))
        except MemoryError:
            reply = (task_id, "oom", "out of memory")
        except BaseException as exc:
            reply = (task_id, "error", _describe(exc))
        try:
            data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            data = pickle.dumps((task_id, "error", f"result cannot be sent: {_describe(exc)}"))
        results.send_bytes(data)


# --------------------------------------------------------------------------- parent side
@dataclass
class _Job:
    task_id: int
    item: Any
    timeout_s: float
    started: float | None = None  # when the worker began it (known once it is first)


@dataclass
class _Worker:
    process: Any
    tasks: Connection
    results: Connection
    ready: bool = False
    jobs: deque[_Job] = field(default_factory=deque)
    born: float = field(default_factory=time.monotonic)

    def start_head(self, now: float) -> None:
        if self.ready and self.jobs and self.jobs[0].started is None:
            self.jobs[0].started = now


class DecodePool(Generic[T, R]):
    """Run ``task(item)`` in worker processes; see the module docstring.

    ``task`` must be a picklable top-level function. One ``map_unordered`` at a time.
    ``timeout_for(item)``, when given, sets an item's own time limit (None: ``timeout_s``),
    so that a long video gets longer than a photo.
    """

    def __init__(
        self,
        task: Callable[[T], R],
        *,
        workers: int,
        timeout_s: float = 30.0,
        memory_limit_mb: int | None = 2048,
        prefetch: int = 2,
        start_method: str = "spawn",
        timeout_for: Callable[[T], float | None] | None = None,
    ) -> None:
        if workers < 1 or prefetch < 1:
            raise ValueError("workers and prefetch must be at least 1")
        self._task_bytes = pickle.dumps(task)  # fails here, not in a worker, if it cannot
        self.workers, self.timeout_s, self.prefetch = workers, timeout_s, prefetch
        self.memory_limit_mb = memory_limit_mb
        self.timeout_for = timeout_for
        self._ctx = multiprocessing.get_context(start_method)
        self._lifeline = Lifeline(self._ctx)
        self._pool: list[_Worker] = []
        self._next_id = 0
        self._boot_failures = 0
        self._running: weakref.ref[Any] | None = None
        self._closed = False

    def __enter__(self) -> DecodePool[T, R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (for tests and diagnostics)."""
        return [w.process.pid for w in self._pool if w.process.is_alive()]

    # ---------------------------------------------------------------- workers
    def _start_worker(self) -> _Worker:
        task_r, task_w = self._ctx.Pipe(duplex=False)
        result_r, result_w = self._ctx.Pipe(duplex=False)
        process = self._ctx.Process(
            target=_worker_main,
            args=(task_r, result_w, self._task_bytes, self.memory_limit_mb, self._lifeline.link()),
            name="clipdesk-decode",
            daemon=True,
        )
        process.start()
        task_r.close()  # the worker holds these ends now; ours would hide its EOF
        result_w.close()
        worker = _Worker(process, task_w, result_r)
        self._pool.append(worker)
        return worker

    def _stop_worker(self, worker: _Worker, *, kill: bool) -> None:
        if worker in self._pool:
            self._pool.remove(worker)
        if not kill:
            with contextlib.suppress(OSError, ValueError):
                worker.tasks.send_bytes(pickle.dumps(None))
        with contextlib.suppress(OSError):
            worker.tasks.close()
        if not kill:
            worker.process.join(1.0)
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(5.0)
        with contextlib.suppress(OSError):
            worker.results.close()
        with contextlib.suppress(ValueError):
            worker.process.close()

    def _pick_worker(self) -> _Worker | None:
        for worker in [w for w in self._pool if not w.jobs and not w.process.is_alive()]:
            # Died while idle: on Linux when the thread that started it ended (see
            # ``lifeline``), or killed from outside. No item to blame; start another.
            self._stop_worker(worker, kill=True)
        idle = [w for w in self._pool if not w.jobs]
        if idle:
            return idle[0]
        if len(self._pool) < self.workers:
            return self._start_worker()
        free = [w for w in self._pool if len(w.jobs) < self.prefetch]
        return min(free, key=lambda w: len(w.jobs)) if free else None

    def close(self) -> None:
        """Stop all workers (a running ``map_unordered`` is closed first)."""
        running = self._running() if self._running else None
        if running is not None:
            running.close()
        for worker in self._pool:  # ask every idle worker first, then wait for them
            if not worker.jobs:
                with contextlib.suppress(OSError, ValueError):
                    worker.tasks.send_bytes(pickle.dumps(None))
        for worker in list(self._pool):
            self._stop_worker(worker, kill=bool(worker.jobs))
        self._lifeline.close()
        self._closed = True

    # ---------------------------------------------------------------- mapping
    def map_unordered(self, items: Iterable[T]) -> Iterator[tuple[T, R | TaskFailure]]:
        """Yield ``(item, result or TaskFailure)`` as results come, pulling items lazily.

        At most ``workers * prefetch`` items are taken from ``items`` ahead of the results
        the consumer has received. Closing the iterator kills the busy workers.
        """
        if self._closed:
            raise RuntimeError("the pool is closed")
        if self._running is not None and self._running() is not None:
            raise RuntimeError("one map_unordered at a time")
        generator = self._run(iter(items))
        self._running = weakref.ref(generator)
        return generator

    def _run(self, items: Iterator[T]) -> Iterator[tuple[T, R | TaskFailure]]:
        retry: deque[Any] = deque()  # items a dead worker had queued but not started
        exhausted = False
        finished = False
        try:
            while True:
                out: list[tuple[Any, Any]] = []
                while retry or not exhausted:
                    worker = self._pick_worker()
                    if worker is None:
                        break
                    if retry:
                        item = retry.popleft()
                    else:
                        try:
                            item = next(items)
                        except StopIteration:
                            exhausted = True
                            break
                    self._send(worker, item, out)
                yield from out
                busy = [w for w in self._pool if w.jobs]
                if not busy:
                    if exhausted and not retry:
                        finished = True
                        return
                    continue
                out = []
                self._wait(busy, retry, out)
                yield from out
        finally:
            self._running = None
            if not finished:  # cancelled or failed: do not wait for work nobody wants
                for worker in [w for w in self._pool if w.jobs]:
                    self._stop_worker(worker, kill=True)

    def _send(self, worker: _Worker, item: Any, out: list[tuple[Any, Any]]) -> None:
        self._next_id += 1
        try:
            data = pickle.dumps((self._next_id, item), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            out.append((item, TaskFailure(f"item cannot be sent: {_describe(exc)}")))
            return
        limit = self.timeout_for(item) if self.timeout_for is not None else None
        worker.jobs.append(_Job(self._next_id, item, limit or self.timeout_s))
        worker.start_head(time.monotonic())
        with contextlib.suppress(OSError):  # a dead worker is noticed by its sentinel
            worker.tasks.send_bytes(data)

    def _wait(self, busy: list[_Worker], retry: deque[Any], out: list[tuple[Any, Any]]) -> None:
        now = time.monotonic()
        heads = [w.jobs[0] for w in busy]
        ends = [j.started + j.timeout_s for j in heads if j.started is not None]
        timeout = max(0.0, min(ends) - now) if ends else 1.0
        by_handle: dict[Any, _Worker] = {}
        for w in busy:
            by_handle[w.results] = w
            by_handle[w.process.sentinel] = w
        ready = wait(list(by_handle), timeout=min(timeout, 1.0))
        for handle in ready:
            worker = by_handle[handle]
            if worker in self._pool:
                self._drain(worker, retry, out)
        now = time.monotonic()
        for worker in [w for w in self._pool if w.jobs]:
            head = worker.jobs[0]
            if head.started is not None and now - head.started > head.timeout_s:
                reason = f"timed out after {head.timeout_s:g} s"
                self._fail(worker, TaskFailure(reason, "timeout"), retry, out)
            elif not worker.ready and now - worker.born > _BOOT_TIMEOUT_S:
                self._fail(worker, TaskFailure("decoder did not start", "crashed"), retry, out)

    def _drain(self, worker: _Worker, retry: deque[Any], out: list[tuple[Any, Any]]) -> None:
        """Take every result the worker has sent; then notice if it has died."""
        try:
            while worker.results.poll():
                task_id, status, payload = pickle.loads(worker.results.recv_bytes())
                if status == "ready":
                    worker.ready = True
                    self._boot_failures = 0
                elif status == "fatal":
                    raise RuntimeError(f"decode workers cannot start: {payload}")
                else:
                    job = worker.jobs.popleft()
                    assert job.task_id == task_id, "results come back in order"
                    if status == "ok":
                        out.append((job.item, payload))
                    elif status == "oom":
                        self._fail_job(worker, job, TaskFailure("out of memory", "oom"), retry, out)
                        return
                    else:
                        out.append((job.item, TaskFailure(str(payload), "error")))
                worker.start_head(time.monotonic())
        except (EOFError, OSError, pickle.UnpicklingError):
            # Only the worker writes to this pipe: it has died (or is dying) mid-message.
            worker.process.join(2.0)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(2.0)
        if not worker.process.is_alive():
            code = worker.process.exitcode
            if code is not None and code < 0:
                reason = f"decoder crashed (signal {-code})"
            else:
                reason = f"decoder exited (code {code})"
            self._fail(worker, TaskFailure(reason, "crashed"), retry, out)

    def _fail(
        self, worker: _Worker, failure: TaskFailure, retry: deque[Any], out: list[tuple[Any, Any]]
    ) -> None:
        """Replace a worker; its running item fails, its queued ones are retried."""
        if worker.ready and worker.jobs:
            self._fail_job(worker, worker.jobs.popleft(), failure, retry, out)
            return
        self._boot_failures += 1  # died before it could run anything: nobody to blame
        if self._boot_failures >= _BOOT_FAILURES_ALLOWED:
            raise RuntimeError(f"decode workers keep dying at start ({failure.reason})")
        retry.extend(job.item for job in worker.jobs)
        worker.jobs.clear()
        self._stop_worker(worker, kill=True)

    def _fail_job(
        self,
        worker: _Worker,
        job: _Job,
        failure: TaskFailure,
        retry: deque[Any],
        out: list[tuple[Any, Any]],
    ) -> None:
        out.append((job.item, failure))
        retry.extend(j.item for j in worker.jobs)
        worker.jobs.clear()
        self._stop_worker(worker, kill=True)
