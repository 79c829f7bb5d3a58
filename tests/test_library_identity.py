"""A library is recognised before anything is written to it, and created only once.

A clipdesk library carries its own marker (Alembic's version table plus a ``meta`` row);
libraries from before the marker are recognised by their tables and stamped. Another
program's SQLite file, an empty catalog beside saved vectors, and paths that are files
are refused with one line, and nothing on disk changes. Any number of processes may
open a new library at once.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from library_damage import cli, indexed_library, library_copy, snapshot  # noqa: F401

from clipdesk.core.catalog import Catalog, CatalogError
from clipdesk.core.catalog.database import head_revision
from clipdesk.core.catalog.identity import MARKER_KEY, MARKER_VALUE


def marker(catalog_file: Path) -> str | None:
    with sqlite3.connect(catalog_file) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (MARKER_KEY,)).fetchone()
    return row[0] if row else None


def test_a_new_library_carries_the_marker(tmp_path):
    Catalog.open(tmp_path / "catalog.db").close()
    assert marker(tmp_path / "catalog.db") == MARKER_VALUE
    with sqlite3.connect(tmp_path / "catalog.db") as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == (
            head_revision()
        )


def test_a_library_from_before_the_marker_is_accepted_and_stamped(tmp_path):
    path = tmp_path / "catalog.db"
    catalog = Catalog.open(path)
    catalog.add_root(b"/photos")
    catalog.close()
    with sqlite3.connect(path) as conn:  # as every library written before the marker
        conn.execute("DELETE FROM meta WHERE key = ?", (MARKER_KEY,))
    before = path.read_bytes()
    reader = Catalog.open(path, read_only=True)  # accepted read-only, and not stamped
    assert [r.path for r in reader.roots()] == [b"/photos"]
    reader.close()
    assert path.read_bytes() == before and marker(path) is None
    catalog = Catalog.open(path)
    assert [r.path for r in catalog.roots()] == [b"/photos"]
    catalog.close()
    assert marker(path) == MARKER_VALUE


def test_a_library_from_before_the_marker_at_an_older_schema_is_upgraded_and_stamped(tmp_path):
    from alembic import command

    from clipdesk.core.catalog.database import alembic_config, create_sqlite_engine

    path = tmp_path / "catalog.db"
    engine = create_sqlite_engine(path)
    config = alembic_config()
    with engine.begin() as connection:  # the first schema, as the first clipdesk made it
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.exec_driver_sql(
            "INSERT INTO roots(path, added_at, online) VALUES (x'2f6f6c64', 1.0, 1)"
        )
    engine.dispose()
    assert marker(path) is None
    with pytest.raises(CatalogError, match="older clipdesk"):
        Catalog.open(path, read_only=True)  # cannot be upgraded without writing
    catalog = Catalog.open(path)
    assert [r.path for r in catalog.roots()] == [b"/old"]
    catalog.close()
    assert marker(path) == MARKER_VALUE
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == (
            head_revision()
        )
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    assert "file_tags" in tables


def _foreign_plain(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("INSERT INTO notes(body) VALUES ('shopping list')")


def _foreign_alembic(path: Path) -> None:  # another program that also uses Alembic
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('3f2a9c1b7d00')")
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")


def _foreign_same_revision(path: Path) -> None:  # a revision id like ours, other tables
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('0001')")
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")


@pytest.mark.parametrize("make", [_foreign_plain, _foreign_alembic, _foreign_same_revision])
@pytest.mark.parametrize("command", [["status"], ["index"], ["check"], ["roots", "--json"]])
def test_another_programs_sqlite_file_is_refused_and_left_untouched(
    tmp_path, capsys, make, command
):
    library = tmp_path / "lib"
    library.mkdir()
    make(library / "catalog.db")
    before = snapshot(library)
    run = cli(capsys, "--library", str(library), *command)
    if command == ["check"]:  # check reports it as a problem
        assert run.code == 1 and "Traceback" not in run.err, run.err
        assert "not a clipdesk library" in run.out, run.out
    else:
        run.assert_one_line_error(1, "not a clipdesk library")
    assert snapshot(library) == before


def test_an_empty_catalog_beside_saved_vectors_is_damage_and_nothing_changes(
    library_copy,  # noqa: F811
    capsys,
):
    library, _photos = library_copy
    (library / "catalog.db").write_bytes(b"")
    for name in ("catalog.db-wal", "catalog.db-shm"):
        (library / name).unlink(missing_ok=True)
    before = snapshot(library)
    assert any(name.startswith("vectors") for name in before)
    for command in (["search", "red"], ["status"], ["index"], ["check", "--repair"]):
        run = cli(capsys, "--library", str(library), *command)
        assert run.code == 1, (command, run.err)
        assert "Traceback" not in run.err
        assert "saved vectors" in run.out + run.err, (command, run.err)
        assert snapshot(library) == before, command
    (library / "catalog.db").unlink()  # a missing catalog beside vectors: the same
    before = snapshot(library)
    run = cli(capsys, "--library", str(library), "status")
    run.assert_one_line_error(1, "saved vectors")
    assert snapshot(library) == before


@pytest.mark.parametrize("zero_byte", [True, False])
def test_an_empty_or_absent_catalog_in_a_new_folder_is_a_new_library(
    tmp_path, capsys, monkeypatch, zero_byte
):
    monkeypatch.setenv("CLIPDESK_MODEL", "tiny-shapes")
    library = tmp_path / "lib"
    library.mkdir()
    if zero_byte:
        (library / "catalog.db").write_bytes(b"")
    run = cli(capsys, "--library", str(library), "status", "--json")
    assert run.code == 0, run.err
    assert marker(library / "catalog.db") == MARKER_VALUE


# -- paths that are files -----------------------------------------------------------------


def test_a_library_path_that_is_a_file_is_one_line(tmp_path, capsys):
    file = tmp_path / "notes.txt"
    file.write_text("mine")
    run = cli(capsys, "--library", str(file), "status")
    run.assert_one_line_error(1, "not a folder")
    run = cli(capsys, "--library", str(file / "lib"), "status")
    run.assert_one_line_error(1, "not a folder")
    assert file.read_text() == "mine"


def test_a_data_folder_that_is_a_file_is_one_line(tmp_path, capsys, monkeypatch):
    file = tmp_path / "xdg-data"
    file.write_text("mine")
    monkeypatch.delenv("CLIPDESK_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(file))
    run = cli(capsys, "status")
    run.assert_one_line_error(1, "not a folder")
    assert file.read_text() == "mine"


def test_a_cache_folder_that_is_a_file_stops_nothing_and_is_left_alone(
    library_copy,  # noqa: F811
    tmp_path,
    capsys,
    monkeypatch,
):
    """A cache is only a cache: tag features that cannot be saved stay in memory."""
    library, _photos = library_copy
    file = tmp_path / "cache"
    file.write_text("mine")
    monkeypatch.setenv("CLIPDESK_CACHE_DIR", str(file))
    run = cli(capsys, "--library", str(library), "tags", "run")
    assert run.code == 0, run
    assert "Traceback" not in run.err and "Tagged 12 photos" in run.err
    assert file.read_text() == "mine"


# -- many processes opening one new library -------------------------------------------------

OPEN_AT_ONCE = """
import sys, time
from pathlib import Path
from clipdesk.core.library import Library

