"""The quick search: a plain search of a settled folder library, answered without
SQLAlchemy, and the same answer the library gives; anything else goes to the library."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from cli_harness import process_env, run_cli

from clipdesk.core.library import Library
from clipdesk.core.mounts import set_mount
from clipdesk.core.search import Filters, SearchQuery
from clipdesk.core.search.quick import quick_search
from clipdesk.core.write_lock import FileWriteGuard
from clipdesk.training.shapes import write_sample_library

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def settled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A library indexed and tagged, reading neither text nor faces (as it is set)."""
    env = {**process_env(tmp_path), "CLIPDESK_OCR": "0", "CLIPDESK_FACES": "0"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    photos = tmp_path / "photos"
    write_sample_library(photos, 8, seed=3)
    done = run_cli(["index", str(photos)])
    assert done.code == 0, done
    return photos


def _query(text: str, **kwargs: object) -> SearchQuery:
    return SearchQuery.from_text(text, k=5, **kwargs)  # type: ignore[arg-type]


def _hits(results) -> list[tuple[str, float]]:  # type: ignore[no-untyped-def]
    return [(hit.path, round(hit.score, 5)) for hit in results.hits]


def test_the_frozen_statements_are_the_catalogs() -> None:
    """``quick_sql.py`` holds what the catalog's builders compile to now."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "freeze_quick_sql.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_a_settled_library_answers_as_the_library_does(settled: Path, tmp_path: Path) -> None:
    for text in ("a red circle", "a blue square -red", "green"):
        quick = quick_search(None, _query(text), update=True)
        assert quick is not None, text
        with Library.open(tmp_path / "lib") as library:
            whole = library.find(_query(text))
        assert _hits(quick) == _hits(whole) and len(whole.hits) == 5
        assert quick.to_json() == whole.to_json()


def test_search_update_imports_no_sqlalchemy_when_nothing_changed(
    settled: Path, tmp_path: Path
) -> None:
    code = (
        "import sys\nfrom clipdesk.cli import main\n"
        "code = main(['search', 'a red circle', '-n', '50', '--json', '--update'])\n"
        "print('sqlalchemy' in sys.modules, file=sys.stderr)\nraise SystemExit(code)\n"
    )
    env = {**os.environ}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "False", done.stderr
    assert len(json.loads(done.stdout)["results"]) == 8

    write_sample_library(settled / "new", 1, seed=9)  # now the library must index
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "True"
    assert "Indexed 1 files" in done.stderr
    assert len(json.loads(done.stdout)["results"]) == 9


def test_what_only_the_library_can_answer(settled: Path, tmp_path: Path) -> None:
    plain = _query("a red circle")
    assert quick_search(None, plain, update=True) is not None
    assert quick_search(None, replace(plain, filters=Filters(folder=str(settled)))) is None
    image = next(settled.rglob("*.jpg"))
    assert quick_search(None, _query("", image=str(image))) is None
    assert quick_search("postgresql://localhost/photos", plain) is None
    assert quick_search(tmp_path / "no library here", plain) is None


def test_search_update_goes_to_the_library_whenever_an_index_has_work(
    settled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = _query("a red circle")
    lib = tmp_path / "lib"

    def answers() -> bool:
        return quick_search(None, plain, update=True) is not None

    assert answers()
    guard = FileWriteGuard(lib)  # another process indexing
    assert guard.try_acquire()
    assert not answers()
    guard.release()

    photo = sorted(settled.rglob("*.jpg"))[0]
    stat = photo.stat()
    os.utime(photo, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # changed
    assert not answers()
    assert quick_search(None, plain) is not None  # a search without --update reads no folder
    os.utime(photo, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert answers()

    moved = settled.with_name("elsewhere")
    settled.rename(moved)  # the drive is unplugged: the index marks it offline
    assert not answers()
    moved.rename(settled)
    assert answers()

    monkeypatch.delenv("CLIPDESK_OCR")  # text now read by default: none of it is yet
    assert not answers()
    monkeypatch.setenv("CLIPDESK_OCR", "0")

    with Library.open(lib) as library:
        library.catalog.set_meta(f"tags_photo_set:{library.encoder.model_key}", "1:1")
        assert library.tags.stale()
    assert not answers()  # the index would tag again
    assert run_cli(["tags", "run"]).code == 0
    assert answers()

    with Library.open(lib) as library:  # this computer sees the root elsewhere
        library_id = library.catalog.library_id()
        root = library.roots()[0]
    set_mount(library_id, root.id, os.fspath(settled))
    assert not answers()
    set_mount(library_id, root.id, None)
    assert answers()

    with Library.open(lib) as library:
        own = library.model.name
    assert quick_search(None, plain, model=own, update=True) is not None
    # Another model would embed every photo first (and this one is not installed).
    assert quick_search(None, plain, model="not-this-model", update=True) is None


def test_an_index_that_disagrees_with_the_catalog_is_mended_by_the_library(
    settled: Path, tmp_path: Path
) -> None:
    plain = _query("a red circle")
    vectors = tmp_path / "lib" / "vectors"
    saved = tmp_path / "saved-vectors"
    shutil.copytree(vectors, saved)
    shutil.rmtree(vectors)
    assert quick_search(None, plain) is None
    with Library.open(tmp_path / "lib") as library:  # rebuilds it from the catalog
        assert len(library.find(plain).hits) == 5
    assert quick_search(None, plain) is not None
