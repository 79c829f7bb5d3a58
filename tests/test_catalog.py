"""The catalog: migrations, non-UTF-8 paths, scan bookkeeping, counts."""

from __future__ import annotations

import os
import sqlite3

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from clipdesk.core.catalog import Catalog, DecodedFacts, StatEntry
from clipdesk.core.catalog.allowed import below, not_below
from clipdesk.core.catalog.schema import VIRTUAL_TABLES, metadata
from clipdesk.core.errors import CatalogError


@pytest.fixture
def catalog(tmp_path):
    cat = Catalog.open(tmp_path / "catalog.db")
    yield cat
    cat.close()


@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression")
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_migrations_build_exactly_the_declared_schema(catalog):
    def declared(name, kind, parent):  # full-text tables are SQLite's own (checked below)
        return kind != "table" or not name.startswith(VIRTUAL_TABLES)

    with catalog.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": declared})
        diffs = compare_metadata(context, metadata)
        virtual = conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL TABLE%'"
        ).fetchall()
        assert sorted(row[0] for row in virtual) == sorted(VIRTUAL_TABLES)
        # Alembic cannot compare an expression index; SQLite's own text of it can.
        taken = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE name = 'ix_files_taken'"
        ).scalar()
    assert diffs == []
    declared = next(i for i in metadata.tables["files"].indexes if i.name == "ix_files_taken")
    expression = str(declared.expressions[0].compile(compile_kwargs={"literal_binds": True}))
    assert taken == f"CREATE INDEX ix_files_taken ON files ({expression.replace('files.', '')})"


def test_filters_are_answered_from_indexes(catalog):
    """Each filter's condition is a range or lookup on an index, not a scan of files."""
    from sqlalchemy import select

    from clipdesk.core.catalog.allowed import extension_in, taken_before, taken_from
    from clipdesk.core.catalog.schema import files

    root = catalog.add_root(b"/p")
    catalog.apply_scan(root.id, added=[StatEntry(b"/p/%d.jpg" % i, 1, i, i) for i in range(300)])
    catalog.refresh_statistics()
    checks = {
        "ix_files_taken": [taken_from(5.0), taken_before(9.0)],
        "ix_files_ext": [extension_in([".png"])],
    }
    with catalog.engine.connect() as conn:
        for index, where in checks.items():
            query = select(files.c.id).where(*where)
            compiled = query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").fetchall()
            assert plan[0][-1].startswith("SEARCH files") and index in plan[0][-1], plan


def test_extension_follows_a_file_through_a_move(catalog):
    root = catalog.add_root(b"/p")
    catalog.apply_scan(
        root.id, added=[StatEntry(b"/p/A.JPG", 1, 1, 1), StatEntry(b"/p/b", 1, 1, 2)]
    )
    a = catalog.file_by_path(b"/p/A.JPG")
    catalog.apply_scan(root.id, moved=[(a.id, StatEntry(b"/p/a.png", 1, 1, 1))])
    with catalog.engine.connect() as conn:
        rows = dict(conn.exec_driver_sql("SELECT path, ext FROM files").fetchall())
    assert rows == {b"/p/a.png": ".png", b"/p/b": ""}


def test_migration_0003_fills_extensions_of_an_older_library(tmp_path):
    from alembic import command

    from clipdesk.core.catalog.database import alembic_config, create_sqlite_engine

    path = tmp_path / "old.db"
    engine = create_sqlite_engine(path)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0002")
        conn.exec_driver_sql(
            "INSERT INTO roots (id, path, added_at, online) VALUES (1, x'2f70', 0, 1)"
        )
        for i, name in enumerate([b"/p/x.HEIC", b"/p/y.jpeg", b"/p/noext", b"/p/\xff.Png"]):
            conn.exec_driver_sql(
                "INSERT INTO files (root_id, path, dir, size, mtime_ns, inode, status, added_at,"
                " updated_at) VALUES (1, ?, x'2f70', 1, 1, ?, 'ok', 0, 0)",
                (name, i),
            )
    engine.dispose()
    catalog = Catalog.open(path)
    with catalog.engine.connect() as conn:
        rows = dict(conn.exec_driver_sql("SELECT path, ext FROM files").fetchall())
    catalog.close()
    assert rows == {
        b"/p/x.HEIC": ".heic",
        b"/p/y.jpeg": ".jpeg",
        b"/p/noext": "",
        b"/p/\xff.Png": ".png",
    }


