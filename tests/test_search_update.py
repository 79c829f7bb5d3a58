"""``clipdesk search --update`` and ``similar --update``: one process that brings the
library up to date with its folders and answers, as a user of a one-command photo search
expects."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from cli_harness import clipdesk_process, process_env

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
