"""People on real face photos: found while indexing, grouped, named, searched for.

The photos are dlib's public example photos and variants derived from them
(``face_photos.py``): crops, scales, mirror images and light of the same face stand for
one person photographed several times; faces from different photos are different people.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from face_photos import (
    PEOPLE,
    VARIANTS,
    FacePhoto,
    pairwise,
    source,
    write_bald_guys,
    write_people,
)

from clipdesk.cli import main
from clipdesk.core.errors import PeopleError
from clipdesk.core.library import Library
from clipdesk.core.progress import run_to_end
from clipdesk.core.search import Filters, SearchQuery


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, tiny_shapes_installed):
    """Sixteen photos of four people indexed once with faces; copied per test."""
    base = tmp_path_factory.mktemp("people")
    photos = write_people(base / "photos")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CLIPDESK_CACHE_DIR", str(base / "cache"))
        with Library.open(base / "lib", model=tiny_shapes_installed) as library:
            report = run_to_end(library.index([base / "photos"], workers=1, faces=True))
    return base, photos, report


@pytest.fixture
def library(indexed, tmp_path, tiny_shapes_installed):
    base, photos, _ = indexed
    shutil.copytree(base / "photos", tmp_path / "photos")
    shutil.copytree(base / "lib", tmp_path / "lib")
    lib = Library.open(tmp_path / "lib", model=tiny_shapes_installed)
    # Its own copy of the photos: the faces follow their content, not their paths (the
    # copies hold them when the first folder goes).
    run_to_end(lib.index([tmp_path / "photos"], workers=1))
    lib.remove_root(base / "photos")
    yield lib, [FacePhoto(tmp_path / "photos" / p.path.name, p.person) for p in photos]
    lib.close()


def subject(library: Library, path: Path):
    """The face nearest the middle of a photo: the person the photo was made of."""
    faces = library.people.faces_in(path)
    return min(faces, key=lambda f: abs(f.box[0] + f.box[2] - 1) + abs(f.box[1] + f.box[3] - 1))


def test_same_person_groups_together_and_different_people_stay_apart(indexed, library):
    _, _, report = indexed
    lib, photos = library
    assert report.faces >= len(photos)  # some crops hold a neighbour's face too
    truth = [p.person for p in photos]
    found = [subject(lib, p.path).person_id for p in photos]
    precision, recall = pairwise(truth, found)
    print(f"pairwise same-person decisions: precision {precision:.3f}, recall {recall:.3f}")
    assert precision >= 0.9 and recall >= 0.9
    people = lib.people.people()
    assert len({p.id for p in people}) == len(people)
    assert all(p.name is None and p.label == f"Person {p.id}" for p in people)
    assert all(p.cover_path is not None and p.cover_box is not None for p in people)


def test_search_by_person_combines_with_text_and_lists_newest_first(library):
    lib, photos = library
    left = subject(lib, photos[0].path).person_id
    lib.people.name(left, "Ann")
    ann = {os.fspath(p.path) for p in photos if subject(lib, p.path).person_id == left}
    everyone_with_ann = {
        os.fspath(p.path)
        for p in photos
        if any(f.person_id == left for f in lib.people.faces_in(p.path))
    }
    # No text: Ann's photos, newest first.
    for age, path in enumerate(sorted(everyone_with_ann)):
        os.utime(path, (1_600_000_000 - age * 86400,) * 2)
    assert run_to_end(lib.index()).changed == len(everyone_with_ann)  # same faces: same content
    listed = lib.find(SearchQuery(k=50, filters=Filters(persons=("ann",))))
    assert [h.path for h in listed.hits] == sorted(everyone_with_ann)
    # Text and a person: only Ann's photos, ranked by the text.
    hits = lib.search("a photo", k=50, filters=Filters(persons=("Ann",))).hits
    assert {h.path for h in hits} == everyone_with_ann and ann <= everyone_with_ann
    assert len(lib.search("a photo", k=50).hits) == len(photos)
    # Two people: only photos with both in them.
    middle = subject(lib, photos[4].path).person_id
    both = lib.search("a photo", k=50, filters=Filters(persons=("Ann", f"Person {middle}"))).hits
    assert both and {h.path for h in both} < everyone_with_ann
    with pytest.raises(PeopleError):
        lib.search("a photo", filters=Filters(persons=("Nobody",)))


def test_names_merges_and_not_this_person_survive_reindexing_and_moves(library, tmp_path):
    lib, photos = library
    left = subject(lib, photos[0].path).person_id
    right = subject(lib, photos[8].path).person_id
    lib.people.name(left, "Ann")
    # Split the right person in two by "not this person", then merge back via the name.
    lib.people.forget_face(photos[9].path, right)
    loose = subject(lib, photos[9].path)
    assert loose.person_id is None
    lib.people.set_face(loose.id, "Ann")  # the user's word: this face is Ann
    assert subject(lib, photos[9].path).person_name == "Ann"
    lib.people.forget_face(photos[9].path, "Ann")
    assert subject(lib, photos[9].path).person_id is None
    # Move a photo of Ann and index again: no face is looked for twice, nothing is undone.
    moved = tmp_path / "photos" / "moved-ann.jpg"
    os.rename(photos[1].path, moved)
    report = run_to_end(lib.index(faces=True))
    assert report.moved == 1 and report.faces == 0 and report.decoded == 0
    lib.people.recluster()  # grouping everything again from scratch keeps the user's word
    assert subject(lib, moved).person_name == "Ann"
    assert subject(lib, photos[9].path).person_id is None
    assert subject(lib, photos[9].path).id == loose.id
    # Merge: one person, Ann's name.
    middle = subject(lib, photos[4].path).person_id
    merged = lib.people.merge("Ann", middle)
    assert merged.name == "Ann" and merged.id == left
    assert subject(lib, photos[4].path).person_name == "Ann"
    # Hidden people leave the list but can still be searched for.
    lib.people.hide("Ann")
    assert "Ann" not in [p.name for p in lib.people.people()]
    assert lib.find(SearchQuery(k=5, filters=Filters(persons=("Ann",)))).hits


def test_no_face_huge_photo_and_edge_face_are_recorded_once(tmp_path, tiny_shapes_installed):
    from PIL import Image

    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(source("dogs.jpg"), photos / "dogs.jpg")
    face = Image.open(source("2009_004587.jpg")).convert("RGB")
    # The face cut through by the photo's left edge.
    face.crop((180, 30, 400, 250)).save(photos / "edge.jpg")
    # 60 megapixels; the faces a tenth of its width (detection sees it 1024 pixels wide).
    huge = Image.new("RGB", (9000, 6750), (90, 110, 80))
    huge.paste(face.resize((4000, 5000)), (4900, 1700))
    huge.save(photos / "huge.jpg", quality=80)
    with Library.open(tmp_path / "lib", model=tiny_shapes_installed) as lib:
        first = run_to_end(lib.index([photos], workers=1, faces=True))
        assert first.decoded == 3 and first.skipped == 0
        assert lib.people.faces_in(photos / "dogs.jpg") == []
        edge = lib.people.faces_in(photos / "edge.jpg")
        assert edge and min(f.box[0] for f in edge) == 0.0
        assert lib.people.faces_in(photos / "huge.jpg")
        again = run_to_end(lib.index(faces=True))
        assert again.decoded == 0 and again.faces == 0


def test_faces_on_by_default_off_with_no_faces(tmp_path, monkeypatch, tiny_shapes_installed):
    monkeypatch.delenv("CLIPDESK_FACES", raising=False)
    photos = tmp_path / "photos"
    write_people(photos, variants=((2.2, 400, False, 1.0),))
    with Library.open(tmp_path / "lib", model=tiny_shapes_installed) as lib:
        off = run_to_end(lib.index([photos], workers=1, faces=False))
        assert off.decoded == 4 and off.faces == 0
        on = run_to_end(lib.index(workers=1))  # the default: the photos are read for faces
        assert on.decoded == 4 and on.encoded == 0 and on.faces >= 4


def cli(*argv: str, capsys) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_people_command_line(library, capsys):
    lib, _ = library
    where = ["--library", os.fspath(lib.directory), "--model", "tiny-shapes"]
    lib.close()
    code, out = cli(*where, "people", "--json", capsys=capsys)
    listed = json.loads(out)["people"]
    assert code == 0 and listed
    assert all(set(p) == {"id", "name", "photos", "faces"} for p in listed)
    first = listed[0]
    code, out = cli(*where, "people", "name", str(first["id"]), "Ann", "--json", capsys=capsys)
    assert json.loads(out) == {**first, "name": "Ann"}
    code, out = cli(*where, "people", "show", "ann", "--json", capsys=capsys)
    shown = json.loads(out)
    assert set(shown) >= {"query", "model", "results"} and len(shown["results"]) == first["photos"]
    code, out = cli(*where, "search", "a photo", "--person", "Ann", "--json", capsys=capsys)
    assert {r["path"] for r in json.loads(out)["results"]} == {r["path"] for r in shown["results"]}
    second = listed[1]
    assert main([*where, "people", "name", str(second["id"]), "ANN"]) == 1  # taken: merge
    assert cli(*where, "people", "hide", str(second["id"]), capsys=capsys)[0] == 0
    hidden = json.loads(cli(*where, "people", "--json", capsys=capsys)[1])["people"]
    everyone = json.loads(cli(*where, "people", "--all", "--json", capsys=capsys)[1])["people"]
    assert second["id"] not in {p["id"] for p in hidden} and second in everyone
    code, out = cli(*where, "people", "merge", "Ann", str(second["id"]), "--json", capsys=capsys)
    assert json.loads(out)["photos"] >= first["photos"]
    target = shown["results"][0]["path"]
    assert cli(*where, "people", "forget-face", target, "--person", "Ann", capsys=capsys)[0] == 0
    assert main([*where, "people", "show", "Nobody"]) == 1
    assert cli(*where, "people", "forget-all", capsys=capsys)[0] == 0
    code, out = cli(*where, "people", "--json", capsys=capsys)
    assert json.loads(out) == {"people": []}
    # Forgotten means forgotten: the next index finds no face until asked to.
    with Library.open(lib.directory, model="tiny-shapes") as again:
        assert again.people.faces_on() is False
        assert run_to_end(again.index()).faces == 0
        assert again.people.faces_in(target) == []
    capsys.readouterr()
    assert main([*where, "index", "--faces", "--no-tags"]) == 0  # asked: found again
    found = capsys.readouterr().err
    assert "Found " in found and " faces" in found
    assert json.loads(cli(*where, "people", "--json", capsys=capsys)[1])["people"]


def test_people_on_postgres(pg_url: str, tmp_path, tiny_shapes_installed):
    """The same migration, store and search on a shared PostgreSQL library."""
    photos = write_people(tmp_path / "photos", variants=VARIANTS[:2])
    with Library.open(pg_url, model=tiny_shapes_installed) as lib:
        report = run_to_end(lib.index([tmp_path / "photos"], workers=1, faces=True))
        assert report.faces >= len(photos)
        truth = [p.person for p in photos]
        found = [subject(lib, p.path).person_id for p in photos]
        assert pairwise(truth, found) == (1.0, 1.0)
        person = found[0]
        lib.people.name(person, "Ann")
        lib.people.forget_face(photos[1].path, "ann")
        hits = lib.search("a photo", k=20, filters=Filters(persons=("Ann",))).hits
        assert {h.path for h in hits} == {
            os.fspath(p.path)
            for p in photos
            if any(f.person_name == "Ann" for f in lib.people.faces_in(p.path))
        }
        assert os.fspath(photos[1].path) not in {h.path for h in hits}
        lib.people.forget_all()
        assert lib.people.people() == [] and lib.people.faces_in(photos[0].path) == []


def test_a_named_person_attracts_new_photos_of_them(library, tmp_path):
    lib, photos = library
    lib.people.name(subject(lib, photos[0].path).person_id, "Ann")
    more = write_people(
        tmp_path / "photos" / "later",
        people={"left": PEOPLE["left"]},
        variants=((2.4, 560, False, 0.85), (2.0, 420, True, 1.15)),
    )
    report = run_to_end(lib.index(faces=True))
    assert report.decoded == 2 and report.faces >= 2
    assert [subject(lib, p.path).person_name for p in more] == ["Ann", "Ann"]


def test_the_threshold_is_read_from_the_library(tmp_path, tiny_shapes_installed):
    """Faces sharing a photo are different people: the threshold sits below nearly all of
    their distances, read from this library's own group photos."""
    import numpy as np

    from clipdesk.core.people.calibration import HIGHEST, LOWEST, MIN_PAIRS, same_photo_distances

    photos = tmp_path / "photos"
    photos.mkdir()
    # Group photos of different people (bald_guys.jpg is left out: it is a collage of a
    # few men shown several times each, which would pull the threshold to its floor).
    for name in ("2008_004176.jpg", "2007_007763.jpg", "2008_002470.jpg", "2008_007676.jpg"):
        shutil.copy(source(name), photos / name)
    with Library.open(tmp_path / "lib", model=tiny_shapes_installed) as lib:
        assert lib.people.threshold().pairs == 0  # nothing read yet: the default
        run_to_end(lib.index([photos], workers=1, faces=True))
        threshold = lib.people.threshold()
        rows = lib.people.store.face_rows()
        distances = same_photo_distances(
            [r.fingerprint for r in rows], np.stack([r.embedding for r in rows])
        )
    assert threshold.pairs == len(distances) >= MIN_PAIRS
    assert LOWEST < threshold.value <= HIGHEST
    assert np.mean(distances < threshold.value) <= 0.01
    print(f"threshold {threshold.value:.3f} from {threshold.pairs} same-photo pairs")


