"""Two processes writing one library take turns instead of saving over each other.

Each process keeps the vector index in memory and saves it whole; two ``clipdesk index``
runs at once used to both exit 0 and leave thousands of vectors missing from the index.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

from test_watch_common import MODEL, save_model, write_image

from clipdesk.core.lane import WAITING_MESSAGE
from clipdesk.core.write_lock import FileWriteGuard

PER_FOLDER = 30


def clipdesk(env: dict[str, str], *args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "clipdesk", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kwargs,
    )


def test_two_index_runs_at_once_index_every_file_once_and_check_is_clean(tmp_path):
    save_model(tmp_path / "models")
    library = tmp_path / "lib"
    env = {
        **os.environ,
        "CLIPDESK_LIBRARY": str(library),
        "CLIPDESK_MODEL": MODEL,
        "CLIPDESK_MODELS_DIR": str(tmp_path / "models"),
        "CLIPDESK_BACKEND": "torch",
    }
    folders = [tmp_path / "a", tmp_path / "b"]
    for n, folder in enumerate(folders):
        for i in range(PER_FOLDER):
            write_image(folder / f"{n}_{i}.png", seed=100 * n + i)
    created = clipdesk(env, "status")
    assert created.wait(120) == 0, created.stderr.read()
    # Hold the library's write lock, as a third process would, so that both runs start
    # while it is taken: they must then overlap, and neither may write before its turn.
    holder = FileWriteGuard(library)
    assert holder.try_acquire()
    runs = [
        clipdesk(env, "index", str(f), "--workers", "1", "--no-tags", "--json") for f in folders
    ]
    errors: list[list[str]] = [[], []]
    readers = [
        threading.Thread(target=lambda p=p, e=e: e.extend(p.stderr), daemon=True)
        for p, e in zip(runs, errors, strict=True)
    ]
    for reader in readers:
        reader.start()
    try:
        deadline = time.monotonic() + 120
        while not all(any(WAITING_MESSAGE in line for line in e) for e in errors):
            assert all(p.poll() is None for p in runs), "an index run did not wait its turn"
            assert time.monotonic() < deadline, errors
            time.sleep(0.1)
    finally:
        holder.release()
    outputs = [p.stdout.read() for p in runs]
    for process, reader, err in zip(runs, readers, errors, strict=True):
        assert process.wait(300) == 0, err
        reader.join(10)
        assert sum(WAITING_MESSAGE in line for line in err) == 1, err
    reports = [json.loads(out) for out in outputs]
    assert sorted(r["encoded"] for r in reports) == [PER_FOLDER, PER_FOLDER]

    check = clipdesk(env, "check", "--json")
    out, err = check.communicate(timeout=120)
    assert check.returncode == 0, (out, err)
    assert json.loads(out)["problems"] == []
    status = clipdesk(env, "status", "--json")
    out, err = status.communicate(timeout=120)
    counts = json.loads(out)
    assert (counts["indexed"], counts["pending"]) == (2 * PER_FOLDER, 0), counts
