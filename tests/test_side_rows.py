"""What a photo leaves behind: its text, faces, scenes and tags go with its last file.

Rows kept per content fingerprint (``catalog/orphans.py``) are deleted in the transaction
that removes, or reads as other content, the last file holding that fingerprint; a copy
or a move keeps them, and so does a touched file until it is read. ``check`` reports
what is left anyway (one line per table) and ``check --repair`` deletes it. Each runs on
SQLite and on a real PostgreSQL (``tests/pg_server.py``).
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from sqlalchemy import func, insert, select, text

from clipdesk.core.catalog import DecodedFacts, StatEntry
from clipdesk.core.catalog.orphans import PEOPLE_VERSION
from clipdesk.core.catalog.records import PhotoText, SceneRecord, TextLine
from clipdesk.core.catalog.schema import (
    face_rejections,
    face_scans,
    faces,
    file_tags,
    persons,
    photo_text,
    tags,
    video_scenes,
)
from clipdesk.core.check import check_library
from clipdesk.core.faces.detect import FoundFace
from clipdesk.core.library import Library
from clipdesk.core.people.store import PeopleStore
from tests.cli_harness import run_cli

A, B, C, Z = ("a" * 32, "b" * 32, "c" * 32, "f" * 32)
BOX = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))


@pytest.fixture(params=["sqlite", "postgres"])
def library(request, tmp_path, tiny_shapes_installed):
    where = os.fspath(tmp_path / "lib")
    if request.param == "postgres":
        where = request.getfixturevalue("pg_url")
    lib = Library.open(where, model=tiny_shapes_installed)
    yield lib
    lib.close()


def words(word: str) -> PhotoText:
    return PhotoText((TextLine(word, 0.9, BOX),), 10, 10)


def facts(fingerprint: str, word: str) -> DecodedFacts:
    return DecodedFacts(fingerprint, 10, 10, text=words(word))


def face(seed: int) -> FoundFace:
    vector = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    return FoundFace((0.1, 0.1, 0.4, 0.4), 0.9, vector / np.linalg.norm(vector))


def give_side_rows(lib: Library, fingerprint: str, seed: int) -> int:
    """A face (in a person of its own, kept out of another), a look for faces, two video
    scenes, an automatic and a manual tag for ``fingerprint``; the person's id."""
    store = PeopleStore(lib.catalog.engine)
    (row,) = store.record([(fingerprint, (face(seed),))], "hog")
    person, other = store.new_person(), store.new_person()
    store.assign({row.id: person})
    scenes = [SceneRecord(f"{fingerprint[:31]}{i}", fingerprint, i, i, i + 1.0) for i in (0, 1)]
    lib.catalog.record_results("m", scenes=scenes)
    with lib.catalog.engine.begin() as conn:
        conn.execute(insert(face_rejections).values(face_id=row.id, person_id=other))
        for name, source in (("sign", "zero-shot"), ("kept", "manual")):
            tag_id = conn.execute(select(tags.c.id).where(tags.c.name == name)).scalar()
            if tag_id is None:
                values = {"name": name, "origin": "custom", "created_at": 0.0}
                tag_id = conn.execute(insert(tags).values(**values)).inserted_primary_key[0]
            conn.execute(
                insert(file_tags).values(
                    tag_id=tag_id, fingerprint=fingerprint, source=source, updated_at=0.0
                )
            )
    return person


def rows_of(lib: Library, fingerprint: str) -> dict[str, int]:
    """How many rows each side table holds for ``fingerprint``."""
    out = {}
    with lib.catalog.engine.connect() as conn:
        for table in (photo_text, faces, face_scans, video_scenes, file_tags):
            query = select(func.count()).where(table.c.fingerprint == fingerprint)
            out[table.name] = int(conn.execute(query.select_from(table)).scalar())
        out["face_rejections"] = int(
            conn.execute(select(func.count()).select_from(face_rejections)).scalar()
        )
    return out


def fts_rows(lib: Library) -> int | None:
    """SQLite's full-text entries (PostgreSQL's index is a column of ``photo_text``)."""
    if lib.catalog.engine.dialect.name != "sqlite":
        return None
    with lib.catalog.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM photo_text_fts")).scalar())


def person_ids(lib: Library) -> set[int]:
    with lib.catalog.engine.connect() as conn:
        return {r[0] for r in conn.execute(select(persons.c.id))}


