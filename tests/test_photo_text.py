"""Text in photos: read by real PP-OCR in the decode workers, found with ``text:``.

Small photos (so the default run stays quick) carry words drawn with DejaVu fonts at a
few sizes and slants on textured backgrounds; one has no text at all. ``text:`` must
find exactly the photos that show a word, forgiving case, accents, a prefix and one
wrong letter, and combine with CLIP words; the same search must work on PostgreSQL
(tsvector) after ``library copy``, and back on SQLite (FTS5 rebuilt). The recall and
precision over many 1080p photos is the slow test at the end.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from clipdesk.core.library import Library
from clipdesk.core.progress import run_to_end as run
from clipdesk.core.search import SearchQuery
from tests.cli_harness import run_cli

FONTS = Path("/usr/share/fonts/truetype/dejavu")
FACES = ("DejaVuSans.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSansMono.ttf", "DejaVuSans-Bold.ttf")
# name: lines drawn on it (None: a photo without text)
PHOTOS: dict[str, tuple[str, ...] | None] = {
    "bakery.jpg": ("BAKERY", "open daily"),
    "pharmacy.jpg": ("Farmácia Central",),
    "menu.jpg": ("MENU", "Sopa do dia"),
    "station.jpg": ("Station", "Platform 4"),
    "sky.jpg": None,
}


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    path = FONTS / name
    assert path.exists(), f"the tests draw text with {path} (fonts-dejavu-core)"
    return ImageFont.truetype(os.fspath(path), size)


def textured(size: tuple[int, int], seed: int) -> Image.Image:
    """A light, noisy gradient with faint stripes: not a flat page."""
    rng = np.random.default_rng(seed)
    h, w = size[1], size[0]
    ramp = np.linspace(170, 230, w)[None, :, None] * np.ones((h, 1, 3))
    tint = rng.uniform(0.85, 1.0, 3)[None, None, :]
    noise = rng.normal(0, 9, (h, w, 3))
    stripes = 12 * (np.sin(np.arange(h) / 7.0)[:, None, None] > 0.8)
    pixels = np.clip(ramp * tint + noise - stripes, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def draw_photo(path: Path, lines: tuple[str, ...] | None, seed: int, size=(800, 600)) -> None:
    image = textured(size, seed)
    rng = np.random.default_rng(seed)
    if lines:
        for row, line in enumerate(lines):
            face = FACES[(seed + row) % len(FACES)]
            size_px = int(rng.integers(44, 64))
            layer = Image.new("L", image.size, 0)
            ImageDraw.Draw(layer).text(
                (60, 90 + row * 200), line, font=font(face, size_px), fill=255
            )
            angle = float(rng.uniform(-8, 8))
            layer = layer.rotate(
                angle, center=(60, 90 + row * 200), resample=Image.Resampling.BICUBIC
            )
            ink = Image.new("RGB", image.size, tuple(int(c) for c in rng.integers(0, 70, 3)))
            image.paste(ink, mask=layer)
    image.save(path, "JPEG", quality=92)


@pytest.fixture(scope="module")
def text_library(tmp_path_factory, tiny_shapes_installed):
    base = tmp_path_factory.mktemp("text")
    photos = base / "photos"
    photos.mkdir()
    for i, (name, lines) in enumerate(PHOTOS.items()):
        draw_photo(photos / name, lines, seed=i)
    library = Library.open(base / "lib", model=tiny_shapes_installed)
    run(library.index([photos], workers=1, text=True))
    yield library, photos.resolve(), base / "lib"
    library.close()


def _names(library: Library, query: str, **kw) -> set[str]:
    hits = library.find(SearchQuery.from_text(query, k=50, **kw)).hits
    return {Path(hit.path).name for hit in hits}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("text:bakery", {"bakery.jpg"}),
        ("text:BAKERY", {"bakery.jpg"}),
        ("text:farmacia", {"pharmacy.jpg"}),  # accents ignored
        ("text:Farmácia", {"pharmacy.jpg"}),
        ("text:bakry", {"bakery.jpg"}),  # a letter missing
        ("text:bakeru", {"bakery.jpg"}),  # a letter wrong
        ("text:stat", {"station.jpg"}),  # a prefix
        ('text:"open daily"', {"bakery.jpg"}),
        ('text:"sopa dia"', {"menu.jpg"}),
        ("text:menu text:sopa", {"menu.jpg"}),
        ("text:menu text:bakery", set()),
        ("text:zebra", set()),
    ],
)
def test_text_operator_finds_exactly_the_photos_that_show_the_words(text_library, query, expected):
    library, _, _ = text_library
    assert _names(library, query) == expected


def test_text_combines_with_clip_words_and_results_carry_the_text(text_library):
    library, _, _ = text_library
    results = library.find(SearchQuery.from_text("a red circle text:platform", k=5))
    assert [Path(h.path).name for h in results.hits] == ["station.jpg"]
    shown = results.hits[0].to_json()
    assert "Station" in shown["text"] and "Platform 4" in shown["text"]


def test_words_are_stored_with_boxes_and_an_empty_photo_is_read_once(text_library):
    library, photos, _ = text_library
    record = library.catalog.file_by_path(photos / "bakery.jpg")
    read = library.catalog.photo_text(record.fingerprint)
    assert read is not None and (read.width, read.height) == (800, 600)
    line = next(line for line in read.lines if line.text.upper() == "BAKERY")
    xs = [x for x, _ in line.box]
    ys = [y for _, y in line.box]
    assert 30 <= min(xs) <= 90 and 60 <= min(ys) <= 120 and max(xs) < 800  # where it was drawn
    sky = library.catalog.file_by_path(photos / "sky.jpg")
    empty = library.catalog.photo_text(sky.fingerprint)
    assert empty is not None and empty.lines == ()  # read, nothing found: not read again
    assert library.catalog.pending_files(library.encoder.model_key, text=True) == []
    assert library.catalog.text_words("bak") == ["bakery"]


def test_ocr_is_on_by_default_and_no_ocr_skips_it(tmp_path, monkeypatch, tiny_shapes_installed):
    photos = tmp_path / "photos"
    photos.mkdir()
    draw_photo(photos / "sign.jpg", ("GARDEN",), seed=3, size=(480, 320))
    common = ["--library", os.fspath(tmp_path / "lib"), "--model", "tiny-shapes"]
    done = run_cli([*common, "index", "--no-tags", "--no-ocr", os.fspath(photos)])
    assert done.code == 0, done
    found = run_cli([*common, "search", "text:garden", "--json"])
    assert json.loads(found.out)["results"] == []
    monkeypatch.delenv("CLIPDESK_OCR")
    done = run_cli([*common, "index", "--no-tags"])  # the default: read what was not read
    assert done.code == 0, done
    found = json.loads(run_cli([*common, "search", "text:garden", "--json"]).out)
    assert [Path(r["path"]).name for r in found["results"]] == ["sign.jpg"]
    assert found["results"][0]["text"] == "GARDEN"


def test_the_librarys_text_setting_is_followed_when_a_run_does_not_say(
    tmp_path, monkeypatch, tiny_shapes_installed
):
    monkeypatch.delenv("CLIPDESK_OCR")  # the default would read text
    photos = tmp_path / "photos"
    photos.mkdir()
    draw_photo(photos / "sign.jpg", ("GARDEN",), seed=3, size=(480, 320))
    with Library.open(tmp_path / "lib", model=tiny_shapes_installed) as library:
        library.set_read_text(False)
        run(library.index([photos], workers=1))  # as the folder watcher and `index` run
        fingerprint = library.catalog.file_by_path(photos.resolve() / "sign.jpg").fingerprint
        assert library.catalog.photo_text(fingerprint) is None
        library.set_read_text(True)
        run(library.index(workers=1))
        assert [line.text for line in library.catalog.photo_text(fingerprint).lines] == ["GARDEN"]


def test_text_search_is_the_same_on_postgresql_and_after_a_copy_back(
    text_library, pg_url, tmp_path
):
    library, _, lib = text_library
    queries = ["text:bakry", 'text:"open daily"', "text:farmacia", "text:stat", "text:zebra"]
    expected = {q: _names(library, q) for q in queries}
    there = run_cli(["library", "copy", os.fspath(lib), pg_url, "--json"])
    assert there.code == 0, there
    back = tmp_path / "back"
    again = run_cli(["library", "copy", pg_url, os.fspath(back), "--json"])
    assert again.code == 0, again
    for target in (pg_url, back):
        with Library.open(target, model="tiny-shapes") as copy:
            assert {q: _names(copy, q) for q in queries} == expected, target
            assert copy.catalog.text_words("bak") == ["bakery"], target  # what the box offers


def test_text_read_again_replaces_the_old_words_in_the_index(tmp_path):
    from sqlalchemy import select, text

    from clipdesk.core.catalog import Catalog, DecodedFacts, StatEntry
    from clipdesk.core.catalog._photo_text import rebuild_text_index, store_text
    from clipdesk.core.catalog.allowed import has_text
    from clipdesk.core.catalog.records import PhotoText, TextLine
    from clipdesk.core.catalog.schema import files

    catalog = Catalog.open(tmp_path / "catalog.db")
    root = catalog.add_root(b"/p")
    catalog.apply_scan(root.id, added=[StatEntry(b"/p/a.jpg", 1, 1, 1)])
    record = catalog.file_by_path(b"/p/a.jpg")
    catalog.record_results("m", decoded=[(record.id, DecodedFacts("f" * 32, 10, 10))])
    box = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))
    with catalog.engine.begin() as conn:
        store_text(conn, "f" * 32, PhotoText((TextLine("Alpha", 0.9, box),), 10, 10), 0.0)
        store_text(conn, "e" * 32, PhotoText((TextLine("Alpha", 0.9, box),), 10, 10), 0.0)
        store_text(conn, "f" * 32, PhotoText((TextLine("Beta", 0.9, box),), 10, 10), 1.0)

    def matching(word: str) -> list[str]:
        with catalog.engine.connect() as conn:
            return [r[0] for r in conn.execute(select(files.c.fingerprint).where(has_text(word)))]

    for _ in range(2):  # as stored, then rebuilt (as after a copy)
        assert matching("beta") == ["f" * 32] and matching("alpha") == []
        with catalog.engine.begin() as conn:
            assert conn.execute(text("SELECT count(*) FROM photo_text_fts")).scalar() == 2
            rebuild_text_index(conn)
    catalog.close()
