"""The window's People panel: cover faces cut from real photos, a click searches by person."""

from __future__ import annotations

from face_photos import source

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