def test_the_last_file_of_a_photo_takes_its_side_rows_and_copies_keep_them(library):
    lib = library
    root = lib.catalog.add_root(b"/p")
    names = (b"/p/a.jpg", b"/p/copy-of-a.jpg", b"/p/c.jpg")
    lib.catalog.apply_scan(root.id, added=[StatEntry(n, 1, 1, i) for i, n in enumerate(names)])
    a, copy, c = (lib.catalog.file_by_path(n) for n in names)
    lib.catalog.record_results(
        "m",
        decoded=[
            (a.id, facts(A, "Alpha")),
            (copy.id, facts(A, "Alpha")),
            (c.id, facts(C, "Gamma")),
        ],
    )
    person_a, person_c = give_side_rows(lib, A, 1), give_side_rows(lib, C, 2)
    full = {"photo_text": 1, "faces": 1, "face_scans": 1, "video_scenes": 2, "file_tags": 2}
    assert rows_of(lib, C) == {**full, "face_rejections": 2}
    assert fts_rows(lib) in (2, None)
    assert lib.catalog.text_words("gam") == ["gamma"]
    version = lib.catalog.get_meta(PEOPLE_VERSION)

    # The last file of C goes: everything of C but the user's own tag goes with it.
    lib.catalog.apply_scan(root.id, removed=[c.id])
    assert rows_of(lib, C) == {**dict.fromkeys(full, 0), "file_tags": 1, "face_rejections": 1}
    assert fts_rows(lib) in (1, None)
    assert lib.catalog.text_words("gam") == [] and lib.catalog.text_words("alp") == ["alpha"]
    assert person_c not in person_ids(lib) and person_a in person_ids(lib)
    assert lib.catalog.get_meta(PEOPLE_VERSION) != version  # other processes read faces again

    # A's first file goes, its copy holds A; moved, then touched, it still does.
    lib.catalog.apply_scan(root.id, removed=[a.id])
    assert rows_of(lib, A) == {**full, "face_rejections": 1}
    lib.catalog.apply_scan(root.id, moved=[(copy.id, StatEntry(b"/p/sub/a.jpg", 1, 1, 1))])
    lib.catalog.apply_scan(root.id, changed=[(copy.id, StatEntry(b"/p/sub/a.jpg", 2, 2, 1))])
    assert rows_of(lib, A) == {**full, "face_rejections": 1}
    lib.catalog.record_results("m", decoded=[(copy.id, facts(A, "Alpha"))])  # same content
    assert rows_of(lib, A) == {**full, "face_rejections": 1}
    # Changed again, and read as other content: A is let go as it is read.
    lib.catalog.apply_scan(root.id, changed=[(copy.id, StatEntry(b"/p/sub/a.jpg", 3, 3, 1))])
    lib.catalog.record_results("m", decoded=[(copy.id, facts(B, "Beta"))])
    assert rows_of(lib, A)["faces"] == 0 and rows_of(lib, A)["photo_text"] == 0
    assert lib.catalog.text_words("alp") == [] and lib.catalog.text_words("bet") == ["beta"]
    assert fts_rows(lib) in (1, None)
    # A file that turns unreadable lets its content go too.
    lib.catalog.apply_scan(root.id, changed=[(copy.id, StatEntry(b"/p/sub/a.jpg", 4, 4, 1))])
    lib.catalog.record_results("m", skipped=[(copy.id, "truncated file")])
    assert rows_of(lib, B)["photo_text"] == 0 and fts_rows(lib) in (0, None)
    assert lib.catalog.orphan_rows() == {}


def test_removing_a_root_takes_what_only_its_photos_held(library, tmp_path):
    lib = library
    outer, other = lib.catalog.add_root(b"/p"), lib.catalog.add_root(b"/q")
    lib.catalog.apply_scan(outer.id, added=[StatEntry(b"/p/a.jpg", 1, 1, 1)])
    lib.catalog.apply_scan(other.id, added=[StatEntry(b"/q/c.jpg", 1, 1, 2)])
    lib.catalog.apply_scan(other.id, added=[StatEntry(b"/q/a.jpg", 1, 1, 3)])
    ids = {n: lib.catalog.file_by_path(n).id for n in (b"/p/a.jpg", b"/q/c.jpg", b"/q/a.jpg")}
    lib.catalog.record_results(
        "m",
        decoded=[
            (ids[b"/p/a.jpg"], facts(A, "Alpha")),
            (ids[b"/q/c.jpg"], facts(C, "Gamma")),
            (ids[b"/q/a.jpg"], facts(A, "Alpha")),
        ],
    )
    give_side_rows(lib, A, 1)
    give_side_rows(lib, C, 2)
    lib.catalog.remove_root(other.id)
    assert rows_of(lib, C)["faces"] == 0 and rows_of(lib, C)["photo_text"] == 0
    assert rows_of(lib, A)["faces"] == 1 and rows_of(lib, A)["photo_text"] == 1
    assert lib.catalog.orphan_rows() == {}


