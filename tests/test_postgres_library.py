"""A shared library on a real PostgreSQL server with pgvector (tests/pg_server.py).

The same photos give the same search results as a folder library; two processes
indexing one library at once end with every photo once; a server that cannot serve a
library is refused in one line, with nothing created in the database.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from cli_harness import run_cli
from sqlalchemy import create_engine, inspect

from clipdesk.core.dupes import find_duplicates
from clipdesk.core.errors import CatalogError, LibraryError
from clipdesk.core.library import Library
from clipdesk.core.progress import run_to_end


def _tables(url: str) -> set[str]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _top(library: Library, text: str, k: int = 10) -> list[tuple[str, float]]:
    return [(hit.path, round(hit.score, 3)) for hit in library.search(text, k=k).hits]


def test_search_on_postgres_equals_the_folder_library(
    pg_url: str, sample_library, tmp_path: Path
) -> None:
    local = Library.open(sample_library.copy(tmp_path / "lib"), model="tiny-shapes")
    shared = Library.open(pg_url, model="tiny-shapes")
    try:
        report = _drain(shared.index([sample_library.photos], workers=1))
        assert report.encoded == len(sample_library.records)
        assert shared.status()["indexed"] == local.status()["indexed"] == 40
        for query in ("a red circle", "a blue square on green", "stripes"):
            assert _top(shared, query) == _top(local, query), query
        # A filter becomes the same allowed set on both.
        sub = sample_library.photos / "holiday"
        ours = [h.path for h in shared.search("a circle", k=10, folder=sub).hits]
        theirs = [h.path for h in local.search("a circle", k=10, folder=sub).hits]
        assert ours == theirs and ours and all(p.startswith(os.fspath(sub)) for p in ours)
        # similar: the photo itself first.
        first = sample_library.records[0].path
        assert shared.similar(first, k=3).hits[0].path == os.fspath(first)
        # The vectors are in a pgvector table with an HNSW index on halfvec.
        with psycopg.connect(pg_url) as conn:
            kinds = conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE indexname LIKE 'vectors_%hnsw'"
            ).fetchall()
        assert kinds and "halfvec_cosine_ops" in kinds[0][0]
        # Tags and dupes run there too, with the folder library's answers.
        run_to_end(shared.tags.run())
        tags = [(t.name, t.count) for library in (shared, local) for t in library.tags.list_tags()]
        assert tags[: len(tags) // 2] == tags[len(tags) // 2 :] and any(c for _, c in tags)
        groups = [
            [[p.to_json() for p in g.photos] for g in run_to_end(find_duplicates(lib)).groups]
            for lib in (shared, local)
        ]
        assert groups[0] == groups[1]
    finally:
        shared.close()
        local.close()


def _drain(job):  # type: ignore[no-untyped-def]
    while True:
        try:
            next(job)
        except StopIteration as stop:
            return stop.value


def test_two_processes_index_one_shared_library_at_once(
    pg_url: str, sample_library, tiny_shapes_installed: str, tmp_path: Path
) -> None:
    """Each process adds its own folder; the writer lock (a PostgreSQL advisory lock)
    makes them take turns, and the second one indexes what the first left."""
    photos = sorted(sample_library.photos.rglob("*.*"))
    halves = [tmp_path / "a", tmp_path / "b"]
    for n, photo in enumerate(photos):
        target = halves[n % 2] / photo.name
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(photo.read_bytes())
    env = {**os.environ, "CLIPDESK_LIBRARY": pg_url, "PYTHONPATH": os.pathsep.join(sys.path)}
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "clipdesk",
                "--model",
                tiny_shapes_installed,
                "index",
                "--workers",
                "1",
                os.fspath(half),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for half in halves
    ]
    for run in runs:
        _out, err = run.communicate(timeout=240)
        assert run.returncode == 0, err.decode()
    with Library.open(pg_url) as library:
        status = library.status()
        assert status["indexed"] == len(photos) and status["pending"] == 0
        with psycopg.connect(pg_url) as conn:
            files, distinct = conn.execute(
                "SELECT count(*), count(DISTINCT path) FROM files"
            ).fetchone()
            vectors = conn.execute("SELECT count(*) FROM embeddings").fetchone()[0]
            table = conn.execute(
                "SELECT tablename FROM pg_tables WHERE tablename LIKE 'vectors_%'"
            ).fetchone()[0]
            in_graph = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        assert files == distinct == len(photos)
        assert vectors == in_graph == len({p.read_bytes() for p in photos})
    check = run_cli(["--library", pg_url, "check"])
    assert check.code == 0, check


def test_unusable_servers_are_refused_in_one_line(pg_server, tmp_path: Path) -> None:
    no_vector = pg_server.create_database("novector", vector=False)
    cases = {
        pg_server.url("postgres", password="wrong"): "wrong user name or password",
        "postgresql://clipdesk@127.0.0.1:1/lib": "cannot reach PostgreSQL at 127.0.0.1:1",
        pg_server.url("nosuchdb"): "there is no database 'nosuchdb'",
        no_vector: "has no pgvector extension",
    }
    for url, expected in cases.items():
        run = run_cli(["--library", url, "status"])
        assert run.code == 1, run
        assert len(run.err_lines) == 1 and expected in run.err, run
        assert pg_server.password not in run.err
    assert _tables(no_vector) == set()  # nothing half-created


def test_a_newer_schema_or_foreign_tables_are_refused(pg_url: str, pg_server) -> None:
    Library.open(pg_url).close()
    with psycopg.connect(pg_url) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(CatalogError, match="written by a newer clipdesk"):
        Library.open(pg_url)
    other = pg_server.create_database("someone_elses")
    with psycopg.connect(other) as conn:
        conn.execute("CREATE TABLE accounts (id int)")
    with pytest.raises(CatalogError, match="not a clipdesk library"):
        Library.open(other)
    assert _tables(other) == {"accounts"}


def test_library_copy_both_ways_keeps_vectors_and_tags(
    pg_url: str, sample_library, tmp_path: Path
) -> None:
    """Folder -> PostgreSQL -> folder: the same search results, tags and vectors, and
    nothing embedded again (the copy never loads a model)."""
    source = sample_library.copy(tmp_path / "lib")
    there = run_cli(["library", "copy", os.fspath(source), pg_url, "--json"])
    assert there.code == 0, there
    assert '"vectors": 40' in there.out
    back = tmp_path / "back"
    again = run_cli(["library", "copy", pg_url, os.fspath(back)])
    assert again.code == 0, again
    assert "copied 40 files and 40 vectors" in again.out
    refused = run_cli(["library", "copy", os.fspath(source), pg_url])
    assert refused.code == 1 and "already holds a library" in refused.err
    libraries = [Library.open(p, model="tiny-shapes") for p in (source, pg_url, back)]
    try:
        for query in ("a red circle", "a yellow triangle"):
            tops = [_top(library, query) for library in libraries]
            assert tops[0] == tops[1] == tops[2], query
        tagged = [
            sorted(t.name for t in library.tags.list_tags() if t.count) for library in libraries
        ]
        assert tagged[0] and tagged[0] == tagged[1] == tagged[2]
        key = libraries[0].catalog.get_meta("model_key")
        assert key is not None
        ids = libraries[0].catalog.embedding_ids(key)
        dim = libraries[0].catalog.model_dims()[key]
        for other in libraries[1:]:
            assert (other.catalog.embedding_ids(key) == ids).all()
            assert (other.catalog.vectors(ids, dim) == libraries[0].catalog.vectors(ids, dim)).all()
    finally:
        for library in libraries:
            library.close()


def test_a_read_only_shared_library_searches(pg_url: str, sample_library, tmp_path: Path) -> None:
    copied = run_cli(["library", "copy", os.fspath(sample_library.copy(tmp_path / "l")), pg_url])
    assert copied.code == 0, copied
    with Library.open(pg_url, read_only=True) as library:
        assert len(library.search("a red circle", k=5).hits) == 5
        with pytest.raises(LibraryError, match="read-only"):
            library.add_root(tmp_path)
