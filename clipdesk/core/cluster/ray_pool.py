"""Reading and embedding on Ray: the :class:`~clipdesk.core.indexer.ReadPool` of
``clipdesk index --ray ADDRESS``.

``local`` starts Ray on this computer with its cores; ``auto`` or ``ray://HOST:PORT``
joins a running cluster (every node needs clipdesk and the model installed). Each worker
is a Ray actor holding one encoder (one per GPU where Ray sees GPUs, else one per core)
and is sent batches of files: 16 per batch on a CPU, 64 on a GPU. Results stream back
as each batch ends, to the library's one writer (the index job on the writer lane), which
commits them a batch at a time: a killed driver or a lost worker loses at most the
batches in flight, and a rerun reads only the files still pending. An actor that dies is
restarted by Ray and its batch retried (possibly on another node); a batch whose worker
is lost for good is sent to another worker once, then its files are recorded as
unreadable.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from clipdesk.core.cluster.reaper import Reaper
from clipdesk.core.decode_pool import TaskFailure
from clipdesk.core.decode_task import DecodeJob, DecodeOutput
from clipdesk.core.errors import LibraryError

__all__ = ["CPU_BATCH", "GPU_BATCH", "RayReadPool"]

CPU_BATCH = 16
GPU_BATCH = 64
IN_FLIGHT_PER_WORKER = 2


class RayReadPool:
    """Ray actors that read and embed files with ``model_name`` (module docstring)."""

    def __init__(self, address: str, model_name: str) -> None:
        self.address = address
        self.model_name = model_name
        self._actors: list[Any] = []
        self._batch = CPU_BATCH
        self._started = False
        self._reaper: Reaper | None = None

    def __enter__(self) -> RayReadPool:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def workers(self) -> int:
        return len(self._actors)

    def start(self) -> None:
        """Start or join Ray, then one actor per GPU (or per core where there are none)."""
        try:
            import ray
        except ImportError:
            raise LibraryError("--ray needs Ray: pip install 'clipdesk[cluster]'") from None
        from clipdesk.core.cluster.embedder import BatchEmbedder

        options: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "logging_level": logging.ERROR,
            "configure_logging": False,
        }
        try:
            if self.address == "local":
                self._reaper = Reaper()
                before = _descendants()
                ray.init(num_cpus=os.cpu_count() or 1, **options)
                self._reaper.watch(sorted(_descendants() - before))
            else:
                ray.init(address=self.address, **options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise LibraryError(f"cannot join the Ray cluster at {self.address}: {reason}") from None
        self._started = True
        resources = ray.cluster_resources()
        gpus, cpus = int(resources.get("GPU", 0)), max(1, int(resources.get("CPU", 1)))
        actor = ray.remote(BatchEmbedder)
        restart = {"max_restarts": -1, "max_task_retries": 3}
        if gpus:
            self._batch = GPU_BATCH
            self._actors = [
                actor.options(num_gpus=1, num_cpus=1, **restart).remote(self.model_name, "cuda")
                for _ in range(gpus)
            ]
        else:
            self._actors = [
                actor.options(num_cpus=1, **restart).remote(self.model_name, "cpu")
                for _ in range(cpus)
            ]

    def map_unordered(
        self, items: Iterable[DecodeJob]
    ) -> Iterator[tuple[DecodeJob, DecodeOutput | TaskFailure]]:
        """Yield every job with its output, a batch at a time, as the batches end."""
        import ray
        from ray.exceptions import RayActorError, RayTaskError

        jobs = iter(items)
        pending: dict[Any, tuple[int, list[DecodeJob], bool]] = {}  # ref -> actor, batch, retry
        load = [0] * len(self._actors)

        def submit(batch: list[DecodeJob], retried: bool) -> None:
            worker = min(range(len(self._actors)), key=load.__getitem__)
            ref = self._actors[worker].run.remote(batch)
            pending[ref] = (worker, batch, retried)
            load[worker] += 1

        limit = IN_FLIGHT_PER_WORKER * len(self._actors)
        while True:
            while len(pending) < limit:
                batch = list(islice(jobs, self._batch))
                if not batch:
                    break
                submit(batch, retried=False)
            if not pending:
                return
            done, _ = ray.wait(list(pending), num_returns=1)
            worker, batch, retried = pending.pop(done[0])
            load[worker] -= 1
            try:
                results = dict(ray.get(done[0]))
            except (RayActorError, RayTaskError) as exc:
                if not retried:
                    submit(batch, retried=True)
                    continue
                reason = f"the Ray worker failed ({type(exc).__name__})"
                results = {job.file_id: reason for job in batch}
            for job in batch:
                out = results.get(job.file_id, "no result from the Ray worker")
                yield job, TaskFailure(out, "crashed") if isinstance(out, str) else out

    def close(self) -> None:
        """End the actors and leave Ray (a local Ray stops; a cluster keeps running)."""
        if not self._started:
            if self._reaper is not None:
                self._reaper.close()
                self._reaper = None
            return
        import ray

        try:
            for actor in self._actors:
                ray.kill(actor)
            self._actors = []
            ray.shutdown()
        finally:
            self._started = False
            if self._reaper is not None:
                self._reaper.close()
                self._reaper = None


def _descendants() -> set[int]:
    import psutil

    return {child.pid for child in psutil.Process().children(recursive=True)}
