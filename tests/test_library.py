"""Indexing and searching a real library end to end with the tiny-shapes model."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import image_samples
import numpy as np
import pytest
from old_index import save_as_hnswlib_did

from clipdesk.core.check import check_library
from clipdesk.core.library import Library, index_dir_name
from clipdesk.core.progress import CancelToken
from clipdesk.training.shapes import write_sample_library

MODEL = "tiny-shapes"


def run(job):
    """Drive a job to its end, returning (progress list, result)."""
    steps = []
    try:
        while True:
            steps.append(next(job))
    except StopIteration as stop:
        return steps, stop.value


@pytest.fixture(scope="module")
def photos(sample_library):
    return sample_library.photos, sample_library.records


@pytest.fixture(scope="module")
def indexed(sample_library, tmp_path_factory):
    """A copy of the sample library (indexed once per run) for this module's read-only tests."""
    directory = sample_library.copy(tmp_path_factory.mktemp("lib") / "lib")
    library = Library.open(directory, model=MODEL)
    yield library, sample_library.records, sample_library.report, sample_library.steps
    library.close()


def test_index_reports_progress_to_the_end(indexed):
    library, records, report, steps = indexed
    assert report.decoded == len(records) and report.skipped == 0
    embeds = [s for s in steps if s.stage == "embed"]
    assert embeds[-1].done == embeds[-1].total == len(records)
    assert steps[-1].stage == "done"
    assert library.status()["indexed"] == len(records)


@pytest.mark.parametrize("colour", ["red", "blue", "yellow"])
def test_text_search_finds_the_described_pictures(indexed, colour):
    library, records, _, _ = indexed
    truth = {os.fspath(Path(r.path).resolve()) for r in records if colour in r.colours}
    assert truth, "the sample library should contain such pictures"
    results = library.search(f"a photo of something {colour}", k=len(truth))
    hits = [h.path for h in results.hits]
    assert results.model == MODEL
    assert [h.score for h in results.hits] == sorted((h.score for h in results.hits), reverse=True)
    # The pipeline, not the demo model's accuracy, is under test here (the training
    # evaluation measures that): the ranking must be far better than chance.
    precision = len(truth.intersection(hits)) / len(hits)
    chance = len(truth) / len(records)
    assert precision >= max(0.5, 2 * chance), (precision, chance, results.hits)


def test_similar_returns_the_photo_itself_first(indexed):
    library, records, _, _ = indexed
    target = os.fspath(Path(records[3].path).resolve())
    results = library.similar(target, k=5)
    assert results.hits[0].path == target
    assert results.hits[0].score == pytest.approx(1.0, abs=1e-3)
    assert results.hits[1].score < results.hits[0].score


def test_similar_accepts_a_photo_outside_the_library(indexed, tmp_path):
    library, records, _, _ = indexed
    outside = tmp_path / "copy.png"
    shutil.copy(records[5].path, outside)
    results = library.similar(outside, k=3)
    assert results.hits[0].path == os.fspath(Path(records[5].path).resolve())
    assert results.hits[0].score > 0.99


def test_hnsw_results_equal_exact_search(indexed):
    library, _, _, _ = indexed
    key = library.encoder.model_key
    ids = library.catalog.embedding_ids(key)
    matrix = library.catalog.vectors(ids, library.encoder.dim)
    for text in ("a green triangle", "two stars", "a white heart on a black background"):
        query = library.encoder.encode_texts([text]).vectors[0]
        exact = ids[np.argsort(-(matrix @ query))[:10]]
        approx = [label for label, _ in library.vectors.query(query, 10)]
        assert list(exact) == approx


def test_negative_terms_push_matching_pictures_down(indexed):
    library, records, _, _ = indexed
    red = {os.fspath(Path(r.path).resolve()) for r in records if "red" in r.colours}
    plain = library.search("a circle", k=10)
    negated = library.search("a circle -red", k=10)
    count = lambda results: sum(h.path in red for h in results.hits)  # noqa: E731
    assert count(negated) < count(plain)


def test_combined_text_and_image_query(indexed):
    library, records, _, _ = indexed
    target = os.fspath(Path(records[0].path).resolve())
    results = library.search(records[0].caption, image=target, k=3)
    assert results.hits[0].path == target


def test_folder_filter(indexed, photos):
    library, records, _, _ = indexed
    directory, _ = photos
    subfolders = {Path(r.path).resolve().parent for r in records} - {directory.resolve()}
    if not subfolders:
        pytest.skip("sample library has no sub-folders")
    folder = sorted(subfolders)[0]
    results = library.search("a shape", k=100, folder=folder)
    assert results.hits
    assert all(Path(h.path).parent == folder for h in results.hits)


def _small_library(tmp_path: Path, count: int = 12, seed: int = 3):
    photos = tmp_path / "photos"
    records = write_sample_library(photos, count, seed=seed)
    library = Library.open(tmp_path / "lib", model=MODEL)
    return photos, records, library


def test_reindex_reads_only_what_changed(tmp_path):
    photos, records, library = _small_library(tmp_path)
    with library:
        _, first = run(library.index([photos], workers=1))
        assert first.encoded == len(records)
        _, again = run(library.index(workers=1))
        assert (again.decoded, again.encoded) == (0, 0)
        changed = Path(records[0].path)
        changed.write_bytes(Path(records[1].path).read_bytes())  # now a copy of another
        Path(records[2].path).unlink()
        _, third = run(library.index(workers=1))
        assert (third.changed, third.removed, third.decoded, third.encoded) == (1, 1, 1, 0)
        gone = os.fspath(Path(records[2].path).resolve())
        assert gone not in [h.path for h in library.search("a shape", k=50).hits]
        assert library.status()["indexed"] == len(records) - 1