def test_different_photos_of_the_same_people_group_together(tmp_path, tiny_shapes_installed):
    """24 real photos of four people (years apart, any light and pose), each alone."""
    photos = write_bald_guys(tmp_path / "photos")
    with Library.open(tmp_path / "lib", model=tiny_shapes_installed) as lib:
        run_to_end(lib.index([tmp_path / "photos"], workers=1, faces=True))
        found = [subject(lib, p.path).person_id for p in photos]
        people = lib.people.people()
    precision, recall = pairwise([p.person for p in photos], found)
    print(f"four people, 24 photos: precision {precision:.3f}, recall {recall:.3f}")
    assert precision >= 0.9 and recall >= 0.9
    assert len(people) == 4 and sorted(p.photos for p in people) == [6, 6, 6, 6]


def test_a_child_and_her_mother_stay_two_people_in_a_new_library(tmp_path, tiny_shapes_installed):
    """A hard case: a girl and her mother (one PASCAL photo) look alike to dlib's embedder
    (0.54-0.61 apart), and a new library has no group photos to calibrate from yet."""
    family = {"child": ("2008_001009.jpg", (145, 79, 76, 76)),
              "mother": ("2008_001009.jpg", (125, 214, 90, 91))}  # fmt: skip
    photos = write_people(tmp_path / "photos", people=family)
    with Library.open(tmp_path / "lib", model=tiny_shapes_installed) as lib:
        run_to_end(lib.index([tmp_path / "photos"], workers=1, faces=True))
        assert lib.people.threshold().pairs == 0  # the default threshold decides
        found = [subject(lib, p.path).person_id for p in photos]
    precision, recall = pairwise([p.person for p in photos], found)
    assert (precision, recall) == (1.0, 1.0), found