library, ready, go = (Path(a) for a in sys.argv[1:4])
ready.touch()
while not go.exists():
    time.sleep(0.001)
with Library.open(library) as opened:
    opened.add_root(sys.argv[4])
    print(len(opened.roots()))
"""


def _open_at_once(base: Path, processes: int) -> list[subprocess.CompletedProcess[str]]:
    library, go = base / "lib", base / "go"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = []
    for i in range(processes):
        folder = base / f"photos{i}"
        folder.mkdir()
        args = [library, base / f"ready{i}", go, folder]
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", OPEN_AT_ONCE, *map(str, args)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
        )
    deadline = time.monotonic() + 120
    while not all((base / f"ready{i}").exists() for i in range(processes)):
        assert time.monotonic() < deadline, "the processes never started"
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        time.sleep(0.01)
    go.touch()  # all of them open the library now
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def _rounds_of_opening_a_new_library(tmp_path: Path, rounds: int, processes: int) -> None:
    for round_ in range(rounds):
        base = tmp_path / f"round{round_}"
        base.mkdir()
        results = _open_at_once(base, processes)
        failed = [r.stderr for r in results if r.returncode != 0]
        assert not failed, f"round {round_}: {failed[0]}"
        catalog = Catalog.open(base / "lib" / "catalog.db")
        assert len(catalog.roots()) == processes
        catalog.close()
        assert marker(base / "lib" / "catalog.db") == MARKER_VALUE


def test_several_processes_open_a_new_library_at_once(tmp_path):
    _rounds_of_opening_a_new_library(tmp_path, rounds=2, processes=4)


@pytest.mark.slow
def test_many_processes_open_a_new_library_at_once_many_times(tmp_path):
    _rounds_of_opening_a_new_library(tmp_path, rounds=25, processes=6)


def test_a_catalog_newer_than_this_clipdesk_is_still_refused(tmp_path):
    Catalog.open(tmp_path / "catalog.db").close()
    with sqlite3.connect(tmp_path / "catalog.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    before = (tmp_path / "catalog.db").read_bytes()
    with pytest.raises(CatalogError, match="newer clipdesk"):
        Catalog.open(tmp_path / "catalog.db")
    assert (tmp_path / "catalog.db").read_bytes() == before
