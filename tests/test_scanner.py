"""Walking folders and telling new, changed, moved and removed files apart."""

from __future__ import annotations

import os
import subprocess
import sys

from clipdesk.core import mediatypes
from clipdesk.core.catalog.records import FileRecord, StatEntry
from clipdesk.core.imageio import is_image_path
from clipdesk.core.imageio.formats import IMAGE_EXTENSIONS
from clipdesk.core.scanner import _is_image_name, diff_scan, scan_tree


def _is_jpg(name: bytes) -> bool:
    return name.lower().endswith(b".jpg")


def test_scan_finds_images_with_undecodable_names_and_survives_link_loops(tmp_path):
    root = os.fsencode(tmp_path)
    os.makedirs(os.path.join(root, b"sub"))
    for name in (b"a.jpg", b"sub/caf\xe9.jpg", b"notes.txt"):
        with open(os.path.join(root, name), "wb") as f:
            f.write(b"x")
    os.symlink(root, os.path.join(root, b"sub", b"loop"))  # a folder link back up
    found = sorted(e.path for e in scan_tree(root, is_image=_is_jpg))
    assert found == [os.path.join(root, b"a.jpg"), os.path.join(root, b"sub/caf\xe9.jpg")]


def test_scan_reports_unreadable_folders(tmp_path):
    errors = []
    list(scan_tree(os.fsencode(tmp_path / "missing"), on_error=lambda p, r: errors.append(p)))
    assert errors == [os.fsencode(tmp_path / "missing")]


def _record(file_id, path, size=1, mtime=1, inode=1, status="ok"):
    return FileRecord(file_id, 1, path, size, mtime, inode, "fp", status)


def test_diff_classifies_every_kind_of_change():
    known = {
        1: {
            b"/r/same.jpg": _record(1, b"/r/same.jpg", inode=10),
            b"/r/edit.jpg": _record(2, b"/r/edit.jpg", inode=11),
            b"/r/old.jpg": _record(3, b"/r/old.jpg", inode=12, mtime=7),
            b"/r/gone.jpg": _record(4, b"/r/gone.jpg", inode=13),
        }
    }
    seen = {
        1: [
            StatEntry(b"/r/same.jpg", 1, 1, 10),
            StatEntry(b"/r/edit.jpg", 2, 5, 11),
            StatEntry(b"/r/new.jpg", 1, 1, 14),
        ],
        2: [StatEntry(b"/s/old.jpg", 1, 7, 12)],  # moved to another root
    }
    diff = diff_scan(seen, known)
    assert diff.unchanged == 1
    assert [(i, e.path) for i, e in diff.changed] == [(2, b"/r/edit.jpg")]
    assert [(i, r, e.path) for i, r, e in diff.moved] == [(3, 2, b"/s/old.jpg")]
    assert diff.removed == [4]
    assert [(r, e.path) for r, e in diff.added] == [(1, b"/r/new.jpg")]


def test_the_scanner_indexes_exactly_what_the_readers_read() -> None:
    """The scanner decides most names without the image readers; it must decide them
    as the readers (and the video reader) would, whatever decoders are installed."""
    extensions = [
        *IMAGE_EXTENSIONS,
        *mediatypes.VIDEO_EXTENSIONS,
        *mediatypes.OPTIONAL_PHOTO_EXTENSIONS,
        *(".txt", ".xmp", ".aae", ".json", ".tar.gz", ".jpg.part", ""),
    ]
    names = [os.fsencode(f"IMG_1{ext}") for ext in extensions]
    names += [name.upper() for name in names] + [b".hidden", b"caf\xe9.JPG", b"caf\xe9.txt"]
    for name in names:
        readers = is_image_path(os.fsdecode(name)) or mediatypes.is_video_path(name)
        assert _is_image_name(name) == readers, name


def test_a_look_at_a_folder_of_usual_photos_does_not_import_the_image_readers(tmp_path) -> None:
    for name in ("a.jpg", "b.PNG", "c.mp4", "d.dng", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    code = (
        "import sys, os; from clipdesk.core.scanner import scan_tree; "
        f"found = list(scan_tree(os.fsencode({str(tmp_path)!r}))); "
        "print(len(found), 'PIL' in sys.modules, 'clipdesk.core.imageio' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["4", "False", "False"]
