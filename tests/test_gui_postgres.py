"""The window on a shared PostgreSQL library: the same app, pointed at another library.

A real PostgreSQL with pgvector (tests/pg_server.py). The window adds a folder, indexes
it, and answers a typed query with the photos the command line's search ranks first.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from clipdesk.core.library import Library
from clipdesk.training.shapes import write_sample_library


def test_the_window_indexes_and_searches_a_postgresql_library(qtbot, pg_url, tmp_path):
    from gui_windows import TIMEOUT_MS, close_window, open_window

    records = write_sample_library(tmp_path / "photos", 24, seed=5)
    win = open_window(qtbot, pg_url)  # type: ignore[arg-type]
    try:
        with qtbot.waitSignal(win.service.indexFinished, timeout=TIMEOUT_MS):
            win.side.folders.addRequested.emit(str(tmp_path / "photos"))
        text = "a red circle"
        with qtbot.waitSignal(
            win.resultsShown, timeout=TIMEOUT_MS, check_params_cb=lambda o: o.request.text == text
        ):
            win.search_bar.set_text(text)
        shown = [h.path for h in win.model.hits()]
        password = urlsplit(pg_url).password
        assert password and password not in win.windowTitle()
        assert password not in win.status.currentMessage()
    finally:
        close_window(qtbot, win)
    assert len(shown) >= 5
    with Library.open(pg_url, model="tiny-shapes") as library:
        assert library.status()["indexed"] == len(records)
        expected = [h.path for h in library.search(text, k=5).hits]
    assert shown[:5] == expected
    assert all(os.path.isfile(p) for p in shown)
