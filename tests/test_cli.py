"""The command line as a user runs it: a new process per command, JSON on stdout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_harness import clipdesk_process as clipdesk
from cli_harness import process_env

from clipdesk.training.shapes import write_sample_library


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory):
    base = tmp_path_factory.mktemp("cli")
    photos = base / "photos"
    records = write_sample_library(photos, 16, seed=11)
    env = process_env(base)
    clipdesk("index", str(photos), env=env)
    return env, photos, records


def test_search_json_contract(cli_env):
    env, _, _records = cli_env
    out = json.loads(clipdesk("search", "a red circle", "-n", "5", "--json", env=env).stdout)
    assert set(out) >= {"query", "model", "results"}
    assert out["query"] == "a red circle" and out["model"] == "tiny-shapes"
    assert len(out["results"]) == 5
    scores = [r["score"] for r in out["results"]]
    assert scores == sorted(scores, reverse=True)
    assert all(Path(r["path"]).is_absolute() and Path(r["path"]).exists() for r in out["results"])


def test_similar_json_puts_the_photo_first(cli_env):
    env, _, records = cli_env
    target = str(Path(records[2].path).resolve())
    out = json.loads(clipdesk("similar", target, "-n", "3", "--json", env=env).stdout)
    assert out["results"][0]["path"] == target
    assert out["results"][0]["score"] == pytest.approx(1.0, abs=1e-3)


def test_search_filters_return_exactly_the_passing_photos(cli_env):
    """--type, --after, --before and --exclude narrow the search in the core: asking for
    more than pass returns every passing photo, and only those."""
    env, photos, records = cli_env
    pngs = {str(Path(r.path).resolve()) for r in records if r.path.suffix == ".png"}
    assert 0 < len(pngs) < len(records)
    n = str(len(pngs) + 3)
    args = ("search", "a red circle", "-n", n, "--json", "--type", "png", "--before", "2999")
    out = json.loads(clipdesk(*args, "--after", "2000-01", env=env).stdout)
    assert {r["path"] for r in out["results"]} == pngs and len(out["results"]) == len(pngs)
    assert set(out) == {"query", "model", "results"} and out["query"] == "a red circle"
    holiday = str((photos / "holiday").resolve())
    out = json.loads(
        clipdesk(
            "similar", sorted(pngs)[0], "-n", "100", "--json", "--type", "photo",
            "--exclude", holiday, "--after", "2999-12-31", env=env,
        ).stdout
    )  # fmt: skip
    assert out["results"] == []


def test_a_malformed_date_or_type_is_bad_usage_on_one_line(cli_env):
    env, _, _ = cli_env
    for flag, value in (("--after", "2024-13"), ("--before", "yesterday"), ("--type", "movie")):
        result = clipdesk("search", "x", flag, value, env=env, check=False)
        assert result.returncode == 2, (flag, result.stderr)
        assert result.stderr.strip().count("\n") == 0 and flag in result.stderr
        assert result.stdout == ""


def test_status_json_contract(cli_env):
    env, photos, _records = cli_env
    out = json.loads(clipdesk("status", "--json", env=env).stdout)
    assert {"indexed", "pending", "skipped", "offline", "model", "device", "roots"} <= set(out)
    assert (out["indexed"], out["pending"], out["skipped"], out["offline"]) == (16, 0, 0, 0)
    assert out["model"] == "tiny-shapes" and out["device"] == "cpu"
    assert [r["path"] for r in out["roots"]] == [str(photos.resolve())]


def test_check_is_clean_after_indexing(cli_env):
    env, _, _ = cli_env
    out = json.loads(clipdesk("check", "--json", env=env).stdout)
    assert out == {"ok": True, "problems": []}


def test_reindex_is_a_no_op(cli_env):
    env, _, _ = cli_env
    out = json.loads(clipdesk("index", "--json", env=env).stdout)
    assert out["decoded"] == 0 and out["encoded"] == 0


def test_errors_exit_1_with_one_line(cli_env):
    env, _, _ = cli_env
    result = clipdesk("similar", "/no/such/photo.jpg", env=env, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "/no/such/photo.jpg" in result.stderr and "not found" in result.stderr


def test_bad_usage_exits_2(cli_env):
    env, _, _ = cli_env
    assert clipdesk("search", "x", "-n", "many", env=env, check=False).returncode == 2
    assert clipdesk("no-such-command", env=env, check=False).returncode == 2


def test_unknown_model_is_a_clear_error(cli_env):
    env, _, _ = cli_env
    result = clipdesk("--model", "no-such-model", "search", "cat", env=env, check=False)
    assert result.returncode == 1
    assert "no-such-model" in result.stderr


def test_help_is_fast_and_does_not_import_torch():
    code = (
        "import sys, contextlib, io\n"
        "from clipdesk.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print('torch' in sys.modules, 'PySide6' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False False", result.stderr


def test_version_is_one_line_on_stdout():
    """`clipdesk --version` as scripts read it: stdout, exit 0, nothing on stderr."""
    from importlib import metadata

    result = subprocess.run(
        [sys.executable, "-m", "clipdesk", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout == f"clipdesk {metadata.version('clipdesk')}\n"


def test_index_counts_a_video_once_and_its_scenes_apart(cli_env, tmp_path):
    import video_samples as vs
    from PIL import Image

    env = {**cli_env[0], "CLIPDESK_LIBRARY": str(tmp_path / "lib")}
    media = tmp_path / "media"
    media.mkdir()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(media / "photo.png")
    vs.write_video(media / "a.mp4", [("circle", "red"), ("square", "blue"), ("star", "green")],
                   "libx264", seconds=1.0)  # fmt: skip
    out = json.loads(clipdesk("index", str(media), "--json", "--no-tags", env=env).stdout)
    assert (out["decoded"], out["encoded"], out["scenes_encoded"]) == (2, 2, 3)
    vs.write_video(media / "b.mp4", [("heart", "yellow"), ("triangle", "black")], "libx264",
                   seconds=1.0)  # fmt: skip
    text = clipdesk("index", "--no-tags", env=env).stderr
    assert "Indexed 1 files in " in text and "(1 embedded, 2 video scenes, 0 reused," in text
