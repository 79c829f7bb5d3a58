"""The window's thumbnails for any file name and any damage: every request finishes
(finding 13: a name that is not UTF-8 never finished, so `gui --screenshot` never exited)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from clipdesk.gui.thumbnails import ThumbnailCache, ThumbnailLoader
from clipdesk.training.shapes import write_sample_library


def test_every_thumbnail_finishes_whatever_the_name_or_damage(qtbot, tmp_path: Path):
    photos = tmp_path / "photos"
    write_sample_library(photos, 2, seed=3)
    good = sorted(photos.rglob("IMG_*.jpg"))[0]
    odd_dir = os.path.join(os.fsencode(photos), b"d\xe9j\xe0")
    os.mkdir(odd_dir)
    names = [
        os.path.join(os.fsencode(photos), b"caf\xe9 \xff.jpg"),
        os.path.join(odd_dir, b"IMG.jpg"),
        os.path.join(os.fsencode(photos), b"new\nline.jpg"),
    ]
    for name in names:
        shutil.copyfile(good, name)
    truncated = photos / "truncated.jpg"
    truncated.write_bytes(good.read_bytes()[:300])
    (photos / "empty.jpg").write_bytes(b"")
    paths = [os.fsdecode(n) for n in names] + [str(truncated), str(photos / "empty.jpg")]
    paths.append(str(photos / "gone.jpg"))

    loader = ThumbnailLoader(ThumbnailCache(tmp_path / "thumbs"), threads=2)
    finished: dict[str, str] = {}
    loader.ready.connect(lambda p: finished.setdefault(p, "ready"))
    loader.failed.connect(lambda p, _r: finished.setdefault(p, "failed"))
    for path in paths:
        loader.request(path)
    qtbot.waitUntil(lambda: len(finished) == len(paths), timeout=20_000)
    assert set(finished) == set(paths)
    for name in names:
        assert finished[os.fsdecode(name)] == "ready"
        assert loader.image(os.fsdecode(name)) is not None
    assert finished[str(truncated)] in ("ready", "failed")
    assert finished[str(photos / "gone.jpg")] == "failed"
    assert loader.pending == 0
    loader.shutdown()
