"""The window's People panel: cover faces cut from real photos, a click searches by person."""

from __future__ import annotations

from face_photos import VARIANTS, source, write_people

from clipdesk.core.people.records import PersonInfo
from clipdesk.gui.jobs import SearchRequest
from clipdesk.gui.people_panel import ICON, PeoplePanel, cover_faces


def test_people_panel_shows_covers_and_a_click_selects_the_person(qtbot):
    photo = str(source("2008_002506.jpg"))
    people = [
        PersonInfo(3, None, 12, 14, False, photo, (0.25, 0.17, 0.43, 0.42)),
        PersonInfo(5, "Ann", 2, 2, False, photo, (0.66, 0.21, 0.88, 0.50)),
        PersonInfo(7, "Gone", 1, 1, False, "/no/such/photo.jpg", (0.1, 0.1, 0.2, 0.2)),
    ]
    entries = cover_faces(people)
    assert [e.label for e in entries] == ["Person 3", "Ann", "Gone"]
    assert entries[0].cover_png and entries[1].cover_png and entries[2].cover_png is None
    panel = PeoplePanel()
    qtbot.addWidget(panel)
    assert panel.isHidden()
    panel.set_people(entries)
    assert not panel.isHidden() and panel.list.count() == 3
    icon = panel.list.item(0).icon()
    assert not icon.isNull() and icon.availableSizes()[0].width() == ICON
    with qtbot.waitSignal(panel.changed):
        panel._clicked(panel.list.item(1))
    assert panel.selected() == "5"
    request = SearchRequest(person=panel.selected())
    assert not request.empty and request.to_query().filters.persons == ("5",)
    with qtbot.waitSignal(panel.changed):
        panel._clicked(panel.list.item(1))  # again: the filter is cleared
    assert panel.selected() is None
    panel.select("3")
    panel.set_people(entries[1:])  # person 3 is gone (merged, hidden): the filter goes too
    assert panel.selected() is None


def test_the_window_finds_people_and_a_click_on_a_face_names_it(qtbot, tmp_path, monkeypatch):
    from gui_windows import TIMEOUT_MS, close_window, open_window
    from PySide6.QtCore import QPoint, Qt

    monkeypatch.setenv("CLIPDESK_FACES", "1")  # the app's default (the test run turns it off)
    photos = write_people(tmp_path / "photos", variants=VARIANTS[:2])
    win = open_window(qtbot, tmp_path / "lib")
    try:
        with qtbot.waitSignal(win.service.indexFinished, timeout=TIMEOUT_MS):
            win.side.folders.addRequested.emit(str(tmp_path / "photos"))
        people = win.side.people
        qtbot.waitUntil(lambda: people.list.count() == 4, timeout=TIMEOUT_MS)
        # A click on a person shows their photos only.
        with qtbot.waitSignal(win.resultsShown, timeout=TIMEOUT_MS):
            people._clicked(people.list.item(0))
        shown = {h.path for h in win.model.hits()}
        assert shown and len(shown) < len(photos)
        # A listing by person alone is not ranked: no score badges on it.
        from clipdesk.gui.results_model import PaintRole

        assert win.model.index(0).data(PaintRole)[2] is None
        # In a photo's window, a click on a face names it.
        row = 0
        path = win.model.hits()[row].path
        win.show_detail(win.model.index(row))
        detail = win.detail
        qtbot.waitUntil(lambda: bool(detail.preview.faces), timeout=TIMEOUT_MS)
        qtbot.waitUntil(lambda: not detail.preview._shown.isEmpty(), timeout=TIMEOUT_MS)
        face = max(detail.preview.faces, key=lambda f: f.box[2] - f.box[0])
        monkeypatch.setattr(win, "ask_face_name", lambda current: "Ann")
        label, size = detail.preview, detail.preview._shown
        x = (label.width() - size.width()) / 2 + (face.box[0] + face.box[2]) / 2 * size.width()
        y = (label.height() - size.height()) / 2 + (face.box[1] + face.box[3]) / 2 * size.height()
        with qtbot.waitSignal(win.service.photoFacesChanged, timeout=TIMEOUT_MS):
            qtbot.mouseClick(label, Qt.MouseButton.LeftButton, pos=QPoint(round(x), round(y)))
        qtbot.waitUntil(
            lambda: any(f.person_name == "Ann" for f in detail.preview.faces), timeout=TIMEOUT_MS
        )
        qtbot.waitUntil(
            lambda: any(
                people.list.item(i).text().startswith("Ann") for i in range(people.list.count())
            ),
            timeout=TIMEOUT_MS,
        )
        assert path == detail.hit.path
    finally:
        close_window(qtbot, win)


def test_find_faces_setting_is_kept_and_turns_faces_off(qtbot, tmp_path, monkeypatch):
    from gui_windows import TIMEOUT_MS, close_window, open_window

    from clipdesk.gui.settings import Settings, load_settings, save_settings
    from clipdesk.gui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    assert dialog.find_faces.isChecked()
    dialog.find_faces.setChecked(False)
    chosen = dialog.result_settings()
    save_settings(chosen, tmp_path / "settings.json")
    assert load_settings(tmp_path / "settings.json").find_faces is False

    monkeypatch.setenv("CLIPDESK_FACES", "1")
    write_people(tmp_path / "photos", variants=VARIANTS[:1])
    win = open_window(qtbot, tmp_path / "lib")
    try:
        win.service.find_faces = chosen.find_faces  # as the app applies its settings
        with qtbot.waitSignal(win.service.indexFinished, timeout=TIMEOUT_MS) as done:
            win.side.folders.addRequested.emit(str(tmp_path / "photos"))
        assert done.args[0].decoded == 4 and done.args[0].faces == 0
        library = win.service.library
        qtbot.waitUntil(lambda: library.people.faces_on() is False, timeout=TIMEOUT_MS)
    finally:
        close_window(qtbot, win)