def test_database_uses_wal(catalog, tmp_path):
    with sqlite3.connect(tmp_path / "catalog.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_library_from_a_newer_version_is_refused(tmp_path):
    Catalog.open(tmp_path / "c.db").close()
    with sqlite3.connect(tmp_path / "c.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(CatalogError, match="newer clipdesk"):
        Catalog.open(tmp_path / "c.db")


def test_non_utf8_paths_survive(catalog):
    root = catalog.add_root(b"/photos")
    name = b"/photos/caf\xe9.jpg"
    catalog.apply_scan(root.id, added=[StatEntry(name, 10, 1, 2)])
    record = catalog.file_by_path(name)
    assert record is not None
    assert record.path == name
    assert os.fsencode(record.fspath) == name


def _scan_one(catalog, path=b"/photos/a.jpg"):
    root = catalog.add_root(b"/photos")
    catalog.apply_scan(root.id, added=[StatEntry(path, 10, 1, 2)])
    return root, catalog.file_by_path(path)


def _embedded_one(catalog):
    """One photo read as fingerprint ``fp``, with a vector of model ``m``."""
    root, record = _scan_one(catalog)
    catalog.record_results(
        "m",
        decoded=[(record.id, DecodedFacts("fp", 1, 1))],
        new_vectors={"fp": np.ones(2, dtype=np.float32)},
    )
    return root, record


def test_pending_until_embedded_for_that_model(catalog):
    _, record = _scan_one(catalog)
    assert [f.id for f in catalog.pending_files("m1")] == [record.id]
    vector = np.ones(4, dtype=np.float32) / 2
    created = catalog.record_results(
        "m1", decoded=[(record.id, DecodedFacts("fp1", 3, 4))], new_vectors={"fp1": vector}
    )
    assert len(created) == 1
    assert catalog.pending_files("m1") == []
    # Another model still needs it: vectors of two models never stand in for each other.
    assert [f.id for f in catalog.pending_files("m2")] == [record.id]
    counts = catalog.counts("m1")
    assert (counts.indexed, counts.pending, counts.skipped, counts.offline) == (1, 0, 0, 0)
    stored = catalog.vectors([created[0][0]], 4)
    np.testing.assert_array_equal(stored[0], vector)


def test_copies_share_one_embedding(catalog):
    root = catalog.add_root(b"/p")
    catalog.apply_scan(
        root.id, added=[StatEntry(b"/p/a.jpg", 1, 1, 1), StatEntry(b"/p/b.jpg", 1, 1, 2)]
    )
    a, b = catalog.file_by_path(b"/p/a.jpg"), catalog.file_by_path(b"/p/b.jpg")
    vec = np.ones(2, dtype=np.float32)
    catalog.record_results(
        "m", decoded=[(a.id, DecodedFacts("same", 1, 1))], new_vectors={"same": vec}
    )
    created = catalog.record_results(
        "m", decoded=[(b.id, DecodedFacts("same", 1, 1))], new_vectors={"same": vec}
    )
    assert created == []
    ids = catalog.embedding_ids("m")
    assert len(ids) == 1
    files = catalog.files_for_embeddings(ids)
    assert sorted(f.path for f in files[int(ids[0])]) == [b"/p/a.jpg", b"/p/b.jpg"]
    assert catalog.counts("m").indexed == 2


def test_skipped_files_are_listed_once_with_reason(catalog):
    _, record = _scan_one(catalog)
    catalog.record_results("m", skipped=[(record.id, "truncated image")])
    assert [(f.path, f.skip_reason) for f in catalog.skipped_files()] == [
        (b"/photos/a.jpg", "truncated image")
    ]
    assert catalog.pending_files("m") == []
    assert catalog.counts("m").skipped == 1


def test_a_photo_whose_text_could_not_be_read_stays_searchable_and_is_not_retried(catalog):
    root, record = _embedded_one(catalog)
    assert [f.id for f in catalog.pending_files("m", text=True)] == [record.id]
    assert catalog.searchable_among([record.id, record.id + 1], "m") == {record.id}
    assert catalog.searchable_among([record.id], "other model") == set()
    catalog.record_results("m", unread=[(record.id, "text and faces not read: crashed")])
    kept = catalog.file_by_path(b"/photos/a.jpg")
    assert (kept.status, kept.fingerprint) == ("ok", "fp")
    assert [(f.path, f.skip_reason) for f in catalog.unread_files()] == [
        (b"/photos/a.jpg", "text and faces not read: crashed")
    ]
    assert catalog.skipped_files() == []
    counts = catalog.counts("m")
    assert (counts.indexed, counts.skipped, counts.unread) == (1, 0, 1)
    assert catalog.allowed_embeddings("m", []).size == 1  # still searched
    assert catalog.pending_files("m", text=True, faces=True) == []  # not tried again
    assert [f.id for f in catalog.pending_files("m2", text=True)] == [record.id]  # new model
    # Once the file changes it is read anew, reads included, and the reason goes.
    catalog.apply_scan(root.id, changed=[(record.id, StatEntry(b"/photos/a.jpg", 11, 5, 2))])
    assert catalog.unread_files() == [] and catalog.counts("m").unread == 0
    # A file that is not searchable cannot be kept as unread.
    catalog.record_results("m", unread=[(record.id, "text and faces not read: crashed")])
    assert catalog.file_by_path(b"/photos/a.jpg").status == "pending"
    assert catalog.unread_files() == []


def test_offline_root_files_are_counted_offline_not_deleted(catalog):
    root, _ = _scan_one(catalog)
    catalog.set_root_online(root.id, False)
    counts = catalog.counts("m")
    assert counts.offline == 1 and counts.pending == 0
    assert catalog.pending_files("m") == []
    assert len(catalog.files_of_root(root.id)) == 1


def test_moved_file_keeps_fingerprint_and_changed_file_is_read_again(catalog):
    root, record = _embedded_one(catalog)
    catalog.apply_scan(root.id, moved=[(record.id, StatEntry(b"/photos/sub/a.jpg", 10, 1, 2))])
    moved = catalog.file_by_path(b"/photos/sub/a.jpg")
    assert moved.id == record.id and moved.fingerprint == "fp"
    assert catalog.pending_files("m") == []
    catalog.apply_scan(root.id, changed=[(record.id, StatEntry(b"/photos/sub/a.jpg", 11, 5, 2))])
    changed = catalog.file_by_path(b"/photos/sub/a.jpg")
    # Pending, and still naming what it was until read: a touched photo keeps its faces.
    assert changed.status == "pending" and changed.fingerprint == "fp"
    assert [f.id for f in catalog.pending_files("m")] == [record.id]
    assert catalog.counts("m").indexed == 0 and catalog.counts("m").pending == 1
    assert catalog.allowed_embeddings("m", []).size == 0  # not searched while pending


def test_folder_filter_selects_only_that_folder(catalog):
    root = catalog.add_root(b"/p")
    catalog.apply_scan(
        root.id,
        added=[StatEntry(b"/p/x/a.jpg", 1, 1, 1), StatEntry(b"/p/x2/b.jpg", 1, 1, 2)],
    )
    a, b = catalog.file_by_path(b"/p/x/a.jpg"), catalog.file_by_path(b"/p/x2/b.jpg")
    catalog.record_results(
        "m",
        decoded=[(a.id, DecodedFacts("fa", 1, 1)), (b.id, DecodedFacts("fb", 1, 1))],
        new_vectors={"fa": np.ones(2, np.float32), "fb": np.ones(2, np.float32)},
    )
    ids = catalog.allowed_embeddings("m", [below(b"/p/x")])
    assert len(ids) == 1
    assert catalog.files_for_embeddings(ids)[int(ids[0])][0].path == b"/p/x/a.jpg"
    assert catalog.allowed_embeddings("m", [not_below(b"/p/x")]).tolist() == [
        int(catalog.embedding_ids_for(["fb"], "m")["fb"])
    ]


def test_embedding_ids_are_never_reused(catalog):
    _, record = _scan_one(catalog)
    first = catalog.record_results(
        "m",
        decoded=[(record.id, DecodedFacts("fp", 1, 1))],
        new_vectors={"fp": np.ones(2, np.float32)},
    )
    catalog.apply_scan(1, removed=[record.id])
    assert catalog.delete_orphan_embeddings("m") == [first[0][0]]
    _, again = _scan_one(catalog, b"/photos/b.jpg")
    second = catalog.record_results(
        "m",
        decoded=[(again.id, DecodedFacts("fp", 1, 1))],
        new_vectors={"fp": np.ones(2, np.float32)},
    )
    assert second[0][0] > first[0][0]


def test_roots_round_trip_and_go_offline(catalog):
    root = catalog.add_root(b"/photos")
    assert catalog.add_root(b"/photos").id == root.id  # adding twice is harmless
    assert (root.path, root.online, root.last_scan_at) == (b"/photos", True, None)
    catalog.set_root_online(root.id, False)
    catalog.mark_root_scanned(root.id)
    (again,) = catalog.roots()
    assert again.online is False and again.last_scan_at is not None


def test_excluding_a_folder_takes_away_only_photos_with_no_visible_copy_elsewhere(catalog):
    root = catalog.add_root(b"/p")
    away = catalog.add_root(b"/q")
    entries = {
        b"/p/private/a.jpg": "fa",  # only here: taken away
        b"/p/private/b.jpg": "fb",  # with a copy outside: stays
        b"/p/public/b.jpg": "fb",
        b"/p/private/c.jpg": "fc",  # its other copy is on an offline disk: taken away
        b"/p/public/d.jpg": "fd",  # outside: stays
    }
    for i, path in enumerate(entries):
        catalog.apply_scan(root.id, added=[StatEntry(path, 1, 1, i)])
    catalog.apply_scan(away.id, added=[StatEntry(b"/q/c.jpg", 1, 1, 99)])
    catalog.set_root_online(away.id, False)
    decoded = [(catalog.file_by_path(p).id, DecodedFacts(fp, 1, 1)) for p, fp in entries.items()]
    decoded.append((catalog.file_by_path(b"/q/c.jpg").id, DecodedFacts("fc", 1, 1)))
    vectors = {fp: np.ones(2, np.float32) for fp in set(entries.values())}
    catalog.record_results("m", decoded=decoded, new_vectors=vectors)
    ids = catalog.embedding_ids_for(["fa", "fb", "fc", "fd"], "m")
    gone = catalog.excluded_embeddings("m", [b"/p/private"])
    assert sorted(gone.tolist()) == sorted([ids["fa"], ids["fc"]])
    allowed = catalog.allowed_embeddings("m", [not_below(b"/p/private")])
    everything = catalog.allowed_embeddings("m", [])
    assert sorted(allowed.tolist()) == sorted([ids["fb"], ids["fd"]])
    assert np.setdiff1d(everything, gone).tolist() == allowed.tolist()


def test_revisions_read_without_alembic_agree_with_alembic():
    """Opening a catalog names its revisions without importing Alembic: the names must be
    Alembic's own, or an up-to-date library would be taken for an older one."""
    from alembic.script import ScriptDirectory

    from clipdesk.core.catalog.database import alembic_config, revisions

    scripts = ScriptDirectory.from_config(alembic_config())
    known, head = revisions()
    assert head == scripts.get_current_head()
    assert list(known) == [s.revision for s in scripts.walk_revisions()][::-1]
    assert len(known) >= 3 and known[0] == "0001"


def test_opening_an_up_to_date_catalog_imports_no_alembic(tmp_path):
    """A cold search opens a current catalog; Alembic is only for creating and migrating."""
    import subprocess
    import sys

    Catalog.open(tmp_path / "catalog.db").close()
    code = (
        "import sys; from pathlib import Path; from clipdesk.core.catalog import Catalog;"
        f"c = Catalog.open(Path({str(tmp_path / 'catalog.db')!r})); c.close();"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
