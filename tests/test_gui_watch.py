"""The window follows its folders: photos copied in or deleted while it is open, and
photos that came while it was closed, reach the results without the user asking."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from gui_windows import TIMEOUT_MS, close_window, open_window

from clipdesk.core.watch import WatchSettings
from clipdesk.gui.main_window import MainWindow
from clipdesk.training.shapes import write_sample_library

# Short timings, so the tests do not wait on the app's real-world debounce and settle
# times; the photos here arrive in one move, so they prove the same.
FAST = WatchSettings(debounce_s=0.1, max_delay_s=2.0, settle_s=0.4)


def indexed(win: MainWindow) -> int:
    return int(win.service.library.status()["indexed"])


def followed(win: MainWindow, folder: Path) -> bool:
    watcher = win.service.watcher
    modes = watcher.status().roots if watcher is not None else {}
    return any(os.path.realpath(os.fsdecode(r)) == os.path.realpath(folder) for r in modes)


@pytest.fixture
def photos(tmp_path) -> Path:
    folder = tmp_path / "photos"
    write_sample_library(folder, 6, seed=8)
    return folder


def test_photos_copied_in_or_deleted_while_open_are_followed(qtbot, tmp_path, photos):
    win = open_window(qtbot, tmp_path / "lib", FAST)
    try:
        service = win.service
        with qtbot.waitSignal(service.indexFinished, timeout=TIMEOUT_MS):
            win.side.folders.addRequested.emit(str(photos))
        qtbot.waitUntil(lambda: followed(win, photos), timeout=TIMEOUT_MS)
        qtbot.waitUntil(lambda: not service.busy, timeout=TIMEOUT_MS)

        with qtbot.waitSignal(
            service.libraryChanged, timeout=TIMEOUT_MS, check_params_cb=lambda r: r.added >= 1
        ):
            (new,) = write_sample_library(tmp_path / "incoming", 1, seed=31)
            shutil.move(new.path, photos / "arrived.jpg")
        assert indexed(win) == 7
        qtbot.waitUntil(lambda: not service.library.tags.stale(), timeout=TIMEOUT_MS)

        with qtbot.waitSignal(
            service.libraryChanged, timeout=TIMEOUT_MS, check_params_cb=lambda r: r.removed >= 1
        ):
            os.remove(photos / "arrived.jpg")
        assert indexed(win) == 6
    finally:
        close_window(qtbot, win)


def test_photos_that_came_while_closed_are_indexed_when_it_opens(qtbot, tmp_path, photos):
    win = open_window(qtbot, tmp_path / "lib", FAST)
    try:
        with qtbot.waitSignal(win.service.indexFinished, timeout=TIMEOUT_MS):
            win.side.folders.addRequested.emit(str(photos))
        qtbot.waitUntil(lambda: not win.service.busy, timeout=TIMEOUT_MS)
    finally:
        close_window(qtbot, win)
    write_sample_library(photos / "while-closed", 2, seed=41)
    win = open_window(qtbot, tmp_path / "lib", FAST)
    try:
        qtbot.waitUntil(lambda: indexed(win) == 8, timeout=TIMEOUT_MS)
        qtbot.waitUntil(lambda: not win.service.library.tags.stale(), timeout=TIMEOUT_MS)
    finally:
        close_window(qtbot, win)


def test_the_open_window_answers_clipdesk_search_from_a_terminal(
    qtbot, tmp_path, photos, monkeypatch
):
    from cli_harness import library_env, run_cli

    from clipdesk.core.serve.endpoint import endpoint_for

    win = open_window(qtbot, tmp_path / "lib", FAST)
    try:
        service = win.service
        with qtbot.waitSignal(service.indexFinished, timeout=TIMEOUT_MS):
            win.side.folders.addRequested.emit(str(photos))
        qtbot.waitUntil(lambda: service.serving.server is not None, timeout=TIMEOUT_MS)
        qtbot.waitUntil(lambda: not service.busy, timeout=TIMEOUT_MS)
        argv = ["search", "a red circle", "--json"]
        with library_env(monkeypatch, tmp_path / "lib"):
            asked = run_cli(argv)
            monkeypatch.setenv("CLIPDESK_SERVE", "0")
            alone = run_cli(argv)
        assert alone.code == 0, alone
        assert (asked.code, asked.out) == (alone.code, alone.out)
        assert service.serving.server.served == 1
        endpoint = endpoint_for(service.library.location)
    finally:
        close_window(qtbot, win)
    assert endpoint is not None and not endpoint.key_file.exists()
    assert not os.path.exists(endpoint.address)
