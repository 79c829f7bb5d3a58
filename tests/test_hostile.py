"""Hostile input never stops the indexer: each bad file recorded once, with a reason.

Decoders that crash in native code, hang or eat memory (injected through the indexer's
``decode`` hook, running in the real worker processes), files nobody may read, link
loops, empty and wrongly named files, names that are not UTF-8 and very long paths.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

import image_samples
import pytest
from test_hostile_decoders import (
    crashing_text_reader,
    decode_file,
    misbehaving_decode,
    unprivileged_decode,
)
from test_watch_common import (
    CountingEncoder,
    assert_agrees,
    open_library,
    settle,
    write_image,
)

from clipdesk.core.check import check_library
from clipdesk.core.indexer import run_index
from clipdesk.core.progress import run_to_end as drive
from clipdesk.core.search import SearchQuery
from clipdesk.core.watch import WatchEventKind


def index_with(library, decode, timeout_s: float = 60.0, *, text: bool = False):
    library.remember_model()
    job = run_index(
        library.catalog,
        library.vectors,
        library.encoder,
        library.catalog.roots(),
        workers=1,
        batch_size=4,
        decode=decode,
        decode_timeout_s=timeout_s,
        text=text,
    )
    return drive(job)


def skipped(library) -> dict[str, str]:
    listed = library.status()["skipped_files"]
    paths = [entry["path"] for entry in listed]
    assert len(paths) == len(set(paths)), "a file listed twice"
    return {os.path.basename(entry["path"]): entry["reason"] for entry in listed}


def test_a_decoder_that_crashes_hangs_or_eats_memory_costs_only_that_file(
    tmp_path,
    shared_encoder,
):
    photos = tmp_path / "photos"
    for i in range(6):
        write_image(photos / f"good{i}.png", seed=i)
    for name in ("segfault.png", "abort.jpg", "hang.png", "exit.png", "hog.png"):
        write_image(photos / name, seed=hash(name) % 1000)
    with open_library(tmp_path / "lib", CountingEncoder(shared_encoder)) as library:
        library.add_root(photos)
        report = index_with(library, misbehaving_decode, timeout_s=3.0)
        assert (report.decoded, report.skipped) == (6, 5)
        assert skipped(library) == {
            "segfault.png": "decoder crashed (signal 11)",
            "abort.jpg": "decoder crashed (signal 6)",
            "hang.png": "timed out after 3 s",
            "exit.png": "decoder exited (code 3)",
            "hog.png": "out of memory",
        }
        assert library.status()["indexed"] == 6
        again = index_with(library, misbehaving_decode, timeout_s=3.0)
        assert (again.decoded, again.skipped) == (0, 0), "a bad file was tried again"
        write_image(photos / "hang.png", seed=77)  # it changed: read again (normally)
        report = drive(library.index(workers=1))
        assert (report.changed, report.decoded, report.skipped) == (1, 1, 0)
        assert "hang.png" not in skipped(library)
        assert check_library(library).ok


def test_a_reader_crash_after_the_photo_is_embedded_keeps_it_searchable(tmp_path, shared_encoder):
    """Text is read in a pass after every photo is embedded: a crash there costs the
    photo its text, not its place in search, is recorded once, and is not retried until
    the file changes."""
    photos = tmp_path / "photos"
    for i in range(3):
        write_image(photos / f"good{i}.png", seed=i)
    odd = write_image(photos / "crashes_ocr.png", seed=9)
    with open_library(tmp_path / "lib", shared_encoder) as library:
        library.add_root(photos)
        report = index_with(library, crashing_text_reader, text=True)
        assert (report.decoded, report.encoded, report.skipped, report.unread) == (4, 4, 0, 1)
        status = library.status()
        assert (status["indexed"], status["skipped"], status["unread"]) == (4, 0, 1)
        assert [os.path.basename(e["path"]) for e in status["unread_files"]] == [odd.name]
        assert status["unread_files"][0]["reason"] == (
            "text and faces not read: decoder crashed (signal 11)"
        )
        assert status["skipped_files"] == []
        hits = library.find(SearchQuery.from_text(image=odd, k=10)).hits
        assert os.path.basename(hits[0].path) == odd.name  # still found, as itself
        assert check_library(library).ok

        again = index_with(library, crashing_text_reader, text=True)
        assert (again.decoded, again.skipped, again.unread) == (0, 0, 0), "tried again"

        write_image(odd, seed=10)  # it changed: read again, and it fails again
        report = drive(library.index(workers=1, text=False))
        assert (report.changed, report.decoded, report.unread) == (1, 1, 0)
        assert library.status()["unread"] == 0  # read anew: nothing failed on this content
        report = index_with(library, crashing_text_reader, text=True)
        assert (report.decoded, report.skipped, report.unread) == (0, 0, 1)
        assert library.status()["indexed"] == 4


@pytest.mark.skipif(not hasattr(os, "setuid"), reason="needs POSIX users")
def test_a_file_nobody_may_read_is_skipped_with_a_reason(shared_encoder, monkeypatch):
    # Root reads anything, so when run as root the decode workers give up root first
    # (see test_hostile_decoders.unprivileged_decode) and the kernel's check applies.
    as_root = os.geteuid() == 0
    decode = unprivileged_decode if as_root else decode_file
    base = Path(tempfile.mkdtemp(prefix="clipdesk-perm-"))  # pytest's tmp is root-only
    try:
        base.chmod(0o755)
        photos = base / "photos"
        for i in range(3):
            write_image(photos / f"good{i}.png", seed=i)
        private = write_image(photos / "private.png", seed=9)
        private.chmod(0)
        if as_root:  # a folder only root may enter: its files are listed, never readable
            (photos / "locked").mkdir()
            write_image(photos / "locked" / "inside.png", seed=10)
            (photos / "locked").chmod(stat.S_IRUSR | stat.S_IWUSR | stat.S_IXUSR)
        for path in (base, photos):
            path.chmod(0o755)
        warm = [write_image(base / f"warm.{s}", seed=1) for s in ("png", "jpg", "gif", "webp")]
        monkeypatch.setenv("CLIPDESK_TEST_WARM_UP", os.pathsep.join(map(str, warm)))
        with open_library(base / "lib", CountingEncoder(shared_encoder)) as library:
            library.add_root(photos)
            report = index_with(library, decode)
            expected = {"private.png": "permission denied"}
            if as_root:
                expected["inside.png"] = "permission denied"
            assert skipped(library) == expected
            assert (report.decoded, report.skipped) == (3, len(expected))
            again = index_with(library, decode)
            assert (again.decoded, again.skipped) == (0, 0)
    finally:
        for path in base.rglob("*"):
            if not path.is_symlink():
                path.chmod(0o755)
        shutil.rmtree(base)


def test_awkward_files_are_recorded_once_and_not_retried_until_they_change(
    tmp_path,
    watched,
):
    photos = tmp_path / "photos"
    write_image(photos / "fine.png", seed=1)
    bad = image_samples.write_bad_samples(photos / "bad")
    wrongly_named = photos / "really_a_png.jpg"
    write_image(tmp_path / "x.png", seed=2).rename(wrongly_named)
    library, watcher, encoder = watched(photos)
    reasons = skipped(library)
    expected = {s.path.name: s.reason for s in bad if s.path.is_symlink() or not s.path.is_dir()}
    expected["loop_b.jpg"] = "symlink loop"  # the loop's other end is a photo name too
    assert reasons == expected
    assert library.catalog.file_by_path(os.fsencode(wrongly_named.resolve())).status == "ok"
    assert_agrees(library, photos)

    decoded = watcher.totals.decoded + watcher.totals.skipped
    watcher.reconcile_all()
    settle(watcher)
    assert watcher.totals.decoded + watcher.totals.skipped == decoded, "bad files re-read"

    empty = photos / "bad" / "empty.jpg"
    write_image(tmp_path / "y.jpg", seed=3).replace(empty)  # the empty file is filled in
    settle(watcher)
    assert "empty.jpg" not in skipped(library)
    assert_agrees(library, photos)
    assert encoder.images == 3


def test_names_that_are_not_utf8_and_very_long_paths(tmp_path, watched):
    photos = tmp_path / "photos"
    raw = os.fsencode(photos)
    write_image(photos / "plain.png", seed=1)
    library, watcher, encoder = watched(photos)
    odd_dir = os.path.join(raw, b"caf\xe9 \xff")
    os.makedirs(odd_dir)
    odd_file = os.path.join(odd_dir, b"\xfe\xfd photo.png")
    write_image(Path(os.fsdecode(odd_file)), seed=2)
    deep = raw
    while len(deep) < 3600:  # far longer than most tools expect, within PATH_MAX
        deep = os.path.join(deep, b"d" * 200)
    os.makedirs(deep)
    long_file = os.path.join(deep, b"e" * 200 + b".png")
    write_image(Path(os.fsdecode(long_file)), seed=3)
    settle(watcher)
    assert_agrees(library, photos)
    hits = {h.path for h in library.search("a picture", k=10).hits}
    assert {os.fsdecode(odd_file), os.fsdecode(long_file)} <= hits

    os.rename(odd_file, os.path.join(deep, b"\xfe moved.png"))  # a move costs nothing
    settle(watcher)
    assert_agrees(library, photos)
    assert encoder.images == 3 and watcher.totals.moved == 1


def test_a_folder_deeper_than_the_system_allows_is_reported_not_fatal(tmp_path, watched):
    photos = tmp_path / "photos"
    write_image(photos / "plain.png", seed=1)
    events = []
    library, watcher, _ = watched(photos, on_event=events.append)
    fd = os.open(photos, os.O_RDONLY)
    try:  # build a path longer than PATH_MAX one folder at a time, relative to a handle
        for _ in range(24):
            os.mkdir(b"f" * 250, dir_fd=fd)
            inner = os.open(b"f" * 250, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        os.close(os.open(b"lost.png", os.O_WRONLY | os.O_CREAT, dir_fd=fd))
    finally:
        os.close(fd)
    write_image(photos / "later.png", seed=2)
    watcher.reconcile_all()
    settle(watcher)
    assert library.status()["indexed"] == 2
    messages = [e.message for e in events if e.kind == WatchEventKind.MESSAGE]
    assert any("cannot list" in m and "too long" in m.lower() for m in messages), messages
