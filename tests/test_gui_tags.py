"""Tags and near-duplicates from the window, on real tiny-shapes libraries.

The window tags a library by itself after indexing, takes the user's yes / no on a
photo's tag in the detail view, teaches a tag from selected photos, and shows groups of
near-duplicates. Each test has its own library and fails if it leaves a worker running.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from gui_windows import TIMEOUT_MS, close_window, open_window
from PIL import Image
from PySide6.QtCore import QItemSelectionModel, Qt

from clipdesk.gui.main_window import MainWindow
from clipdesk.training.shapes import write_sample_library


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """24 sample photos and their truth, written once for the module."""
    directory = tmp_path_factory.mktemp("tag-photos")
    return directory, write_sample_library(directory, 24, seed=21)


def resolved(path: Path) -> str:
    return os.fspath(Path(path).resolve())


@pytest.fixture
def window(qtbot, tmp_path):
    win = open_window(qtbot, tmp_path / "lib")
    yield win
    close_window(qtbot, win)


def index_and_wait_for_tags(qtbot, win: MainWindow, folder: Path):
    """Add ``folder``; the window indexes it, then tags the library by itself."""
    with qtbot.waitSignal(win.service.tagsUpdated, timeout=TIMEOUT_MS) as tagged:
        win.side.folders.addRequested.emit(str(folder))
    qtbot.waitUntil(lambda: win.side.tags.list.count() > 0, timeout=TIMEOUT_MS)
    return tagged.args[0]


def open_detail_of(qtbot, win: MainWindow, path: str):
    """Search for every photo with a tag filter off, and open ``path`` in the detail view."""
    with qtbot.waitSignal(win.resultsShown, timeout=TIMEOUT_MS):
        win.search_bar.set_text("a shape")
    win.model.show_all()
    row = next(i for i, h in enumerate(win.model.hits()) if h.path == path)
    win.show_detail(win.model.index(row))
    detail = win.detail
    qtbot.waitUntil(lambda: detail.tag_editor.heading.text() == "Tags", timeout=TIMEOUT_MS)
    return detail


def test_the_window_tags_new_photos_by_itself(qtbot, window, sample):
    folder, records = sample
    report = index_and_wait_for_tags(qtbot, window, folder)
    assert report is not None and report.photos == len(records) and not report.learned
    library = window.service.library
    assert not library.tags.stale()
    counts = {t.name: t.count for t in library.tags.list_tags() if t.count}
    assert window.side.tags.list.count() == len(counts) > 0
    # The zero-shot tags are mostly right: each one is on photos that show it.
    truth = {resolved(r.path): set(r.shapes) | set(r.colours) for r in records}
    right = total = 0
    for name in counts:
        for photo in library.tags.photos(name):
            total += 1
            right += name in truth[photo.path]
    assert total and right / total >= 0.7

    # A new photo in a watched folder is tagged after the next index run.
    extra = write_sample_library(folder / "later", 1, seed=99)
    try:
        with qtbot.waitSignal(window.service.tagsUpdated, timeout=TIMEOUT_MS) as again:
            window.service.index()
        assert again.args[0].photos == len(records) + 1
        assert not library.tags.stale()
    finally:
        shutil.rmtree(extra[0].path.parent)


def test_yes_no_and_undo_on_a_photo_in_the_detail_view(qtbot, window, sample):
    folder, _ = sample
    index_and_wait_for_tags(qtbot, window, folder)
    library = window.service.library
    name = window.side.tags.list.item(0).data(Qt.ItemDataRole.UserRole + 1)
    path = library.tags.photos(name)[0].path
    detail = open_detail_of(qtbot, window, path)
    row = detail.tag_editor.row(name)
    assert row is not None and set(row.buttons) == {"yes", "no"}

    def decide(decision: str, button_of: str) -> None:
        with qtbot.waitSignals(
            [window.service.photoTagsChanged, window.service.tagsUpdated], timeout=TIMEOUT_MS
        ):
            detail.tag_editor.row(button_of).buttons[decision].click()

    decide("no", name)
    mine = {t.name: t for t in library.tags.tags_of(path)}
    assert mine[name].rejected
    qtbot.waitUntil(lambda: set(detail.tag_editor.row(name).buttons) == {"forget"})
    assert name not in dict(detail.tags)
    assert path not in {p.path for p in library.tags.photos(name)}

    decide("forget", name)
    assert not any(t.rejected for t in library.tags.tags_of(path) if t.name == name)
    # The model decides again, as it did before the user's word.
    qtbot.waitUntil(
        lambda: (
            detail.tag_editor.row(name) is not None
            and set(detail.tag_editor.row(name).buttons) == {"yes", "no"}
        ),
        timeout=TIMEOUT_MS,
    )

    decide("yes", name)
    mine = {t.name: t for t in library.tags.tags_of(path)}
    assert mine[name].source == "manual" and not mine[name].rejected
    qtbot.waitUntil(lambda: set(detail.tag_editor.row(name).buttons) == {"no", "forget"})

    # A name the vocabulary does not have becomes the user's own tag on this photo.
    with qtbot.waitSignals(
        [window.service.photoTagsChanged, window.service.tagsUpdated], timeout=TIMEOUT_MS
    ):
        qtbot.keyClicks(detail.tag_editor.add_field, "our dog Rex")
        qtbot.keyClick(detail.tag_editor.add_field, Qt.Key.Key_Return)
    info = {t.name: t for t in library.tags.list_tags()}["our dog Rex"]
    assert info.origin == "custom" and info.count == 1
    qtbot.waitUntil(lambda: detail.tag_editor.row("our dog Rex") is not None)


def test_tagging_selected_photos_teaches_a_tag_for_the_library(qtbot, window, sample):
    folder, records = sample
    index_and_wait_for_tags(qtbot, window, folder)
    library = window.service.library
    colour = max({c for r in records for c in r.colours},
                 key=lambda c: sum(c in r.colours for r in records))  # fmt: skip
    reds = [resolved(r.path) for r in records if colour in r.colours][:4]
    assert len(reds) >= 3
    with qtbot.waitSignal(window.resultsShown, timeout=TIMEOUT_MS):
        window.search_bar.set_text("a shape")
    window.model.show_all()
    selection = window.view.selectionModel()
    selection.clearSelection()
    for row, hit in enumerate(window.model.hits()):
        if hit.path in reds:
            selection.select(window.model.index(row), QItemSelectionModel.SelectionFlag.Select)
    assert sorted(window.view.selected_paths()) == sorted(reds)
    with qtbot.waitSignal(window.service.tagsUpdated, timeout=TIMEOUT_MS) as tagged:
        window.tag_selected("my favourite colour")
    assert tagged.args[0].tags == 1 and tagged.args[0].learned == ["my favourite colour"]
    tagged_paths = {p.path: p.source for p in library.tags.photos("my favourite colour")}
    assert {tagged_paths[p] for p in reds} == {"manual"}
    panel = window.side.tags.list

    def listed() -> set[str]:
        return {panel.item(i).data(Qt.ItemDataRole.UserRole + 1) for i in range(panel.count())}

    qtbot.waitUntil(lambda: "my favourite colour" in listed(), timeout=TIMEOUT_MS)


def test_the_duplicates_window_groups_copies_and_keeps_the_largest(qtbot, window, tmp_path):
    photos = tmp_path / "photos"
    records = write_sample_library(photos, 6, seed=4)
    original = Path(records[0].path)
    with Image.open(original) as image:
        rgb = image.convert("RGB")
        rgb.save(photos / "resaved.jpg", "JPEG", quality=55)
        rgb.resize((rgb.width // 2, rgb.height // 2)).save(photos / "small.png")
    with qtbot.waitSignal(window.service.indexFinished, timeout=TIMEOUT_MS):
        window.side.folders.addRequested.emit(str(photos))
    with qtbot.waitSignal(window.service.dupesFinished, timeout=TIMEOUT_MS) as found:
        window.dupes_button.click()
    report = found.args[0]
    dialog = window.duplicates
    assert dialog.isVisible() and report is dialog.report
    tree = dialog.tree
    assert tree.topLevelItemCount() == 1, "different photos are not grouped"
    group = tree.topLevelItem(0)
    members = [group.child(i).data(0, Qt.ItemDataRole.UserRole + 1) for i in range(3)]
    assert group.childCount() == 3
    assert set(members) == {resolved(original), resolved(photos / "resaved.jpg"),
                            resolved(photos / "small.png")}  # fmt: skip
    assert "(keep)" in group.child(0).text(0) and "(keep)" not in group.child(1).text(0)
    assert members[0] == resolved(original), "the original has the most pixels and bytes"
    assert dialog.status.text().startswith("1 group: 2 of 8 photos")


def test_the_vocabulary_is_edited_from_the_tags_panel(qtbot, window, sample):
    folder, _ = sample
    index_and_wait_for_tags(qtbot, window, folder)
    library = window.service.library
    panel = window.side.tags.list

    def listed() -> set[str]:
        return {panel.item(i).data(Qt.ItemDataRole.UserRole + 1) for i in range(panel.count())}

    name = panel.item(0).data(Qt.ItemDataRole.UserRole + 1)
    carrying = {p.path for p in library.tags.photos(name)}

    def edit(action: str, tag: str, value) -> None:
        with qtbot.waitSignal(window.service.tagsUpdated, timeout=TIMEOUT_MS):
            window.edit_tag(action, tag, value)

    edit("rename", name, f"my {name}")
    assert {p.path for p in library.tags.photos(f"my {name}")} == carrying
    qtbot.waitUntil(lambda: f"my {name}" in listed() and name not in listed())

    edit("describe", f"my {name}", f"a {name} shape; something shaped like a {name}")
    vocabulary = {t.name: t for t in library.tags.vocabulary()}
    assert vocabulary[f"my {name}"].prompt.startswith(f"a {name} shape")

    edit("remove", f"my {name}", None)
    assert f"my {name}" not in {t.name for t in library.tags.vocabulary()}
    qtbot.waitUntil(lambda: f"my {name}" not in listed())

    edit("add", name, None)
    assert name in {t.name for t in library.tags.vocabulary()}
    qtbot.waitUntil(lambda: name in listed(), timeout=TIMEOUT_MS)
