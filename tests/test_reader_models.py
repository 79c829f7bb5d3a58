"""The OCR and face models as downloads, for an install that lacks them (the installer).

The releases are served as tests/reader_releases.py builds them; the pins are checked
against the files the installed packages carry.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest
from reader_releases import package_file, release_bytes, serve_releases

from clipdesk.core.errors import ChecksumError, ReaderModelsMissing
from clipdesk.core.library import Library
from clipdesk.core.models import readers
from clipdesk.core.progress import Cancelled, CancelToken
from clipdesk.core.progress import run_to_end as run
from clipdesk.core.search import SearchQuery
from tests.cli_harness import run_cli
from tests.test_photo_text import draw_photo


@pytest.fixture
def served(server, monkeypatch):
    return serve_releases(server, monkeypatch)


def test_pins_are_the_files_the_packages_ship():
    for models in readers.READERS:
        for pinned in models.files:
            path = package_file(models, pinned.name)
            assert path.stat().st_size == pinned.size, pinned.name
            assert hashlib.sha256(path.read_bytes()).hexdigest() == pinned.sha256, pinned.name
            assert readers.reader_file(models, pinned.name) == path  # the package's copy first
        assert models.url().startswith("https://files.pythonhosted.org/packages/")
    assert readers.readers_named(" OCR ") is readers.OCR
    assert readers.readers_named("ViT-B-32") is None


def test_download_puts_each_pinned_file_in_place_and_nothing_else(served):
    _, pinned = served
    for models in pinned.values():
        assert readers.missing_files(models) == [f.name for f in models.files]
        seen: list[tuple[int, int | None]] = []
        folder = readers.download_readers(models, progress=lambda d, t, s=seen: s.append((d, t)))
        assert folder == readers.downloaded_dir(models)
        assert sorted(p.name for p in folder.iterdir()) == sorted(f.name for f in models.files)
        assert readers.missing_files(models) == []
        assert all(readers.reader_file(models, f.name) == folder / f.name for f in models.files)
        assert seen[-1] == (models.release_size, models.release_size)
    leftovers = [p.name for p in readers.downloaded_dir(pinned["ocr"]).parent.iterdir()]
    assert sorted(leftovers) == ["faces", "ocr"]  # no staging, no release files kept


def test_a_spoilt_model_is_refused_and_what_was_installed_stays(served):
    server, pinned = served
    models = pinned["faces"]
    readers.download_readers(models)
    before = {p.name: p.read_bytes() for p in readers.downloaded_dir(models).iterdir()}
    spoilt = release_bytes(models, spoil="shape_predictor_5_face_landmarks.dat")
    server.files["/" + models.release] = spoilt
    again = dataclasses.replace(
        models, release_sha256=hashlib.sha256(spoilt).hexdigest(), release_size=len(spoilt)
    )
    with pytest.raises(ChecksumError, match=r"shape_predictor_5_face_landmarks\.dat"):
        readers.download_readers(again)
    after = {p.name: p.read_bytes() for p in readers.downloaded_dir(models).iterdir()}
    assert after == before
    assert not list(readers.downloaded_dir(models).parent.glob(".*"))  # no staging left


def test_a_cancelled_download_installs_nothing(served):
    _, pinned = served
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(Cancelled):
        readers.download_readers(pinned["ocr"], cancel=cancel)
    assert readers.missing_files(pinned["ocr"]) == [f.name for f in pinned["ocr"].files]


def test_ocr_never_fetches_models_by_itself(monkeypatch):
    from clipdesk.core import ocr

    monkeypatch.setattr(readers, "_package_dir", lambda package: None)
    ocr._engine.cache_clear()
    try:
        with pytest.raises(ReaderModelsMissing, match="clipdesk models download ocr"):
            ocr._engine()
    finally:
        ocr._engine.cache_clear()


@pytest.fixture
def readers_on(monkeypatch):
    """Text and faces read by default, as for a user (the test run turns both off)."""
    monkeypatch.setenv("CLIPDESK_OCR", "1")
    monkeypatch.setenv("CLIPDESK_FACES", "1")


def test_without_the_models_photos_are_indexed_then_read_after_the_download(
    served, readers_on, tmp_path, tiny_shapes_installed
):
    _, pinned = served
    photos = tmp_path / "photos"
    photos.mkdir()
    draw_photo(photos / "bakery.jpg", ("BAKERY",), seed=0)
    draw_photo(photos / "sky.jpg", None, seed=4)
    with Library.open(tmp_path / "lib", model=tiny_shapes_installed) as library:
        report = run(library.index([photos], workers=1, text=None, faces=None))
        assert report.encoded == 2 and report.models_missing == ["faces", "ocr"]
        assert library.find(SearchQuery.from_text("a circle", k=5)).hits  # searchable
        assert library.find(SearchQuery.from_text("text:bakery", k=5)).hits == []
        # Asked for outright, a reader without its models is an error, not a silence.
        with pytest.raises(ReaderModelsMissing, match="models download ocr"):
            run(library.index([], workers=1, text=True))
        with pytest.raises(ReaderModelsMissing, match="models download faces"):
            run(library.index([], workers=1, faces=True))

        for models in pinned.values():
            readers.download_readers(models)
        report = run(library.index([], workers=1, text=None, faces=None))
        assert report.models_missing == [] and report.decoded == 2  # read, not re-embedded
        hits = library.find(SearchQuery.from_text("text:bakery", k=5)).hits
        assert [Path(h.path).name for h in hits] == ["bakery.jpg"]


def test_the_commands_say_what_to_download_and_download_it(
    served, readers_on, tmp_path, tiny_shapes_installed
):
    photos = tmp_path / "photos"
    photos.mkdir()
    draw_photo(photos / "menu.jpg", ("MENU",), seed=2)
    library = ["--library", str(tmp_path / "lib"), "--model", tiny_shapes_installed]
    first = run_cli([*library, "index", str(photos), "--no-tags"], time_limit_s=120)
    assert first.code == 0, first.err
    notes = [line for line in first.err.splitlines() if line.startswith("note: ")]
    assert notes == [
        f"note: {m.hint()}; the next index catches up" for m in (readers.FACES, readers.OCR)
    ]
    asked = run_cli([*library, "index", "--faces", "--no-tags"], time_limit_s=120)
    assert asked.code == 1
    assert asked.err.strip() == f"clipdesk: error: {readers.FACES.hint()}"

    for key in ("ocr", "faces"):
        fetched = run_cli(["models", "download", key], time_limit_s=120)
        assert fetched.code == 0, fetched.err
        assert str(readers.downloaded_dir(readers.readers_named(key))) in fetched.out
    again = run_cli(["models", "download", "ocr"])
    assert again.code == 0 and "already installed" in again.out

    second = run_cli([*library, "index", "--no-tags", "--json"], time_limit_s=120)
    assert second.code == 0, second.err
    assert "note: " not in second.err
    found = run_cli([*library, "search", "text:menu", "--json"])
    assert found.code == 0 and "menu.jpg" in found.out
