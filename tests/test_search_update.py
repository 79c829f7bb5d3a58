"""``clipdesk search --update`` and ``similar --update``: one process that brings the
library up to date with its folders and answers, as a user of a one-command photo search
expects."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from cli_harness import clipdesk_process, process_env, run_cli

from clipdesk.core.library import Library
from clipdesk.training.shapes import write_sample_library
from tests.test_photo_text import PHOTOS, draw_photo


def _found(result: subprocess.CompletedProcess) -> set[str]:
    return {hit["path"] for hit in json.loads(result.stdout)["results"]}


def test_search_update_indexes_what_changed_then_answers(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    write_sample_library(photos, 5, seed=3)
    env = {**process_env(tmp_path), "CLIPDESK_OCR": "0"}
    clipdesk_process("index", "--no-faces", str(photos), env=env)
    search = ("search", "a red circle", "-n", "50", "--json")
    before = _found(clipdesk_process(*search, env=env))
    assert len(before) == 5

    added = write_sample_library(photos / "new", 2, seed=4)
    new = {str(Path(record.path).resolve()) for record in added}
    assert _found(clipdesk_process(*search, env=env)) == before  # a plain search reads no folder

    similar = ("similar", sorted(new)[1], "-n", "50", "--json")
    assert _found(clipdesk_process(*similar, env=env)) == before

    updated = clipdesk_process(*similar, "--update", env=env)
    assert _found(updated) == before | new
    assert "Indexed 2 files" in updated.stderr and "2 embedded" in updated.stderr

    again = clipdesk_process(*search, "--update", env=env)
    assert _found(again) == before | new
    assert again.stderr.strip() == ""  # nothing changed: nothing said

    gone = sorted(new)[0]
    os.remove(gone)
    source = Path(sorted(before)[0])
    copy = photos / f"copy of a photo{source.suffix}"
    shutil.copy2(source, copy)
    changed = clipdesk_process(*search, "--update", env=env)
    found = _found(changed)
    assert gone not in found and str(copy.resolve()) in found
    assert "1 removed" in changed.stderr
    status = json.loads(clipdesk_process("status", "--json", env=env).stdout)
    assert status["indexed"] == len(found) == 7


def test_the_answer_comes_before_the_new_photos_are_tagged(tmp_path: Path, monkeypatch) -> None:
    """Only the new photos' vectors come before the answer; reading their text and faces
    (seconds a photo) and tagging again (every photo against every tag) come after it,
    unless the search is by tag, which needs the new photos tagged to be answered."""
    for name, value in {**process_env(tmp_path), "CLIPDESK_OCR": "0"}.items():
        monkeypatch.setenv(name, value)
    photos = tmp_path / "photos"
    write_sample_library(photos, 6, seed=3)
    assert run_cli(["index", "--no-faces", str(photos)]).code == 0
    indexed: list[tuple[dict, str]] = []  # each index run: how, and what was printed by then
    index = Library.index

    def recorded(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        indexed.append((kwargs, sys.stdout.getvalue()))
        return index(self, *args, **kwargs)

    monkeypatch.setattr(Library, "index", recorded)

    added = write_sample_library(photos / "new", 3, seed=4)
    done = run_cli(["search", "a red circle", "-n", "50", "--json", "--update"])
    assert done.code == 0, done
    (before, printed_before), (after, printed_after) = indexed
    assert printed_before == "" and (before["text"], before["faces"]) == (False, False)
    assert not before["retag"] and after["retag"]
    answer = json.loads(printed_after)  # the whole answer, before the rest
    assert answer == json.loads(done.out) and len(answer["results"]) == 9
    assert "Indexed 3 files" in done.err and "Tagged 9 photos" in done.err
    with Library.open(tmp_path / "lib", model="tiny-shapes") as library:
        assert not library.tags.stale()

    indexed.clear()
    added += write_sample_library(photos / "newer", 3, seed=5)
    by_tag = run_cli(["search", "--tag", "circle", "-n", "50", "--json", "--update"])
    assert by_tag.code == 0, by_tag
    (before, printed_before), (_, printed_after) = indexed
    assert before["retag"] and printed_before == ""  # tagged before the answer
    assert json.loads(printed_after) == json.loads(by_tag.out)  # text and faces after it
    assert "Tagged 12 photos" in by_tag.err
    with Library.open(tmp_path / "lib", model="tiny-shapes") as library:
        assert not library.tags.stale()
        tagged = {p.path for p in library.tags.photos("circle")}
    found = {hit["path"] for hit in json.loads(by_tag.out)["results"]}
    assert found == tagged
    new_paths = {str(r.path.resolve()) for r in added}
    assert found & new_paths, "no new photo was tagged a circle"


def test_text_is_read_after_the_answer_unless_the_search_is_by_text(
    tmp_path: Path, monkeypatch
) -> None:
    """Reading text costs seconds a photo: a search for a picture answers first, and the
    text is read after it; a search by the words in photos reads them first."""
    for name, value in process_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CLIPDESK_OCR", raising=False)
    photos = tmp_path / "photos"
    photos.mkdir()
    draw_photo(photos / "sky.jpg", None, seed=0, size=(640, 480))
    assert run_cli(["index", "--no-faces", "--no-tags", str(photos)]).code == 0

    draw_photo(photos / "bakery.jpg", PHOTOS["bakery.jpg"], seed=1, size=(640, 480))
    by_text = run_cli(["search", "text:bakery", "--json", "--update"], time_limit_s=120)
    assert by_text.code == 0, by_text
    assert [Path(h["path"]).name for h in json.loads(by_text.out)["results"]] == ["bakery.jpg"]

    draw_photo(photos / "menu.jpg", PHOTOS["menu.jpg"], seed=2, size=(640, 480))
    pictures = run_cli(["search", "a photo", "--json", "--update"], time_limit_s=120)
    assert pictures.code == 0, pictures
    assert len(json.loads(pictures.out)["results"]) == 3
    assert "Read the text and faces of 1 photos" in pictures.err, pictures.err
    menu = run_cli(["search", 'text:"sopa do dia"', "--json"])  # read, after the answer
    assert [Path(h["path"]).name for h in json.loads(menu.out)["results"]] == ["menu.jpg"]
