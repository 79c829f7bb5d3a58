"""The sample photo library: real files, photo-like sizes and formats, truthful records."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from clipdesk.training.shapes import COLOURS, SHAPES, write_sample_library


def test_writes_varied_photo_like_files_with_their_truth(tmp_path: Path) -> None:
    records = write_sample_library(tmp_path, 24, seed=1)
    assert len(records) == 24
    assert len({r.path for r in records}) == 24
    formats, folders = set(), set()
    for r in records:
        path = Path(r.path)
        assert path.is_file() and tmp_path in path.parents
        with Image.open(path) as img:
            formats.add(img.format)
            assert img.size == r.size
            assert min(img.size) >= 320 and max(img.size) <= 800
        folders.add(path.parent)
        assert r.shapes and set(r.shapes) <= set(SHAPES)
        assert r.colours and set(r.colours) <= set(COLOURS)
        assert sorted({s for _, s in r.objects}) == r.shapes
        assert sorted({c for c, _ in r.objects}) == r.colours
        for colour, shape in r.objects:
            assert colour in r.caption and shape in r.caption
        assert r.background
    assert formats == {"JPEG", "PNG"}
    assert tmp_path in folders and len(folders) > 1  # some pictures sit in sub-folders


def test_same_seed_same_library(tmp_path: Path) -> None:
    a = write_sample_library(tmp_path / "a", 5, seed=3)
    b = write_sample_library(tmp_path / "b", 5, seed=3)
    c = write_sample_library(tmp_path / "c", 5, seed=4)
    assert [r.caption for r in a] == [r.caption for r in b]
    assert [Path(r.path).read_bytes() for r in a] == [Path(r.path).read_bytes() for r in b]
    assert [r.caption for r in a] != [r.caption for r in c]


def test_formats_can_be_restricted(tmp_path: Path) -> None:
    records = write_sample_library(tmp_path, 6, seed=2, formats=("png",))
    assert {Path(r.path).suffix for r in records} == {".png"}
