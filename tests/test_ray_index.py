"""``clipdesk index --ray local``: reading and embedding on Ray workers, stored by the
library's one writer. Ray takes seconds to start, so one test runs by default."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from clipdesk.core.library import Library

RAY_NAMES = ("raylet", "gcs_server", "ray::", "clipdesk.core.cluster.reaper")


def _ray_processes(since: float) -> list[str]:
    found = []
    for process in psutil.process_iter(["cmdline", "create_time", "status"]):
        info = process.info
        line = " ".join(info["cmdline"] or [])
        fresh = info["create_time"] >= since and info["status"] != psutil.STATUS_ZOMBIE
        if fresh and any(name in line for name in RAY_NAMES):
            found.append(f"{process.pid} {line[:80]}")
    return found


def _index(library: Path, photos: Path, model: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, "-m", "clipdesk", "--library", os.fspath(library), "--model", model,
         "index", "--ray", "local", "--no-tags", "--no-faces", "--json", os.fspath(photos)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _vectors_by_fingerprint(library: Library) -> dict[str, np.ndarray]:
    key = library.catalog.get_meta("model_key")
    dim = library.catalog.model_dims()[key]
    with library.catalog.engine.connect() as conn:
        from sqlalchemy import select

        from clipdesk.core.catalog.schema import embeddings

        rows = conn.execute(
            select(embeddings.c.fingerprint, embeddings.c.vector).where(
                embeddings.c.model_key == key
            )
        ).all()
    return {fp: np.frombuffer(v, np.float32).reshape(dim) for fp, v in rows}


def test_ray_local_index_gives_the_vectors_of_a_local_index(
    sample_library, tiny_shapes_installed: str, tmp_path: Path
) -> None:
    started = time.time()
    run = _index(tmp_path / "lib", sample_library.photos, tiny_shapes_installed)
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    assert '"encoded": 40' in out
    with (
        Library.open(tmp_path / "lib") as ours,
        Library.open(sample_library.copy(tmp_path / "local")) as local,
    ):
        assert ours.status()["indexed"] == 40
        got, want = _vectors_by_fingerprint(ours), _vectors_by_fingerprint(local)
        assert got.keys() == want.keys() and len(got) == 40
        for fp, vector in want.items():
            np.testing.assert_allclose(got[fp], vector, atol=1e-5)
        assert [h.path for h in ours.search("a red circle", k=10).hits] == [
            h.path for h in local.search("a red circle", k=10).hits
        ]
    deadline = time.monotonic() + 20
    while _ray_processes(started) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _ray_processes(started), "Ray left processes behind"


@pytest.mark.slow
def test_a_killed_ray_driver_leaves_no_processes_and_a_rerun_finishes(
    sample_library, tiny_shapes_installed: str, tmp_path: Path
) -> None:
    started = time.time()
    run = _index(tmp_path / "lib", sample_library.photos, tiny_shapes_installed)
    time.sleep(9)  # Ray is up and the workers are embedding
    run.send_signal(signal.SIGKILL)
    run.communicate()
    deadline = time.monotonic() + 30
    while _ray_processes(started) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _ray_processes(started), "Ray left processes behind a killed clipdesk"
    with Library.open(tmp_path / "lib") as library:
        before = library.status()["indexed"]
    again = _index(tmp_path / "lib", sample_library.photos, tiny_shapes_installed)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert f'"encoded": {40 - before}' in out  # only what was missing
    with Library.open(tmp_path / "lib") as library:
        assert library.status()["indexed"] == 40


@pytest.mark.slow
def test_a_worker_killed_mid_batch_is_retried_and_nothing_is_lost(
    tiny_shapes_installed: str, tmp_path: Path
) -> None:
    from clipdesk.training.shapes import write_sample_library

    photos = tmp_path / "photos"
    write_sample_library(photos, 200, seed=11)
    run = _index(tmp_path / "lib", photos, tiny_shapes_installed)
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and time.monotonic() < deadline and run.poll() is None:
        for process in psutil.process_iter(["cmdline"]):
            if "ray::BatchEmbedder.run" in " ".join(process.info["cmdline"] or []):
                process.kill()  # a worker busy with a batch
                killed = process.pid
                break
        time.sleep(0.1)
    out, err = run.communicate(timeout=300)
    assert killed is not None, "no worker was caught busy"
    assert run.returncode == 0, err
    assert '"encoded": 200' in out and '"skipped": 0' in out
    with Library.open(tmp_path / "lib") as library:
        assert library.status()["indexed"] == 200
