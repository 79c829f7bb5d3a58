"""``clipdesk watch`` as a user runs it: index, follow a change, stop on SIGTERM or Ctrl+C."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest
from test_watch_common import MODEL, save_model, write_image

from clipdesk.core.catalog import Catalog


def start_watch(base, photos):
    env = {
        **os.environ,
        "CLIPDESK_LIBRARY": str(base / "lib"),
        "CLIPDESK_MODEL": MODEL,
        "CLIPDESK_MODELS_DIR": str(base.parent / "models"),
    }
    env.pop("DISPLAY", None)
    command = ["watch", str(photos), "--json", "--settle", "0.5"]
    process = subprocess.Popen(
        [sys.executable, "-m", "clipdesk", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: queue.Queue[dict] = queue.Queue()

    def read() -> None:
        for line in process.stdout:  # type: ignore[union-attr]
            lines.put(json.loads(line))

    threading.Thread(target=read, daemon=True).start()
    return process, lines


def wait_event(lines: queue.Queue, kind: str, timeout: float = 120.0) -> list[dict]:
    """Events up to and including the first of ``kind``."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            event = lines.get(timeout=1.0)
        except queue.Empty:
            continue
        seen.append(event)
        if event["event"] == kind:
            return seen
    raise AssertionError(f"no {kind!r} event; saw {seen}")


def run_watch(tmp_path, how: signal.Signals) -> None:
    save_model(tmp_path / "models")
    base = tmp_path / how.name
    photos = base / "photos"
    for i in range(3):
        write_image(photos / f"p{i}.png", seed=i)
    process, lines = start_watch(base, photos)
    try:
        follow_and_stop(photos, process, lines, how)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    check_catalog(base)


def test_watch_indexes_follows_changes_and_stops_cleanly_on_sigterm(tmp_path):
    run_watch(tmp_path, signal.SIGTERM)


@pytest.mark.slow
def test_watch_stops_cleanly_on_ctrl_c(tmp_path):
    run_watch(tmp_path, signal.SIGINT)


def follow_and_stop(photos, process, lines, how) -> None:
    first = wait_event(lines, "idle")
    updates = [e["report"] for e in first if e["event"] == "updated"]
    assert sum(u["encoded"] for u in updates) == 3, first
    assert any(e["event"] == "mode" and "file system events" in e["message"] for e in first)
    write_image(photos / "new.png", seed=10)
    (photos / "p0.png").rename(photos / "renamed.png")
    later = wait_event(lines, "idle")
    while (
        not any(e["event"] == "updated" for e in later)
        or sum(
            e["report"]["added"] + e["report"]["moved"] for e in later if e["event"] == "updated"
        )
        < 2
    ):
        later += wait_event(lines, "idle")
    reports = [e["report"] for e in later if e["event"] == "updated"]
    assert sum(r["encoded"] for r in reports) == 1 and sum(r["moved"] for r in reports) == 1
    # The re-tag rule runs in `clipdesk watch` too: each look that changed photos tags
    # the library again, over every photo it now holds.
    assert [u.get("tagged_photos") for u in updates if u["encoded"]] == [3], updates
    assert 4 in [r.get("tagged_photos") for r in reports], reports
    process.send_signal(how)
    assert process.wait(60) == 0, process.stderr.read()
    assert wait_event(lines, "stopped", 10)[-1]["event"] == "stopped"


def check_catalog(base) -> None:
    catalog = Catalog.open(base / "lib" / "catalog.db")
    try:
        root = catalog.roots()[0]
        files = catalog.files_of_root(root.id).values()
        assert sorted(os.path.basename(r.fspath) for r in files) == [
            "new.png",
            "p1.png",
            "p2.png",
            "renamed.png",
        ]
        assert all(r.status == "ok" for r in files)
        from clipdesk.core.tags.store import TagStore

        store = TagStore(catalog.engine)
        key = catalog.get_meta("model_key")
        assert store.tagged_photo_set(key) == store.photo_set(key), "not tagged after changes"
    finally:
        catalog.close()
