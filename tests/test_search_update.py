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
    """Tagging again scores every photo against every tag (seconds on a big library):
    ``--update`` prints the answer first and tags after it, unless the search is by tag,
    which needs the new photos tagged to be answered."""
    for name, value in {**process_env(tmp_path), "CLIPDESK_OCR": "0"}.items():
        monkeypatch.setenv(name, value)
    photos = tmp_path / "photos"
    write_sample_library(photos, 6, seed=3)
    assert run_cli(["index", "--no-faces", str(photos)]).code == 0
    printed_when_tagging: list[str] = []
    tag_again = Library.retag

    def retag(self, **kwargs):  # type: ignore[no-untyped-def]
        printed_when_tagging.append(sys.stdout.getvalue())
        return tag_again(self, **kwargs)

    monkeypatch.setattr(Library, "retag", retag)

    added = write_sample_library(photos / "new", 3, seed=4)
    done = run_cli(["search", "a red circle", "-n", "50", "--json", "--update"])
    assert done.code == 0, done
    assert len(printed_when_tagging) == 1, "not tagged once, after the index"
    answer = json.loads(printed_when_tagging[0])  # the whole answer, before the tagging
    assert answer == json.loads(done.out) and len(answer["results"]) == 9
    assert "Tagged 9 photos" in done.err
    with Library.open(tmp_path / "lib", model="tiny-shapes") as library:
        assert not library.tags.stale()

    added += write_sample_library(photos / "newer", 3, seed=5)
    by_tag = run_cli(["search", "--tag", "circle", "-n", "50", "--json", "--update"])
    assert by_tag.code == 0, by_tag
    assert len(printed_when_tagging) == 1  # tagged inside the index, before the answer
    assert "Tagged 12 photos" in by_tag.err
    with Library.open(tmp_path / "lib", model="tiny-shapes") as library:
        assert not library.tags.stale()
        tagged = {p.path for p in library.tags.photos("circle")}
    found = {hit["path"] for hit in json.loads(by_tag.out)["results"]}
    assert found == tagged
    new_paths = {str(r.path.resolve()) for r in added}
    assert found & new_paths, "no new photo was tagged a circle"
