"""The service's running superqt workers, each kept referenced until it finishes.

A worker that nothing references may be collected while it runs; keeping them in one
set also answers "is anything still running?" for a window that wants to close.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QThreadPool

__all__ = ["MIN_POOL_THREADS", "Start", "WorkerSet"]

# A search, a status refresh, a model load and a preview may all run at once.
MIN_POOL_THREADS = 8

Start = Callable[[Any, Callable[[Any], None] | None, Callable[[Exception], None] | None], None]


class WorkerSet:
    """Starts workers on the global thread pool and tracks them (see the module docstring)."""

    def __init__(self, on_error: Callable[[Exception], None]) -> None:
        self._on_error = on_error  # for workers started without their own failure handler
        self._workers: set[Any] = set()
        pool = QThreadPool.globalInstance()
        if pool.maxThreadCount() < MIN_POOL_THREADS:
            pool.setMaxThreadCount(MIN_POOL_THREADS)

    def start(
        self,
        worker: Any,
        done: Callable[[Any], None] | None,
        failed: Callable[[Exception], None] | None,
    ) -> None:
        """Start ``worker``; ``done`` gets its result, ``failed`` its exception."""
        self._workers.add(worker)
        if done is not None:
            worker.returned.connect(done)
        worker.errored.connect(failed or self._on_error)
        worker.finished.connect(lambda: self._workers.discard(worker))
        worker.start()

    @property
    def busy(self) -> bool:
        return bool(self._workers)
