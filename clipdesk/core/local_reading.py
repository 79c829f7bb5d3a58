"""The decode processes of one index run, started when it first has a file to read.

An index run reads in two passes (vectors first, then text and faces). Each pass used to
start its own worker processes; starting a worker costs a new interpreter and the
imports of the image readers, so the second pass now reuses the first one's workers. A
run that finds nothing to read starts none and imports none of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clipdesk.core.decode_pool import DecodePool, TaskFailure
    from clipdesk.core.decode_task import DecodeJob, DecodeOutput

# A worker's memory limit: a 100-MP photo decodes in well under this.
MEMORY_LIMIT_MB = 4096


class LocalReadPool:
    """A :class:`~clipdesk.core.indexer.ReadPool` over sandboxed decode processes on this
    computer, made on the first ``map_unordered`` and stopped by ``close``."""

    def __init__(
        self,
        decode: Callable[[DecodeJob], DecodeOutput] | None,
        workers: int,
        timeout_s: float,
        memory_limit_mb: int | None = MEMORY_LIMIT_MB,
    ) -> None:
        self._decode = decode
        self._workers = workers
        self._timeout_s = timeout_s
        self._memory_limit_mb = memory_limit_mb
        self._pool: DecodePool[DecodeJob, DecodeOutput] | None = None

    def map_unordered(
        self, items: Iterable[DecodeJob]
    ) -> Iterator[tuple[DecodeJob, DecodeOutput | TaskFailure]]:
        if self._pool is None:
            from clipdesk.core.decode_pool import DecodePool
            from clipdesk.core.decode_task import decode_file, job_timeout

            self._pool = DecodePool(
                self._decode or decode_file,
                workers=self._workers,
                timeout_s=self._timeout_s,
                memory_limit_mb=self._memory_limit_mb,
                timeout_for=job_timeout,
            )
        return self._pool.map_unordered(items)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()

    def __enter__(self) -> LocalReadPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
