"""Choosing another model in the window's settings: the old model keeps answering every
search until the new one has embedded every photo, then the window uses the new one."""

from __future__ import annotations

from dataclasses import replace

from gui_windows import MODEL, TIMEOUT_MS, close_window

from clipdesk.core import paths
from clipdesk.core.models.testing import save_random_model, tiny_model_config
from clipdesk.gui.app import DesktopApp, LaunchOptions
from clipdesk.gui.main_window import MainWindow
from clipdesk.gui.settings import Settings
from clipdesk.training.shapes import write_sample_library

NEW_MODEL = "switch-model"
PHOTOS = 40


def search(qtbot, win: MainWindow, text: str):
    with qtbot.waitSignal(
        win.resultsShown, timeout=TIMEOUT_MS, check_params_cb=lambda o: o.request.text == text
    ) as shown:
        win.search_bar.set_text(text)
    return shown.args[0]


def test_the_window_keeps_answering_through_a_model_switch(qtbot, tmp_path):
    config = tiny_model_config()
    config["embed_dim"] = 48  # another space: the two must never be mixed
    save_random_model(paths.models_dir() / NEW_MODEL, config, seed=2, name=NEW_MODEL)
    photos = tmp_path / "photos"
    write_sample_library(photos, PHOTOS, seed=12)
    settings = Settings(model=MODEL, first_run_done=True, cpu_share=0.1)
    desktop = DesktopApp(LaunchOptions(library=str(tmp_path / "lib")), settings)
    win, service = desktop.window, desktop.service
    qtbot.addWidget(win)
    try:
        with qtbot.waitSignals([service.stateChanged, service.modelReady], timeout=TIMEOUT_MS):
            desktop.start()
        with qtbot.waitSignal(service.indexFinished, timeout=TIMEOUT_MS):
            service.index([str(photos)])
        qtbot.waitUntil(lambda: not service.busy, timeout=TIMEOUT_MS)
        library = service.library
        before = search(qtbot, win, "a red circle")
        assert before.error is None and before.hits

        # The settings dialog's OK: another model.
        desktop.apply_settings(replace(settings, model=NEW_MODEL))
        qtbot.waitUntil(lambda: service.writes.switch_job is not None, timeout=TIMEOUT_MS)
        switch = service.writes.switch_job
        switch.pause()  # hold the switch half-way, to search while it is not done
        assert service.switching and not switch.done()
        for text in ("a blue square", "a star"):
            during = search(qtbot, win, text)
            assert during.error is None and len(during.hits) > 0, during.error
            assert library.model_name == MODEL
        assert library.status()["model"] == MODEL
        assert not switch.done(), "the switch ended before the searches: they proved nothing"

        with qtbot.waitSignal(service.switchFinished, timeout=TIMEOUT_MS) as finished:
            switch.resume()
        assert finished.args == [NEW_MODEL, True]
        qtbot.waitUntil(lambda: NEW_MODEL in win.status.model_label.text(), timeout=TIMEOUT_MS)
        after = search(qtbot, win, "a green heart")
        assert after.error is None and len(after.hits) > 0
        assert library.model_name == NEW_MODEL and library.encoder.dim == 48
        assert library.status()["indexed"] == PHOTOS
        qtbot.waitUntil(lambda: not service.busy, timeout=TIMEOUT_MS)
    finally:
        close_window(qtbot, win)