def test_moved_file_keeps_its_embedding(tmp_path):
    photos, records, library = _small_library(tmp_path)
    with library:
        run(library.index([photos], workers=1))
        source = Path(records[4].path)
        target_dir = tmp_path / "photos" / "moved-here"
        target_dir.mkdir(exist_ok=True)
        target = target_dir / source.name
        source.rename(target)
        _, report = run(library.index(workers=1))
        assert (report.moved, report.decoded, report.encoded) == (1, 0, 0)
        hits = library.similar(target, k=1).hits
        assert hits[0].path == os.fspath(target.resolve())


def test_bad_files_are_skipped_once_with_reasons(tmp_path):
    photos, records, library = _small_library(tmp_path, count=6)
    bad = image_samples.write_bad_samples(photos / "bad")
    odd_name = os.path.join(os.fsencode(photos), b"caf\xe9.jpg")
    with open(odd_name, "wb") as f:
        f.write(Path(records[0].path).read_bytes())
    with library:
        _, _report = run(library.index([photos], workers=1))
        status = library.status()
        skipped = {entry["path"]: entry["reason"] for entry in status["skipped_files"]}
        root = photos.resolve() / "bad"
        expected = {
            os.fspath(root / s.path.name): s.reason
            for s in bad
            if s.path.is_symlink() or not s.path.is_dir()
        }
        for path, reason in expected.items():
            assert skipped.get(path) == reason, (path, skipped)
        assert len(skipped) == len(status["skipped_files"])  # each listed once
        assert status["indexed"] == len(records) + 1  # the non-UTF-8 name is indexed too
        assert os.fsdecode(odd_name) in [h.path for h in library.search("a shape", k=50).hits]
        _, again = run(library.index(workers=1))
        assert again.decoded == 0 and again.skipped == 0  # never retried until changed


def test_cancel_then_resume_indexes_everything_once(tmp_path):
    photos, records, library = _small_library(tmp_path, count=24)
    cancel = CancelToken()
    with library:
        job = library.index([photos], workers=1, batch_size=4)
        for step in job:
            if step.stage == "embed" and step.done >= 4:
                cancel.cancel()
                job.close()
                break
        status = library.status()
        assert 0 < status["indexed"] < len(records)
        assert status["pending"] == len(records) - status["indexed"]
        _, report = run(library.index(workers=1))
        assert library.status()["indexed"] == len(records)
        assert report.decoded == len(records) - status["indexed"]
        key = library.encoder.model_key
        assert len(library.catalog.embedding_ids(key)) == len(library.vectors)


def test_damaged_index_is_rebuilt_from_the_database(tmp_path):
    photos, records, library = _small_library(tmp_path)
    with library:
        run(library.index([photos], workers=1))
        key = library.encoder.model_key
    for file in (tmp_path / "lib" / "vectors").rglob("*"):
        if file.is_file() and not file.name.endswith(".json"):
            file.write_bytes(b"garbage")
    reopened = Library.open(tmp_path / "lib", model=MODEL)
    with reopened:
        report = check_library(reopened)
        assert not report.ok and any("index" in p for p in report.problems)
        assert len(reopened.vectors) == len(records)  # opening repairs it
        assert reopened.catalog.get_meta("model_key") == key
        assert check_library(reopened).ok


def test_indexing_leaves_statistics_so_folder_searches_use_the_path_index(indexed):
    """Without statistics SQLite walks every embedding of the model for a folder search."""
    from sqlalchemy.dialects import sqlite

    from clipdesk.core.catalog.allowed import allowed_embeddings_query, below

    library = indexed[0]
    folder = library.roots()[0].path
    query = allowed_embeddings_query(library.encoder.model_key, [below(folder)])
    compiled = query.compile(dialect=sqlite.dialect())
    params = tuple(compiled.params[name] for name in compiled.positiontup)
    with library.catalog.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM sqlite_stat1").scalar() > 0
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params).fetchall()
    first = plan[0][-1]
    assert first.startswith("SEARCH files") and "path>? AND path<?" in first, plan


def test_a_library_indexed_by_the_hnswlib_version_searches_and_is_saved_anew(
    sample_library, tmp_path
):
    """An index saved in format 1 (hnswlib) opens: its graph is built from its saved
    vectors, answers as the current one does, and is saved in format 2 at once."""
    directory = sample_library.copy(tmp_path / "lib")
    library = Library.open(directory, model=MODEL)
    key, dim = library.encoder.model_key, library.encoder.dim
    expected = [(h.path, h.score) for h in library.search("a red star", k=8).hits]
    ids = library.catalog.embedding_ids(key)
    vectors = library.catalog.vectors(ids, dim)
    library.close()
    folder = directory / "vectors" / index_dir_name(key)
    for path in folder.iterdir():
        path.unlink()
    save_as_hnswlib_did(folder, ids, vectors)
    again = Library.open(directory, model=MODEL)
    try:
        got = [(h.path, h.score) for h in again.search("a red star", k=8).hits]
        assert [p for p, _ in got] == [p for p, _ in expected]
        assert [s for _, s in got] == pytest.approx([s for _, s in expected], abs=1e-6)
        manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
        assert manifest["format"] == 2 and manifest["count"] == len(ids)
        assert not list(folder.glob("*.bin"))
        report = check_library(again)
        assert report.ok and not report.problems, report
    finally:
        again.close()