def test_edits_from_another_process_are_seen_by_the_next_index(library, tmp_path):
    """The window indexes while `clipdesk people merge` runs elsewhere: the window's copy
    of the faces is read again, so new faces go to people that still exist."""
    lib, photos = library
    run_to_end(lib.index(faces=True))  # nothing new; clustering has not read the faces yet either
    write_people(
        tmp_path / "photos" / "first", people={"upper": PEOPLE["upper"]}, variants=VARIANTS[:1]
    )
    run_to_end(lib.index(faces=True))  # clustering now holds every face in memory
    upper = subject(lib, photos[12].path).person_id
    right = subject(lib, photos[8].path).person_id
    with Library.open(lib.directory, model="tiny-shapes") as other:
        other.people.merge(right, upper)  # "upper" is gone: its faces are "right"'s now
    later = write_people(
        tmp_path / "photos" / "later",
        people={"upper": PEOPLE["upper"]},
        variants=((2.4, 500, True, 0.9),),
    )
    run_to_end(lib.index(faces=True))
    assert subject(lib, later[0].path).person_id == right


def with_sign(photo: Path, out: Path, word: str = "BAKERY") -> None:
    """``photo`` with a white band above and below it, a word printed in the upper one:
    the same face, other content, and text for OCR to read."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.open(photo).convert("RGB")
    band = 140
    canvas = Image.new("RGB", (image.width, image.height + 2 * band), "white")
    canvas.paste(image, (0, band))
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", 72)
    ImageDraw.Draw(canvas).text((30, 30), word, font=font, fill="black")
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out, quality=92)


def test_a_moved_photo_keeps_faces_name_and_text_and_a_deleted_one_takes_them(
    library, tmp_path, capsys
):
    from clipdesk.core.check import check_library

    lib, photos = library
    ann = subject(lib, photos[0].path).person_id
    lib.people.name(ann, "Ann")
    sign = tmp_path / "photos" / "sign.jpg"
    with_sign(photos[0].path, sign)
    report = run_to_end(lib.index(faces=True, text=True))  # the others' text read too
    assert report.added == 1 and report.encoded == 1 and report.faces >= 1
    assert subject(lib, sign).person_name == "Ann"
    count = lib.people.person("Ann").photos

    def found(query: str) -> set[str]:
        return {h.path for h in lib.find(SearchQuery.from_text(query, k=50)).hits}

    def anns() -> set[str]:
        return {h.path for h in lib.find(SearchQuery(k=50, filters=Filters(persons=("Ann",)))).hits}

    assert found("text:bakery") == {os.fspath(sign)} and os.fspath(sign) in anns()
    # Moved into another folder: nothing is read again, and nothing is lost.
    moved = tmp_path / "photos" / "shop" / "sign.jpg"
    moved.parent.mkdir()
    os.rename(sign, moved)
    report = run_to_end(lib.index(faces=True, text=True))
    assert (report.moved, report.decoded, report.faces) == (1, 0, 0)
    assert subject(lib, moved).person_name == "Ann"
    assert found("text:bakery") == {os.fspath(moved)} and os.fspath(moved) in anns()
    assert lib.people.person("Ann").photos == count
    fingerprint = lib.catalog.file_by_path(os.fsencode(moved)).fingerprint
    # Deleted: its faces and text go with it, from the counts, the index and the box.
    moved.unlink()
    assert run_to_end(lib.index(faces=True, text=True)).removed == 1
    assert lib.people.person("Ann").photos == count - 1
    assert found("text:bakery") == set() and lib.catalog.text_words("bak") == []
    assert lib.people.store.faces_in_photo(fingerprint) == []
    assert lib.catalog.photo_text(fingerprint) is None
    assert os.fspath(moved) not in anns() and anns()
    assert check_library(lib).ok
    where = ["--library", os.fspath(lib.directory), "--model", "tiny-shapes"]
    listed = json.loads(cli(*where, "people", "--json", capsys=capsys)[1])["people"]
    assert [p["photos"] for p in listed if p["name"] == "Ann"] == [count - 1]


def test_a_people_edit_waits_while_another_process_writes(library, tmp_path):
    """`clipdesk people name` while another process (the window indexing) holds the
    library's write lock: it says so once, waits, and then names."""
    from writer_waits import start_waiting_edit

    from clipdesk.core.lane import WAITING_MESSAGE
    from clipdesk.core.write_lock import FileWriteGuard

    lib, photos = library
    person = subject(lib, photos[0].path).person_id
    lib.close()
    holder = FileWriteGuard(lib.directory)
    assert holder.try_acquire()
    argv = ["--library", os.fspath(lib.directory), "--model", "tiny-shapes"]
    try:
        edit = start_waiting_edit([*argv, "people", "name", str(person), "Bea"])
        with Library.open(lib.directory, model="tiny-shapes") as other:
            assert other.people.person(person).name is None
    finally:
        holder.release()
    errors = edit.finish()
    assert [line.strip() for line in errors] == [f"clipdesk: {WAITING_MESSAGE}"]  # once
    with Library.open(lib.directory, model="tiny-shapes") as after:
        assert after.people.person(person).name == "Bea"
