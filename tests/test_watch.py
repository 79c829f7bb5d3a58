"""A real watcher on temporary folders: every change is followed, moves cost nothing.

After each change the test waits for the watcher to be idle, then checks that
``status`` and a search that asks for everything agree with the files on disk, and
counts the images the (real) encoder was given.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import image_samples
from test_watch_common import (
    FAST,
    CountingEncoder,
    assert_agrees,
    open_library,
    settle,
    wait_for,
    write_image,
)

from clipdesk.core.check import check_library
from clipdesk.core.progress import run_to_end as run_job
from clipdesk.core.watch import WatchEventKind


def test_every_change_is_followed_and_moves_cost_no_encoding(tmp_path, watched):
    photos = tmp_path / "photos"
    for i in range(6):
        write_image(photos / ("a" if i % 2 else "b") / f"IMG_{i}.png", seed=i)
    library, watcher, encoder = watched(photos)
    assert encoder.images == 6
    assert_agrees(library, photos)
    modes = watcher.status().roots
    assert modes == {os.fspath(photos.resolve()): "events"}

    write_image(photos / "a" / "new.png", seed=100)  # create
    settle(watcher)
    assert encoder.images == 7
    assert_agrees(library, photos)

    before = (encoder.images, watcher.totals.decoded)
    (photos / "a" / "new.png").rename(photos / "a" / "renamed.png")  # rename
    settle(watcher)
    assert_agrees(library, photos)
    (photos / "a" / "renamed.png").rename(photos / "b" / "renamed.png")  # between folders
    settle(watcher)
    assert_agrees(library, photos)
    (photos / "b" / "renamed.png").rename(photos / "b" / "RENAMED.png")  # case only
    settle(watcher)
    assert_agrees(library, photos)
    (photos / "b").rename(photos / "c")  # a whole folder
    settle(watcher)
    assert_agrees(library, photos)
    assert (encoder.images, watcher.totals.decoded) == before, "a move read or encoded a file"
    assert watcher.totals.moved >= 4 + 3

    shutil.copy(photos / "c" / "RENAMED.png", photos / "copy.png")  # copies share a vector
    settle(watcher)
    assert_agrees(library, photos)
    assert encoder.images == before[0]
    key = library.encoder.model_key
    assert len(library.catalog.embedding_ids(key)) == 7

    (photos / "a" / "IMG_1.png").unlink()  # delete
    shutil.rmtree(photos / "c")  # a folder with its photos
    settle(watcher)
    assert_agrees(library, photos)
    assert library.status()["indexed"] == 3
    assert check_library(library).ok


def test_a_file_copied_in_slowly_is_read_once_when_complete(tmp_path, watched):
    photos = tmp_path / "photos"
    write_image(photos / "first.png", seed=1)
    # A copy stalled for the settle time on a busy machine is read early (then again once
    # complete), which this test would take for a failure: so six times the write interval.
    # The copy lasts longer than both the settle time and max_delay_s, so the folder is
    # looked at while the file still grows.
    settings = FAST.__class__(**{**FAST.__dict__, "settle_s": 1.2, "max_delay_s": 1.0})
    library, watcher, encoder = watched(photos, settings=settings)
    source = tmp_path / "big.jpg"
    source.write_bytes(image_samples.jpeg_bytes(image_samples.photo(800, 600, seed=3)))
    target = photos / "slow.jpg"
    writer = subprocess.Popen(  # grows the file for about 2.4 seconds
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "data = open(sys.argv[1], 'rb').read()\n"
            "step = len(data) // 12 + 1\n"
            "with open(sys.argv[2], 'wb') as out:\n"
            "    for i in range(0, len(data), step):\n"
            "        out.write(data[i:i + step]); out.flush(); time.sleep(0.2)\n",
            str(source),
            str(target),
        ]
    )
    seen_early = []
    while writer.poll() is None:
        record = library.catalog.file_by_path(os.fsencode(target.resolve()))
        if record is not None:
            seen_early.append(record.status)
    assert writer.wait() == 0
    assert not seen_early, "the file was taken in while it was still being written"
    settle(watcher)
    record = library.catalog.file_by_path(os.fsencode(target.resolve()))
    assert record is not None and record.status == "ok"
    assert watcher.totals.decoded == 2 and watcher.totals.skipped == 0
    assert encoder.images == 2
    assert_agrees(library, photos)


def test_moves_between_roots_keep_their_embedding(tmp_path, watched):
    one, two = tmp_path / "one", tmp_path / "two"
    for i in range(4):
        write_image(one / "sub" / f"p{i}.png", seed=i)
    write_image(two / "q.png", seed=50)
    library, watcher, encoder = watched(one, two)
    assert encoder.images == 5
    (one / "sub" / "p0.png").rename(two / "p0.png")
    (one / "sub").rename(two / "sub")
    settle(watcher)
    assert_agrees(library, one, two)
    assert encoder.images == 5 and watcher.totals.decoded == 5
    in_two = library.catalog.files_of_root(library.roots()[1].id)
    names = ("q.png", "p0.png", "sub/p1.png", "sub/p2.png", "sub/p3.png")
    assert {r.fspath for r in in_two.values()} == {os.fspath((two / n).resolve()) for n in names}


def test_an_unplugged_root_is_offline_and_comes_back_without_work(tmp_path, watched):
    photos, away = tmp_path / "drive" / "photos", tmp_path / "elsewhere"
    for i in range(5):
        write_image(photos / f"p{i}.png", seed=i)
    library, watcher, encoder = watched(photos)
    kinds = []
    watcher._on_event = lambda e: kinds.append(e.kind)  # listen from now on
    photos.rename(away)  # the drive is unplugged
    assert wait_for(lambda: library.status()["offline"] == 5, 60)
    settle(watcher)
    status = library.status()
    assert (status["indexed"], status["offline"]) == (0, 5)
    assert status["roots"][0]["online"] is False
    assert library.search("a picture", k=20).hits == []
    assert watcher.status().roots == {os.fspath(photos.resolve()): "offline"}
    assert check_library(library).ok

    away.rename(photos)  # plugged in again
    assert wait_for(lambda: library.status()["indexed"] == 5, 60)
    settle(watcher)
    assert_agrees(library, photos)
    assert encoder.images == 5 and watcher.totals.decoded == 5, "coming back cost work"
    assert WatchEventKind.OFFLINE in kinds and WatchEventKind.ONLINE in kinds
    assert watcher.status().roots == {os.fspath(photos.resolve()): "events"}
    write_image(photos / "after.png", seed=77)  # and it is followed by events again
    settle(watcher)
    assert_agrees(library, photos)


def test_an_empty_mount_point_is_offline_not_deleted(tmp_path, watched):
    mount = tmp_path / "mnt"
    for i in range(3):
        write_image(mount / f"p{i}.png", seed=i)
    library, watcher, _ = watched(mount)
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    for child in list(mount.iterdir()):
        child.rename(hidden / child.name)  # what an unmounted share leaves behind
    assert wait_for(lambda: library.status()["offline"] == 3, 60)
    settle(watcher)
    assert library.catalog.counts(library.encoder.model_key).offline == 3
    for child in list(hidden.iterdir()):
        child.rename(mount / child.name)
    assert wait_for(lambda: library.status()["indexed"] == 3, 60)
    settle(watcher)
    assert_agrees(library, mount)


def test_removing_and_adding_a_root_again_reuses_embeddings(tmp_path, watched):
    photos = tmp_path / "photos"
    for i in range(4):
        write_image(photos / f"p{i}.png", seed=i)
    library, watcher, encoder = watched(photos)
    watcher.remove_root(photos)
    settle(watcher)
    assert library.status()["indexed"] == 0 and library.roots() == []
    assert watcher.status().roots == {}
    write_image(photos / "later.png", seed=9)  # no longer followed
    settle(watcher)
    assert library.status()["pending"] == 0 and library.status()["indexed"] == 0

    watcher.add_root(photos)
    settle(watcher)
    assert_agrees(library, photos)
    assert encoder.images == 5, "re-adding a root encoded its old photos again"


def test_tags_stay_with_a_photo_that_is_moved(tmp_path, watched):
    photos = tmp_path / "photos"
    for i in range(2):
        write_image(photos / f"p{i}.png", seed=i)
    (photos / "sub").mkdir()
    library, watcher, encoder = watched(photos)
    library.tags.add_tag("Aunt Mary", custom=True)
    library.tags.confirm("Aunt Mary", [photos / "p0.png"])
    moved = photos / "sub" / "renamed.png"
    (photos / "p0.png").rename(moved)
    settle(watcher)
    mine = [t.name for t in library.tags.tags_of(moved) if t.source == "manual"]
    assert mine == ["Aunt Mary"]
    assert [p.path for p in library.tags.photos("Aunt Mary")] == [os.fspath(moved.resolve())]
    assert encoder.images == 2


def test_reconcile_looks_only_where_it_is_told_and_still_sees_moves(tmp_path, shared_encoder):
    photos = tmp_path / "photos"
    for name in ("a/1.png", "a/2.png", "b/3.png"):
        write_image(photos / name, seed=len(name) + ord(name[-5]))
    with open_library(tmp_path / "lib", CountingEncoder(shared_encoder)) as library:
        library.add_root(photos)
        report = run_job(library.reconcile([photos / "a"]))
        assert (report.added, report.encoded) == (2, 2)
        assert library.status()["indexed"] == 2  # b/ was not looked at
        (photos / "a" / "1.png").rename(photos / "b" / "1.png")
        report = run_job(library.reconcile([photos / "b"]))  # a/ not looked at: still a move
        assert (report.added, report.moved, report.decoded) == (1, 1, 1)
        report = run_job(library.reconcile())  # every root
        assert (report.added, report.moved, report.removed, report.decoded) == (0, 0, 0, 0)
        assert_agrees(library, photos)


def test_a_folder_move_seen_in_two_looks_is_still_a_move(tmp_path, shared_encoder):
    """The source's events came first and were looked at alone: nothing is forgotten
    before the destination shows up, and then it is a move, not three new files."""
    from clipdesk.core.watch import Scope
    from clipdesk.core.watch.stability import Stabilizer

    one, two = tmp_path / "one", tmp_path / "two"
    for i in range(3):
        write_image(one / "sub" / f"p{i}.png", seed=i)
    two.mkdir()
    clock = [100.0]
    stability = Stabilizer(2.0, clock=lambda: clock[0])
    with open_library(tmp_path / "lib", CountingEncoder(shared_encoder)) as library:
        library.add_root(one)
        library.add_root(two)
        run_job(library.reconcile())
        (one / "sub").rename(two / "sub")
        source = Scope(os.fsencode((one / "sub").resolve()))
        report = run_job(library.reconcile([source], stability=stability))
        assert (report.removed, report.offline_roots) == (0, [])
        assert report.unsettled  # it will be looked at again
        report = run_job(library.reconcile([two / "sub"], stability=stability))
        assert (report.moved, report.added, report.decoded) == (3, 0, 0)
        clock[0] += 5
        report = run_job(library.reconcile([source], stability=stability))
        assert (report.removed, report.unsettled) == (0, {})
        assert_agrees(library, one, two)


def test_new_photos_are_searchable_before_their_text_is_read(tmp_path, watched, monkeypatch):
    """A look embeds what it found first and reads text after; the watcher says when
    the reading starts (the window searches again then), however short its throttle."""
    from clipdesk.core.search import SearchQuery
    from tests.test_photo_text import PHOTOS, draw_photo

    monkeypatch.delenv("CLIPDESK_OCR", raising=False)  # the default: text is read
    photos = tmp_path / "photos"
    photos.mkdir()
    events = []
    seen_at_read: list[int] = []
    opened = []  # the library, once the watcher's start-up look is done

    def note(event) -> None:  # type: ignore[no-untyped-def]
        events.append(event)
        step = event.progress
        reading = event.kind == WatchEventKind.PROGRESS and step.stage == "read"
        if opened and reading and step.total and step.done == 0:  # (nothing: 0 of 0)
            seen_at_read.append(opened[0].status()["indexed"])

    library, watcher, _ = watched(photos, on_event=note)
    opened.append(library)
    for i, name in enumerate(("bakery.jpg", "menu.jpg", "sky.jpg")):
        draw_photo(photos / name, PHOTOS[name], seed=i, size=(640, 480))
    settle(watcher)
    # Each look's photos were all searchable when the reading of their text started (the
    # three files may arrive in one look or more).
    assert seen_at_read and seen_at_read[-1] == 3, [(e.kind, e.progress) for e in events]
    assert seen_at_read == sorted(seen_at_read) and seen_at_read[0] >= 1
    found = library.find(SearchQuery.from_text("text:bakery")).hits
    assert [os.path.basename(h.path) for h in found] == ["bakery.jpg"]