def inject_orphans(lib: Library) -> None:
    """Rows of a photo no file holds, as a library written before they were let go has."""
    from clipdesk.core.catalog._photo_text import store_text

    with lib.catalog.engine.begin() as conn:
        store_text(conn, Z, words("Zebra"), 0.0)
    give_side_rows(lib, Z, 3)


def test_check_reports_orphans_one_line_a_table_and_repair_deletes_them(library):
    lib = library
    inject_orphans(lib)
    if lib.catalog.engine.dialect.name == "sqlite":  # an index entry without its row
        with lib.catalog.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO photo_text_fts (rowid, fingerprint, words) VALUES (999, :f, 'yak')"
                ),
                {"f": Z},
            )
    report = check_library(lib)
    lines = [line for line in report.problems if "belong to no file" in line]
    expected = {
        "catalog: 1 rows of text read in photos belong to no file any more",
        "catalog: 1 faces belong to no file any more",
        "catalog: 1 records of a look for faces belong to no file any more",
        "catalog: 2 video scenes belong to no file any more",
        "catalog: 1 automatic tags on photos belong to no file any more",
    }
    if lib.catalog.engine.dialect.name == "sqlite":
        expected.add("catalog: 1 full-text index entries belong to no file any more")
    assert set(lines) == expected and len(lines) == len(expected)
    assert not report.ok and lib.catalog.text_words("zeb") == ["zebra"]

    repaired = check_library(lib, repair=True)
    assert repaired.ok and repaired.problems == [], repaired
    assert expected <= set(repaired.repaired)
    assert rows_of(lib, Z) == {
        "photo_text": 0, "faces": 0, "face_scans": 0, "video_scenes": 0, "file_tags": 1,
        "face_rejections": 0,
    }  # fmt: skip
    assert lib.catalog.text_words("zeb") == [] and lib.catalog.text_words("yak") == []
    assert lib.catalog.orphan_rows() == {} and fts_rows(lib) in (0, None)


def test_check_json_names_each_table_and_repair_says_what_it_did(tmp_path, tiny_shapes_installed):
    where = tmp_path / "lib"
    with Library.open(where, model=tiny_shapes_installed) as lib:
        inject_orphans(lib)
    argv = ["--library", os.fspath(where), "--model", tiny_shapes_installed, "check", "--json"]
    before = run_cli(argv)
    shown = json.loads(before.out)
    assert before.code == 1 and shown["ok"] is False, before
    assert sum("belong to no file" in p for p in shown["problems"]) == 5
    after = run_cli([*argv, "--repair"])
    fixed = json.loads(after.out)
    assert after.code == 0 and fixed["ok"] is True and fixed["problems"] == [], after
    assert sum("belong to no file" in p for p in fixed["repaired"]) == 5
    assert json.loads(run_cli(argv).out) == {"ok": True, "problems": []}


def test_a_removal_stopped_half_way_leaves_the_photo_and_its_rows_together(library, monkeypatch):
    """The file and what it carries change in one transaction: a failure (a killed
    process, a full disk) in the middle of letting rows go undoes the removal too."""
    from clipdesk.core.catalog import orphans

    lib = library
    root = lib.catalog.add_root(b"/p")
    lib.catalog.apply_scan(root.id, added=[StatEntry(b"/p/c.jpg", 1, 1, 1)])
    c = lib.catalog.file_by_path(b"/p/c.jpg")
    lib.catalog.record_results("m", decoded=[(c.id, facts(C, "Gamma"))])
    give_side_rows(lib, C, 2)
    before = rows_of(lib, C)

    def fail(*_args: object) -> int:
        raise OSError("disk full")

    monkeypatch.setattr(orphans, "_drop_faceless", fail)  # after the faces were deleted
    with pytest.raises(OSError):
        lib.catalog.apply_scan(root.id, removed=[c.id])
    assert lib.catalog.file_by_path(b"/p/c.jpg") is not None
    assert rows_of(lib, C) == before and lib.catalog.text_words("gam") == ["gamma"]
    monkeypatch.undo()
    lib.catalog.apply_scan(root.id, removed=[c.id])
    assert rows_of(lib, C)["faces"] == 0 and lib.catalog.orphan_rows() == {}
