"""The tags commands as a user runs them: JSON on stdout, messages on stderr.

Commands run in this process (``clipdesk.cli.main``, the same entry point), which saves
a Python start and a torch import per command; one command per module runs as a real
process, so what a user's shell sees (stdout, exit status) is still checked end to end.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from clipdesk.cli import main
from clipdesk.training.shapes import write_sample_library


def clipdesk(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``clipdesk ARGS`` in this process with ``env`` set; it must succeed."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    result = subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())
    assert result.returncode == 0, result.stderr
    return result


def clipdesk_process(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``clipdesk ARGS`` as a new process, as a shell runs it."""
    result = subprocess.run(
        [sys.executable, "-m", "clipdesk", *args],
        capture_output=True, text=True, env={**os.environ, **env}, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result


def as_json(*args: str, env: dict[str, str]):
    return json.loads(clipdesk(*args, "--json", env=env).stdout)


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory, tiny_shapes_installed):
    base = tmp_path_factory.mktemp("tags-cli")
    photos = base / "photos"
    records = write_sample_library(photos, 16, seed=13)
    env = {
        "CLIPDESK_LIBRARY": str(base / "lib"),
        "CLIPDESK_MODEL": "tiny-shapes",
        **{f"CLIPDESK_{d.upper()}_DIR": str(base / d) for d in ("data", "cache", "config")},
    }
    clipdesk("index", str(photos), env=env)
    clipdesk("tags", "run", env=env)
    paths = [os.fspath(Path(r.path).resolve()) for r in records]
    return env, paths


def test_list_show_and_search_by_tag(cli_env):
    env = cli_env[0]
    tags = json.loads(clipdesk_process("tags", "list", "--json", env=env).stdout)
    assert tags and all(set(t) >= {"tag", "count", "sources"} for t in tags)
    assert [t["count"] for t in tags] == sorted((t["count"] for t in tags), reverse=True)
    top = tags[0]
    assert top["count"] == sum(top["sources"].values()) > 0
    found = as_json("search", "--tag", top["tag"], "-n", "100", env=env)
    assert set(found) >= {"query", "model", "results"} and found["model"] == "tiny-shapes"
    assert len(found["results"]) == top["count"]
    scores = [r["score"] for r in found["results"]]
    assert scores == sorted(scores, reverse=True)
    shown = as_json("tags", "show", found["results"][0]["path"], env=env)
    names = {t["tag"]: t for t in shown["tags"]}
    assert top["tag"] in names
    assert set(names[top["tag"]]) >= {"source", "score", "confidence"}
    both = as_json("search", "a red shape", "--tag", top["tag"], "-n", "3", env=env)
    assert {r["path"] for r in both["results"]} <= {r["path"] for r in found["results"]}


def test_teach_a_custom_tag(cli_env):
    env, paths = cli_env
    out = as_json("tags", "teach", "favourites", "--yes", *paths[:3], "--no", *paths[3:6], env=env)
    assert out["tag"] == "favourites" and out["learned"] is True and out["origin"] == "custom"
    assert out["sources"]["manual"] == 3
    shown = as_json("tags", "show", paths[3], env=env)
    assert {"tag": "favourites", "source": "manual", "rejected": True}.items() <= next(
        t for t in shown["tags"] if t["tag"] == "favourites"
    ).items()


def test_vocabulary_from_a_file(cli_env, tmp_path):
    env, _ = cli_env
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("# mine\ncircle\nstar | a star shape\n", encoding="utf-8")
    clipdesk("tags", "vocab", "--file", str(vocab), "--yes", env=env)  # it removes tags
    listed = clipdesk("tags", "vocab", env=env).stdout.splitlines()
    assert "circle" in listed and "star | a star shape" in listed
    assert "red" not in listed
    names = {t["tag"] for t in as_json("tags", "list", "--all", env=env)}
    assert {"circle", "star"} <= names and "square" not in names


def test_export_xmp(cli_env):
    env, paths = cli_env
    dry = as_json("tags", "export-xmp", "--dry-run", paths[0], env=env)
    assert dry["written"] == [paths[0] + ".xmp"] and not Path(paths[0] + ".xmp").exists()
    done = as_json("tags", "export-xmp", paths[0], env=env)
    assert done["written"] == [paths[0] + ".xmp"] and done["failed"] == []
    text = Path(paths[0] + ".xmp").read_text(encoding="utf-8")
    assert "<dc:subject>" in text


def test_index_tags_new_photos_unless_told_not_to(tmp_path, cli_env):
    base_env = cli_env[0]
    photos = tmp_path / "photos"
    write_sample_library(photos, 6, seed=17)
    env = {**base_env, "CLIPDESK_LIBRARY": str(tmp_path / "lib")}
    clipdesk("index", "--no-tags", str(photos), env=env)
    assert sum(t["count"] for t in as_json("tags", "list", env=env)) == 0
    again = clipdesk("index", env=env)
    assert "Tagged 6 photos with 13 tags" in again.stderr
    assert sum(t["count"] for t in as_json("tags", "list", env=env)) > 0
    quiet = clipdesk("index", env=env)  # nothing changed: nothing to tag again
    assert "Tagged" not in quiet.stderr


def test_a_tag_edit_waits_while_another_process_writes(cli_env):
    """`clipdesk tags vocab --add` while another process (the window indexing) holds the
    library's write lock: it says so once, waits, and then adds the tag."""
    from writer_waits import start_waiting_edit

    from clipdesk.core.lane import WAITING_MESSAGE
    from clipdesk.core.write_lock import FileWriteGuard

    env, _paths = cli_env
    holder = FileWriteGuard(Path(env["CLIPDESK_LIBRARY"]))
    assert holder.try_acquire()
    try:
        edit = start_waiting_edit(["tags", "vocab", "--add", "kite", "--no-run"], env)
        assert "kite" not in clipdesk("tags", "vocab", env=env).stdout.split()
    finally:
        holder.release()
    try:
        errors = edit.finish()
        assert sum(WAITING_MESSAGE in line for line in errors) == 1, errors
        assert "kite" in clipdesk("tags", "vocab", env=env).stdout.split()
    finally:
        clipdesk("tags", "vocab", "--remove", "kite", "--no-run", env=env)
