"""Indexing from the window: adding a folder, progress to the end, pause, cancel.

Each test opens a new library through the service (as the app does) over photos
generated once for the module, and fails if it leaves a worker thread running.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from gui_windows import TIMEOUT_MS, close_window, open_window

from clipdesk.gui.jobs import SearchRequest
from clipdesk.gui.service import LibraryService
from clipdesk.training.shapes import write_sample_library

PHOTOS = 32


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("index-photos")
    write_sample_library(directory, PHOTOS, seed=3)
    return directory


@pytest.fixture
def window(qtbot, tmp_path):
    win = open_window(qtbot, tmp_path / "lib")
    yield win
    close_window(qtbot, win)


class Recorder:
    """Everything the service reports, in order."""

    def __init__(self, service: LibraryService) -> None:
        self.events: list[tuple[str, object]] = []
        service.indexProgress.connect(lambda p: self.events.append(("progress", p)))
        service.indexPausedChanged.connect(lambda p: self.events.append(("paused", p)))
        service.indexFinished.connect(lambda r: self.events.append(("finished", r)))

    def progress(self, stage: str | None = None) -> list:
        return [e for kind, e in self.events if kind == "progress" and stage in (None, e.stage)]


def first_embed_step(progress) -> bool:
    return progress.stage == "embed" and progress.done >= 1


def test_adding_a_folder_indexes_it_and_progress_reaches_the_end(qtbot, window, photos):
    recorder = Recorder(window.service)
    with qtbot.waitSignal(window.service.indexFinished, timeout=TIMEOUT_MS) as finished:
        window.side.folders.addRequested.emit(str(photos))
        assert window.service.indexing
        assert window.status.progress_bar.isVisibleTo(window)
    report = finished.args[0]
    assert report.decoded == PHOTOS and not report.cancelled
    embeds = recorder.progress("embed")
    assert embeds[-1].done == embeds[-1].total == PHOTOS
    assert [p.done for p in embeds] == sorted(p.done for p in embeds)
    assert recorder.progress()[-1].stage == "done"
    assert window.status.progress_label.text().startswith("Indexing finished")
    assert not window.status.pause_button.isVisibleTo(window)
    qtbot.waitUntil(
        lambda: window.side.folders.state_of(os.fspath(photos.resolve())).startswith(
            f"{PHOTOS} photos"
        ),
        timeout=TIMEOUT_MS,
    )
    with qtbot.waitSignal(window.resultsShown, timeout=TIMEOUT_MS):
        window.search_bar.set_text("a blue circle")
    assert window.model.total == PHOTOS


def test_pause_holds_indexing_while_searches_still_run(qtbot, window, photos):
    service = window.service
    recorder = Recorder(service)
    with qtbot.waitSignal(
        service.indexProgress, timeout=TIMEOUT_MS, check_params_cb=first_embed_step
    ):
        service.add_folder(str(photos))
    with qtbot.waitSignal(service.indexPausedChanged, timeout=TIMEOUT_MS) as paused:
        window.status.pause_button.click()
    assert paused.args == [True]
    assert window.status.pause_button.text() == "Resume"
    assert window.status.progress_label.text().startswith("Paused")
    seen = len(recorder.progress())
    # A search runs to its end while the job is paused, and the job does not move.
    with qtbot.waitSignal(service.searchFinished, timeout=TIMEOUT_MS) as searched:
        service.search(SearchRequest(text="a red square"))
    assert searched.args[0].error is None
    assert len(recorder.progress()) == seen
    with qtbot.waitSignal(service.indexFinished, timeout=TIMEOUT_MS) as finished:
        window.status.pause_button.click()
    assert finished.args[0].decoded == PHOTOS and not finished.args[0].cancelled
    events = recorder.events
    held = events[events.index(("paused", True)) + 1 : events.index(("paused", False))]
    assert not [e for e in held if e[0] == "progress"], "no step while paused"
    assert window.status.pause_button.text() == "Pause"


def test_cancel_stops_indexing_and_keeps_what_was_done(qtbot, window, photos):
    service = window.service
    with qtbot.waitSignal(
        service.indexProgress, timeout=TIMEOUT_MS, check_params_cb=first_embed_step
    ):
        service.add_folder(str(photos))
    # Pause first so the job is caught part-way, whatever the machine's speed.
    with qtbot.waitSignal(service.indexPausedChanged, timeout=TIMEOUT_MS):
        service.pause_index()
    with qtbot.waitSignal(service.indexFinished, timeout=TIMEOUT_MS) as finished:
        window.status.cancel_button.click()
    report = finished.args[0]
    assert report.cancelled and 0 < report.decoded < PHOTOS
    assert window.status.progress_label.text() == "Indexing cancelled"
    with qtbot.waitSignal(service.stateChanged, timeout=TIMEOUT_MS) as state:
        service.refresh_state()
    assert state.args[0]["indexed"] == report.decoded

    with qtbot.waitSignal(service.indexFinished, timeout=TIMEOUT_MS) as again:
        service.index()
    assert again.args[0].decoded == PHOTOS - report.decoded
    assert not again.args[0].cancelled


def test_removing_a_folder_forgets_its_photos(qtbot, window, photos):
    service = window.service
    with qtbot.waitSignal(service.indexFinished, timeout=TIMEOUT_MS):
        service.add_folder(str(photos))
    qtbot.waitUntil(lambda: len(window.side.folders.roots()) == 1, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: not service.busy, timeout=TIMEOUT_MS)  # the new photos' tags
    with qtbot.waitSignal(service.stateChanged, timeout=TIMEOUT_MS) as state:
        service.remove_folder(os.fspath(photos))
    assert state.args[1] == [] and state.args[0]["indexed"] == 0
    assert window.side.folders.list.count() == 0


def test_window_appears_before_torch_is_imported(tmp_path):
    code = (
        "import sys\n"
        "from clipdesk.gui.app import DesktopApp, LaunchOptions, application\n"
        "app = application()\n"
        f"desktop = DesktopApp(LaunchOptions(library={str(tmp_path / 'lib')!r}))\n"
        "desktop.window.show()\n"
        "app.processEvents()\n"
        "print('visible', desktop.window.isVisible(), 'torch', 'torch' in sys.modules)\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "visible True torch False" in done.stdout


def test_a_folder_that_went_away_is_shown_offline_and_keeps_its_photos(
    qtbot, window, photos, tmp_path
):
    service = window.service
    drive = tmp_path / "usb-drive"
    shutil.copytree(photos, drive)
    with qtbot.waitSignal(service.indexFinished, timeout=TIMEOUT_MS):
        service.add_folder(str(drive))
    qtbot.waitUntil(lambda: not service.busy, timeout=TIMEOUT_MS)  # the new photos' tags
    drive.rename(tmp_path / "unplugged")
    with qtbot.waitSignal(service.stateChanged, timeout=TIMEOUT_MS) as state:
        service.index()
    (root,) = state.args[1]
    assert not root.online and root.photos == PHOTOS
    assert window.side.folders.state_of(root.path).startswith("offline")


def test_a_search_shows_every_photo_once_they_are_searchable_before_text_is_read(
    qtbot, window, photos, monkeypatch
):
    monkeypatch.setenv("CLIPDESK_OCR", "1")  # the second pass: reading text
    with qtbot.waitSignal(window.resultsShown, timeout=TIMEOUT_MS):
        window.search_bar.set_text("a blue circle")  # an empty library: nothing yet
    recorder = Recorder(window.service)
    totals: list[tuple[int, bool]] = []
    finished = False
    window.resultsShown.connect(lambda *_: totals.append((window.model.total, finished)))
    counts: list[tuple[str, bool]] = []
    window.service.stateChanged.connect(
        lambda *_: counts.append((window.status.library_label.text(), finished))
    )
    with qtbot.waitSignal(window.service.indexFinished, timeout=TIMEOUT_MS):
        window.side.folders.addRequested.emit(str(photos))
    finished = True
    assert recorder.progress("read"), "no pass read the photos' text"
    # The search ran again as the text pass began, before the index finished.
    assert (PHOTOS, False) in totals, totals
    assert (f"{PHOTOS} photos", False) in counts, counts  # and the photo count with it
