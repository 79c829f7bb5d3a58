"""Each bad input found by trying the command line as a hostile user would (issue
"[hardening]"), one test per finding: no data lost, one line instead of a traceback,
exit 2 for bad usage at once instead of a hang."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from cli_harness import NON_UTF8, Run, library_env, make_photos, run_cli, tree_digest


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """One indexed and tagged library, copied for each test (indexing it once)."""
    base = tmp_path_factory.mktemp("bad-input")
    photos = make_photos(base / "photos")
    with pytest.MonkeyPatch.context() as m:
        for name in ("DATA", "CACHE", "CONFIG", "MODELS"):
            m.setenv(f"CLIPDESK_{name}_DIR", str(base / name.lower()))
        with library_env(m, base / "lib"):
            done = run_cli(["index", "--no-tags", str(photos)], time_limit_s=180)
            assert done.code == 0, done
    return base, photos


@pytest.fixture
def lib(template, tmp_path, monkeypatch):
    base, photos = template
    library = tmp_path / "lib"
    shutil.copytree(base / "lib", library)
    with library_env(monkeypatch, library):
        yield library, photos


def one_line_error(run: Run, code: int = 1) -> str:
    assert run.code == code, run
    assert "Traceback" not in run.err, run
    assert len(run.err_lines) == 1, run
    return run.err_lines[0]


# -- data loss --------------------------------------------------------------------------


def test_1_demo_never_writes_over_a_users_files(tmp_path):
    photos = tmp_path / "home" / "photos"
    photos.mkdir(parents=True)
    mine = photos / "IMG_0001.jpg"
    mine.write_bytes(b"the user's own photo")
    before = tree_digest(tmp_path / "home")
    line = one_line_error(run_cli(["demo", str(tmp_path / "home"), "--count", "3"]))
    assert "photos" in line and "never writes over" in line
    assert tree_digest(tmp_path / "home") == before


def test_4_removing_tags_with_a_vocabulary_file_needs_yes_and_keeps_decisions(lib, tmp_path):
    _, photos = lib
    photo = str(sorted(photos.rglob("IMG_*"))[0].resolve())
    saved = tmp_path / "vocab.txt"
    listing = run_cli(["tags", "vocab"])
    saved.write_text(listing.out)
    names = [line.split("|")[0].strip() for line in listing.out.splitlines()]
    tag = names[0]
    assert run_cli(["tags", "teach", tag, "--no", photo]).code == 0
    empty = tmp_path / "empty.txt"
    empty.write_text("")

    line = one_line_error(run_cli(["tags", "vocab", "--file", str(empty)]))
    assert "--yes" in line and f"remove {len(names)} of the {len(names)} tags" in line
    assert len(run_cli(["tags", "list", "--all", "--json"]).out) > 10  # nothing removed

    assert run_cli(["tags", "vocab", "--file", str(empty), "--yes", "--no-run"]).code == 0
    assert json.loads(run_cli(["tags", "list", "--all", "--json"]).out) == []
    assert run_cli(["tags", "vocab", "--file", str(saved), "--no-run"]).code == 0
    shown = json.loads(run_cli(["tags", "show", photo, "--json"]).out)
    restored = [t for t in shown["tags"] if t["tag"] == tag]
    assert restored and restored[0].get("rejected") and restored[0]["source"] == "manual"


@pytest.mark.parametrize(
    "edit",
    [["--add", "x" * 100], ["--remove", "nosuchtag"], ["--rename", "nosuchtag", "other"]],
)
def test_a_bad_vocab_edit_is_refused_before_the_file_is_applied(lib, tmp_path, edit):
    smaller = tmp_path / "smaller.txt"
    smaller.write_text("sunset\n")
    before = run_cli(["tags", "list", "--all", "--json"]).out
    argv = ["tags", "vocab", "--file", str(smaller), "--yes", "--no-run", *edit]
    one_line_error(run_cli(argv))
    assert run_cli(["tags", "list", "--all", "--json"]).out == before


# -- one line instead of a traceback ----------------------------------------------------


def test_8_teaching_a_tag_whose_name_is_not_utf8_is_bad_usage(lib):
    _, photos = lib
    photo = str(sorted(photos.rglob("IMG_*"))[0])
    line = one_line_error(run_cli(["tags", "teach", NON_UTF8, "--yes", photo]), code=2)
    assert "UTF-8" in line


@pytest.mark.parametrize("content", [b"caf\xe9\nsunset\n", bytes(range(256)) * 4])
def test_9_a_vocabulary_file_that_is_not_utf8_text_is_refused(lib, tmp_path, content):
    vocab = tmp_path / "vocab.txt"
    vocab.write_bytes(content)
    line = one_line_error(run_cli(["tags", "vocab", "--file", str(vocab), "--yes"]))
    assert "UTF-8" in line or "not a text file" in line


@pytest.mark.parametrize("count", ["0", "-5"])
def test_10_demo_with_no_pictures_is_bad_usage(tmp_path, count):
    line = one_line_error(run_cli(["demo", str(tmp_path / "d"), "--count", count]), code=2)
    assert "--count" in line and "1 or more" in line
    assert not (tmp_path / "d").exists()


def test_10_demo_into_a_file_or_over_a_damaged_captions_file(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("mine")
    assert "not a folder" in one_line_error(run_cli(["demo", str(afile), "--count", "2"]))
    assert afile.read_text() == "mine"
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "captions.json").write_text("{not json")
    line = one_line_error(run_cli(["demo", str(folder), "--count", "2"]))
    assert "captions.json" in line and "not a clipdesk demo" in line
    assert sorted(p.name for p in folder.iterdir()) == ["captions.json"]


# -- no hang: bad usage at once ---------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [["--poll", "--interval", "0"], ["--poll", "--interval", "-5"], ["--workers", "-3"]],
)
def test_14_watch_with_a_zero_interval_or_negative_workers_is_bad_usage(lib, args):
    _, photos = lib
    run = run_cli(["watch", str(photos), *args], time_limit_s=10)
    assert not run.timed_out
    one_line_error(run, code=2)


# -- output and exit status -------------------------------------------------------------


def test_15_json_is_valid_utf8_and_gives_back_a_names_bytes(lib, capfdbinary):
    _, photos = lib
    odd = os.fsencode(str((photos / f"{NON_UTF8}.jpg").resolve()))
    for argv in (
        ["search", "a red circle", "-n", "50", "--json"],
        ["similar", os.fsdecode(odd), "--json"],
        ["status", "--json"],
        ["roots", "--json"],
        ["tags", "show", os.fsdecode(odd), "--json"],
        ["dupes", "--json"],
    ):
        run = run_cli(argv)
        assert run.code == 0, run
        text = run.out.encode("utf-8")  # fails on a lone surrogate: not valid UTF-8
        data = json.loads(text)
        found = json.dumps(data)
        if argv[0] in ("search", "similar", "tags", "dupes"):
            assert "\\udce9" in found or argv[0] == "dupes", argv
    results = json.loads(run_cli(["search", "a red circle", "-n", "50", "--json"]).out)
    assert odd in {os.fsencode(r["path"]) for r in results["results"]}


def test_15_watch_json_lines_are_valid_utf8():
    from clipdesk.cli.output import json_text

    line = json_text({"path": NON_UTF8 + "\n"}, indent=None)
    assert "\n" not in line
    assert os.fsencode(json.loads(line.encode("utf-8"))["path"]) == b"caf\xe9 \xff\n"


def test_16_an_empty_path_is_bad_usage_not_the_current_folder(lib):
    del lib
    before = run_cli(["roots", "--json"]).out
    one_line_error(run_cli(["index", ""]), code=2)
    one_line_error(run_cli(["roots", "--remove", ""]), code=2)
    assert run_cli(["roots", "--json"]).out == before


def test_17_index_checks_every_folder_before_adding_any(lib, tmp_path):
    good = tmp_path / "good"
    shutil.copytree(lib[1] / "2024", good) if (lib[1] / "2024").exists() else good.mkdir()
    before = run_cli(["roots", "--json"]).out
    line = one_line_error(run_cli(["index", str(good), str(tmp_path / "missing")]))
    assert "missing" in line
    assert run_cli(["roots", "--json"]).out == before


@pytest.mark.parametrize(
    "argv",
    [
        ["search", "red", "-n", "0"],
        ["search", "red", "-n", "-1"],
        ["similar", "x.jpg", "-n", "0"],
        ["dupes", "--threshold", "-1"],
        ["dupes", "--threshold", "nan"],
    ],
)
def test_18_counts_and_thresholds_out_of_range_are_bad_usage(lib, argv):
    one_line_error(run_cli(argv), code=2)


def test_19_search_in_a_folder_the_library_does_not_hold_says_so(lib, tmp_path):
    _, photos = lib
    line = one_line_error(run_cli(["search", "red", "--folder", str(tmp_path / "nope")]))
    assert "no such folder" in line
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    line = one_line_error(run_cli(["search", "red", "--folder", str(elsewhere)]))
    assert "not in this library" in line
    inside = next(p for p in photos.iterdir() if p.is_dir())
    assert run_cli(["search", "red", "--folder", str(inside)]).code == 0


def test_20_an_unknown_model_fails_before_status_reports_it(lib):
    line = one_line_error(run_cli(["--model", "nosuchmodel", "status"]))
    assert "nosuchmodel" in line


def test_21_embed_out_an_existing_folder_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "vectors").mkdir()
    line = one_line_error(
        run_cli(["--model", "tiny-shapes", "embed", "--text", "a red circle", "--out", "vectors"])
    )
    assert "folder" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vectors"]


def test_embed_out_never_overwrites_a_file_that_is_not_an_array(tmp_path):
    photo = tmp_path / "IMG_1.npy"
    photo.write_bytes(b"\xff\xd8 not an array")
    line = one_line_error(
        run_cli(["--model", "tiny-shapes", "embed", "--text", "red", "--out", str(photo)])
    )
    assert "not overwriting" in line and photo.read_bytes() == b"\xff\xd8 not an array"
    earlier = tmp_path / "earlier.npy"
    np.save(earlier, np.zeros(3))
    ok = run_cli(["--model", "tiny-shapes", "embed", "--text", "red", "--out", str(earlier)])
    assert ok.code == 0, ok
    assert np.load(earlier).shape[0] == 1


# -- unclear messages -------------------------------------------------------------------


def test_a_very_long_tag_name_is_not_echoed_whole(lib):
    run = run_cli(["search", "--tag", "x" * 5000])
    line = one_line_error(run)
    assert len(line) < 300 and "5,000 characters" in line


def test_a_very_long_query_says_it_was_embedded_in_parts(lib):
    run = run_cli(["search", "a red circle " * 300, "-n", "3"])
    assert run.code == 0, run
    assert any("embedded in parts" in line for line in run.err_lines), run


def test_a_newline_in_a_file_name_does_not_break_one_line_per_result(lib):
    run = run_cli(["search", "a red circle", "-n", "50"])
    assert run.code == 0, run
    lines = run.out.splitlines()
    assert all(line.split("  ", 1)[0].replace(".", "").isdigit() for line in lines), lines
    assert any(line.endswith("line\\nbreak.jpg") for line in lines)


def test_index_of_a_folder_inside_a_root_or_with_no_roots_says_why(lib, tmp_path):
    _, photos = lib
    inside = next(p for p in photos.iterdir() if p.is_dir())
    run = run_cli(["index", str(inside)])
    assert run.code == 0, run
    assert any("inside" in line and "already indexes" in line for line in run.err_lines), run
    with library_env(pytest.MonkeyPatch(), tmp_path / "new-lib"):
        line = one_line_error(run_cli(["index"]))
    assert "nothing to index" in line


def test_embed_of_empty_text_is_refused_like_search(tmp_path):
    out = tmp_path / "v.npy"
    line = one_line_error(
        run_cli(["--model", "tiny-shapes", "embed", "--text", "", "--out", str(out)])
    )
    assert "empty" in line and not out.exists()
    one_line_error(run_cli(["--model", "tiny-shapes", "search", ""]))


def test_an_error_naming_a_path_with_a_newline_stays_one_line(lib, tmp_path):
    line = one_line_error(run_cli(["similar", str(tmp_path / "no\nsuch.jpg")]))
    assert "no\\nsuch.jpg" in line


def test_bad_usage_is_one_line_too(lib):
    line = one_line_error(run_cli(["search", "red", "-n", "many"]), code=2)
    assert "-n" in line and "--help" in line


def test_decisions_of_a_removed_tag_come_back_with_it(lib):
    _, photos = lib
    photo = str(sorted(photos.rglob("IMG_*"))[0].resolve())
    assert run_cli(["tags", "teach", "my thing", "--yes", photo]).code == 0
    assert run_cli(["tags", "vocab", "--remove", "my thing"]).code == 0
    assert run_cli(["tags", "vocab", "--add", "my thing", "--no-run"]).code == 0
    shown = json.loads(run_cli(["tags", "show", photo, "--json"]).out)
    mine = [t for t in shown["tags"] if t["tag"] == "my thing"]
    assert mine and mine[0]["source"] == "manual" and not mine[0].get("rejected")


def test_paths_given_keep_their_case_in_messages(lib, tmp_path):
    # --image of a folder: one line naming it, never a traceback from the decoder
    line = one_line_error(run_cli(["search", "red", "--image", str(tmp_path)]))
    assert str(tmp_path) in line or Path(tmp_path).name in line


def test_a_hidden_model_name_is_refused_with_the_rule_it_breaks():
    from clipdesk.core.models.registry import validate_name

    with pytest.raises(ValueError, match="must start with a letter or digit"):
        validate_name(".hidden")
