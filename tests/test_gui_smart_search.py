"""The window's smart search: suggestions, the query language, date order, the photo
window's place, date, camera and text (boxed), and smart albums that fill as photos come.

A small library (three photos: a sign in Lisbon with a time zone, a menu in Madrid, one
without GPS or text) is read with real OCR once for the module.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import shutil
from pathlib import Path

import pytest

from clipdesk.core.library import Library
from clipdesk.core.progress import run_to_end as run
from clipdesk.gui.main_window import MainWindow
from tests.gui_windows import TIMEOUT_MS, close_window, open_window
from tests.test_photo_facts import PLACES, write_exif
from tests.test_photo_text import draw_photo


@pytest.fixture(scope="module")
def smart_library(tmp_path_factory, tiny_shapes_installed):
    base = tmp_path_factory.mktemp("smart-gui")
    photos = base / "photos"
    photos.mkdir()
    spare = base / "spare"
    spare.mkdir()
    draw_photo(photos / "sign.jpg", ("BAKERY", "open daily"), seed=0, size=(640, 480))
    write_exif(
        photos / "sign.jpg",
        when=dt.datetime(2023, 6, 1, 9, 30),
        offset="+01:00",
        camera="Canon|Canon EOS R5",
        position=PLACES["Lisbon"],
    )
    draw_photo(photos / "menu.jpg", ("MENU",), seed=2, size=(640, 480))
    write_exif(photos / "menu.jpg", when=dt.datetime(2024, 2, 1, 12), position=PLACES["Madrid"])
    draw_photo(photos / "plain.jpg", None, seed=4, size=(640, 480))
    write_exif(photos / "plain.jpg", when=dt.datetime(2022, 1, 1, 12))
    draw_photo(spare / "porto.jpg", None, seed=5, size=(640, 480))
    write_exif(spare / "porto.jpg", when=dt.datetime(2025, 1, 1), position=PLACES["Porto"])
    with Library.open(base / "lib", model=tiny_shapes_installed) as library:
        run(library.index([photos], workers=1, text=True))
    return base


@pytest.fixture
def window(qtbot, smart_library, tmp_path):
    directory = tmp_path / "lib"
    shutil.copytree(smart_library / "lib", directory)
    win = open_window(qtbot, directory)
    yield win
    close_window(qtbot, win)


def search(qtbot, win: MainWindow, text: str):
    with qtbot.waitSignal(
        win.resultsShown, timeout=TIMEOUT_MS, check_params_cb=lambda o: o.request.text == text
    ) as blocker:
        win.search_bar.set_text(text)
    return blocker.args[0]


def names(outcome) -> list[str]:
    return [Path(hit.path).name for hit in outcome.hits]


def test_the_box_suggests_operators_places_cameras_and_words(qtbot, window):
    completer = window.search_bar.completer
    qtbot.waitUntil(lambda: bool(completer.suggestions.places), timeout=TIMEOUT_MS)
    assert {"Lisbon", "Portugal", "Madrid", "Spain"} <= set(completer.suggestions.places)
    for typed, offered in (
        ("beach pla", "beach place:"),
        ("beach place:lis", "beach place:Lisbon"),
        ("camera:can", 'camera:"Canon EOS R5"'),
        ("text:bak", "text:bakery"),
        ("text:op", "text:open"),
    ):
        completer.update(typed)
        assert offered in completer.offers(), typed
    completer.update("colour:")
    assert completer.offers() == []


def test_the_box_reads_operators_and_bad_queries_say_why(qtbot, window):
    assert names(search(qtbot, window, "place:Portugal")) == ["sign.jpg"]
    assert names(search(qtbot, window, "text:bakery")) == ["sign.jpg"]
    assert names(search(qtbot, window, "text:menu place:Spain")) == ["menu.jpg"]
    assert names(search(qtbot, window, "after:2023 camera:canon")) == ["sign.jpg"]
    bad = search(qtbot, window, "colour:red")
    assert bad.hits == [] and 'unknown operator "colour:"' in bad.error


def test_results_sort_by_date(qtbot, window):
    window.search_bar.sort.setCurrentIndex(window.search_bar.sort.findData("date"))
    outcome = search(qtbot, window, "a red circle")
    assert outcome.request.sort == "date"
    assert names(outcome) == ["menu.jpg", "sign.jpg", "plain.jpg"]


def test_photo_window_shows_place_date_camera_and_boxed_text(qtbot, window):
    search(qtbot, window, "text:bakery")
    window.show_detail(window.view.model().index(0, 0))
    detail = window.detail
    qtbot.waitUntil(lambda: "Text" in detail.facts, timeout=TIMEOUT_MS)
    assert detail.facts["Place"] == "Lisbon, Portugal"
    assert detail.facts["Taken"] == "2023-06-01 09:30 UTC+0100"
    assert detail.facts["Camera"] == "Canon EOS R5"
    assert "BAKERY" in detail.facts["Text"]
    assert detail.preview.text is not None and len(detail.preview.text.lines) >= 2
    qtbot.waitUntil(lambda: not detail.preview.pixmap().isNull(), timeout=TIMEOUT_MS)
    # The text's box is drawn: the box colour lies on the middle of each edge of a line.
    image = detail.preview.pixmap().toImage()
    text = detail.preview.text
    sx, sy = image.width() / text.width, image.height() / text.height

    def boxed(x: float, y: float) -> bool:
        near = [
            image.pixelColor(int(x * sx) + dx, int(y * sy) + dy)
            for dx in range(-2, 3)
            for dy in range(-2, 3)
        ]
        return any(c.blue() > 200 and c.red() < 140 for c in near)

    for line in text.lines:
        corners = [*line.box, line.box[0]]
        for (ax, ay), (bx, by) in itertools.pairwise(corners):
            assert boxed((ax + bx) / 2, (ay + by) / 2), line
    plain = search(qtbot, window, "after:2021 before:2023")
    assert names(plain) == ["plain.jpg"]


def test_a_saved_search_is_an_album_that_fills_as_photos_arrive(qtbot, window, smart_library):
    search(qtbot, window, "place:Portugal")
    window.save_album()
    assert window.settings.smart_albums == ["place:Portugal"]
    assert window.side.albums.albums() == ["place:Portugal"]
    search(qtbot, window, "text:menu")
    item = window.side.albums.list.item(0)
    with qtbot.waitSignal(window.resultsShown, timeout=TIMEOUT_MS) as blocker:
        window.side.albums.list.itemClicked.emit(item)
    assert names(blocker.args[0]) == ["sign.jpg"]
    root = window.service.library.roots()[0].fspath
    shutil.copy(smart_library / "spare" / "porto.jpg", os.path.join(root, "porto.jpg"))
    with qtbot.waitSignal(
        window.resultsShown,
        timeout=TIMEOUT_MS,
        check_params_cb=lambda o: "porto.jpg" in names(o),
    ) as blocker:
        window.service.index()
    assert names(blocker.args[0]) == ["porto.jpg", "sign.jpg"]  # newest first
    window.remove_album("place:Portugal")
    assert window.settings.smart_albums == [] and window.side.albums.albums() == []


def test_read_text_setting_decides_whether_the_window_reads_text(qtbot, tmp_path, monkeypatch):
    from clipdesk.gui.settings import Settings, load_settings, save_settings
    from clipdesk.gui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    assert dialog.read_text.isChecked()
    dialog.read_text.setChecked(False)
    save_settings(dialog.result_settings(), tmp_path / "settings.json")
    chosen = load_settings(tmp_path / "settings.json")
    assert chosen.read_text is False

    monkeypatch.delenv("CLIPDESK_OCR")  # the default: on
    photos = tmp_path / "photos"
    photos.mkdir()
    draw_photo(photos / "sign.jpg", ("GARDEN",), seed=3, size=(480, 320))
    win = open_window(qtbot, tmp_path / "lib")
    try:
        win.service.read_text = chosen.read_text  # as the app applies its settings
        catalog = win.service.library.catalog
        # Kept in the library too, so its folder watcher and the command line follow it.
        qtbot.waitUntil(lambda: catalog.get_meta("read_text") == "off", timeout=TIMEOUT_MS)
        with qtbot.waitSignal(win.service.indexFinished, timeout=TIMEOUT_MS):
            win.side.folders.addRequested.emit(str(photos))
        fingerprint = catalog.file_by_path(photos.resolve() / "sign.jpg").fingerprint
        assert catalog.photo_text(fingerprint) is None
        win.service.read_text = True
        qtbot.waitUntil(lambda: catalog.get_meta("read_text") == "on", timeout=TIMEOUT_MS)
        with qtbot.waitSignal(win.service.indexFinished, timeout=TIMEOUT_MS):
            win.service.index()
        assert [line.text for line in catalog.photo_text(fingerprint).lines] == ["GARDEN"]
    finally:
        close_window(qtbot, win)
