"""The window offers the OCR and face models an index went without, and reads the photos
once they are downloaded (the installer leaves them out; tests/reader_releases.py serves
them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from gui_windows import TIMEOUT_MS, close_window, open_window
from PySide6.QtWidgets import QWidget
from reader_releases import serve_releases

from clipdesk.core.search import SearchQuery
from clipdesk.gui.reader_models import ReaderModelsOffer
from tests.test_photo_text import draw_photo


@pytest.fixture
def readers_missing(server, monkeypatch):
    monkeypatch.setenv("CLIPDESK_OCR", "1")  # a user's defaults (the test run turns them off)
    monkeypatch.setenv("CLIPDESK_FACES", "1")
    return serve_releases(server, monkeypatch)


def _button(box, text: str):
    return next(b for b in box.buttons() if b.text() == text)


def test_the_window_offers_the_models_then_reads_the_photos(qtbot, tmp_path, readers_missing):
    photos = tmp_path / "photos"
    photos.mkdir()
    draw_photo(photos / "bakery.jpg", ("BAKERY",), seed=0)
    draw_photo(photos / "sky.jpg", None, seed=4)
    win = open_window(qtbot, tmp_path / "lib")
    try:
        with qtbot.waitSignal(win.service.indexFinished, timeout=TIMEOUT_MS) as first:
            win.side.folders.addRequested.emit(str(photos))
        assert first.args[0].models_missing == ["faces", "ocr"]
        box = win.reader_offer.box
        qtbot.waitUntil(lambda: box is not None and box.isVisible(), timeout=5000)
        assert "finding faces and reading text in photos" in box.text()
        size = sum(r.size for r in readers_missing[1].values()) / 1e6
        assert f"({size:.0f} MB)" in box.text()
        assert win.isEnabled()  # the question does not block the window
        with qtbot.waitSignal(win.service.indexFinished, timeout=TIMEOUT_MS) as second:
            _button(box, "Download").click()
        assert second.args[0].models_missing == []
        assert second.args[0].decoded == 2  # both photos read again, for text and faces
        hits = win.service.library.find(SearchQuery.from_text("text:bakery", k=5)).hits
        assert [Path(h.path).name for h in hits] == ["bakery.jpg"]
    finally:
        close_window(qtbot, win)


def test_not_now_asks_no_more_in_this_window(qtbot, readers_missing):
    parent = QWidget()
    qtbot.addWidget(parent)
    reindexed: list[bool] = []
    offer = ReaderModelsOffer(parent, reindex=lambda: reindexed.append(True), say=print)
    offer.offer(["ocr"])
    box = offer.box
    assert box is not None and box.isVisible()
    assert "reading text in photos" in box.text() and "faces" not in box.text()
    _button(box, "Not now").click()
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=5000)
    offer.offer(["ocr", "faces"])
    assert offer.box is box and not box.isVisible() and offer.dialog is None
    assert reindexed == []
    offer.offer([])  # nothing missing: nothing to ask
    assert offer.box is box
