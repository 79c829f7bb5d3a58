"""One contract for every command, on bad input: what a hostile user cannot break.

Every command and sub-command is read from the real argparse parser (a new command is
covered the day it is added, and this test fails if it cannot find them), then run with
hostile arguments and in hostile environments. For each run:

- no traceback on stderr;
- exit status 0, 1 or 2 (README: 0 success, 1 error, 2 bad usage);
- exactly one line on stderr for an error;
- valid JSON (UTF-8) on stdout with ``--json``;
- the user's own files unchanged (hashed before and after).

Runs are in this process (``clipdesk.cli.main``), a few as real processes. Hypothesis adds
arbitrary text and bytes where hand-picked values run out; ``-m slow`` runs it longer.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_harness import NON_UTF8, Run, library_env, make_photos, run_cli, tree_digest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clipdesk.cli import build_parser

# Commands that run until stopped: a run of theirs that lasts is not a hang.
LONG_RUNNING = {("watch",)}
# Commands that show a window: run as real processes below, not in this one.
OUT_OF_PROCESS = {("gui",)}
# Commands that write new files where they are told (never over the user's files).
WRITE_WHERE_TOLD = {
    ("embed",),
    ("demo",),
    ("models", "export"),
    ("tags", "export-xmp"),
    ("library", "copy"),
}
# Gaps the contract found that are not fixed yet: expected to fail, strictly.
KNOWN_GAPS: dict[tuple[str, ...], str] = {}
TIME_LIMIT_S = 20.0
WATCH_TIME_LIMIT_S = 1.5


# -- the commands, from the parser itself ----------------------------------------------


def leaf_commands(
    parser: argparse.ArgumentParser,
) -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """Every runnable command path (``("tags", "show")``) with its parser."""
    found: dict[tuple[str, ...], argparse.ArgumentParser] = {}

    def walk(prefix: tuple[str, ...], p: argparse.ArgumentParser) -> None:
        subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            found[prefix] = p
            return
        for action in subs:
            for name, child in action.choices.items():
                walk((*prefix, name), child)

    walk((), parser)
    return found


COMMANDS = leaf_commands(build_parser())


def test_every_command_is_found():
    names = {" ".join(c) for c in COMMANDS}
    assert len(COMMANDS) >= 20, names
    for expected in (
        "index",
        "search",
        "similar",
        "status",
        "check",
        "roots",
        "watch",
        "dupes",
        "embed",
        "demo",
        "gui",
        "tags show",
        "tags vocab",
        "tags export-xmp",
        "models import",
        "people name",
        "people merge",
        "people forget-face",
        "people show",
        "people forget-all",
    ):
        assert expected in names


def value_actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The arguments that take a value (flags and help are left out)."""
    skip = (
        argparse._HelpAction,
        argparse._VersionAction,
        argparse._StoreTrueAction,
        argparse._StoreConstAction,
        argparse._SubParsersAction,
    )
    return [a for a in parser._actions if not isinstance(a, skip) and a.dest != "help"]


def has_json(parser: argparse.ArgumentParser) -> bool:
    return any("--json" in a.option_strings for a in parser._actions)


# -- the user's world: photos, a library, some documents --------------------------------


@dataclass
class World:
    base: Path
    photos: Path  # the user's photos: must never change
    docs: Path  # the user's other files, used as hostile paths: must never change
    template: Path  # an indexed library, copied for each run
    photo: str
    other_photo: str
    inside: str  # a folder inside the library's root

    def user_files(self) -> dict[str, str]:
        return {
            **_prefixed("photos", tree_digest(self.photos)),
            **_prefixed("docs", tree_digest(self.docs)),
        }


def _prefixed(prefix: str, digest: dict[str, str]) -> dict[str, str]:
    return {f"{prefix}/{k}": v for k, v in digest.items()}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("contract")
    photos = make_photos(base / "photos", count=5)
    docs = base / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("the user's notes\n")
    shutil.copy(sorted(photos.rglob("IMG_*.jpg"))[0], docs / "holiday.jpg")
    (docs / "vocab.txt").write_text("circle\nsquare | a square; a box\nred\n")
    (docs / "garbage.pt").write_bytes(os.urandom(2048))
    os.mkfifo(docs / "pipe")
    with pytest.MonkeyPatch.context() as m:
        for name in ("DATA", "CACHE", "CONFIG", "MODELS"):
            m.setenv(f"CLIPDESK_{name}_DIR", str(base / name.lower()))
        with library_env(m, base / "lib"):
            done = run_cli(["index", str(photos)], time_limit_s=300)
            assert done.code == 0, done
    images = sorted(str(p.resolve()) for p in photos.rglob("IMG_*"))
    inside = next(p for p in photos.iterdir() if p.is_dir())
    yield World(base, photos, docs, base / "lib", images[0], images[1], str(inside))


@pytest.fixture
def fresh(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], Path]:
    """A function giving a new copy of the indexed library, set as the current one."""
    count = [0]

    def make() -> Path:
        count[0] += 1
        library = tmp_path / f"lib{count[0]}"
        shutil.copytree(world.template, library)
        monkeypatch.setenv("CLIPDESK_LIBRARY", str(library))
        return library

    monkeypatch.setenv("CLIPDESK_MODEL", "tiny-shapes")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.chdir(tmp_path)
    return make


# -- good and hostile values, by what an argument is ------------------------------------

NUMBERS = ["", "0", "-1", "-5", "abc", "1e309", "nan", "9" * 40, "0x10"]
TEXTS = ["", " ", NON_UTF8, "\x1b[31mred\nline", "x" * 5000, "-", "a|b;c"]

PATH_DESTS = {
    "image",
    "images",
    "paths",
    "file",
    "out",
    "folder",
    "remove",
    "dir",
    "similar",
    "yes",
    "no",
    "library",
    "screenshot",
}


def hostile_paths(world: World, tmp: Path) -> list[str]:
    return [
        "",
        str(tmp / "missing" / "thing"),
        str(world.docs / "holiday.jpg"),  # a file where a folder is wanted
        str(world.docs),  # a folder where a file is wanted
        str(world.docs / "pipe"),  # a fifo: reading it would wait forever
        str(world.docs / "notes.txt" / "below"),  # below a file
        str(tmp / NON_UTF8),
        str(tmp / "new\nline\x1b"),
        "a/" * 2100,  # longer than PATH_MAX
    ]


def kind_of(action: argparse.Action) -> str:
    if action.choices is not None:
        return "choice"
    if action.dest in PATH_DESTS:
        return "path"
    if action.type in (int, float) or action.dest in {
        "n",
        "count",
        "workers",
        "batch_size",
        "interval",
        "settle",
        "threshold",
    }:
        return "number"
    return "text"


def good_base(command: tuple[str, ...], world: World, tmp: Path) -> list[str]:
    """Arguments with which the command does its work, so each hostile value is the only
    thing wrong with a run."""
    photo, other = world.photo, world.other_photo
    return {
        ("index",): [str(world.photos)],
        ("search",): ["a red circle"],
        ("similar",): [photo],
        ("status",): [],
        ("check",): [],
        ("roots",): [],
        ("watch",): ["--poll", "--interval", "0.2", str(world.photos)],
        ("tags", "list"): [],
        ("tags", "show"): [photo],
        ("tags", "teach"): ["circle", "--yes", photo, other],
        ("tags", "forget"): ["circle", photo],
        ("tags", "vocab"): ["--file", str(world.docs / "vocab.txt"), "--yes", "--no-run"],
        ("tags", "run"): ["circle"],
        ("tags", "export-xmp"): ["--dry-run"],
        ("dupes",): [],
        ("people", "name"): ["1", "Ann"],
        ("people", "merge"): ["1", "2"],
        ("people", "forget-face"): [photo, "--person", "1"],
        ("people", "hide"): ["1"],
        ("people", "show"): ["1"],
        ("people", "forget-all"): [],
        ("models", "list"): [],
        ("models", "download"): ["tiny-shapes"],
        ("models", "import"): [str(world.docs / "garbage.pt"), "--arch", "ViT-B-32"],
        ("embed",): ["--text", "a red circle", "--out", str(tmp / "v.npy")],
        ("demo",): [str(tmp / "demo"), "--count", "2", "-n", "1"],
        ("gui",): ["--screenshot", str(tmp / "shot.png")],
        ("models", "export"): ["no-such-model", "--out", str(tmp / "x.pack")],
        ("library", "copy"): [str(world.template), str(tmp / "copy")],
        ("library", "roots"): [],
        ("library", "mount"): ["1", str(world.photos)],
        ("library", "unmount"): ["1"],
    }[command]


def option_for(action: argparse.Action) -> list[str]:
    return [action.option_strings[-1]] if action.option_strings else []


def arity(action: argparse.Action) -> int:
    return action.nargs if isinstance(action.nargs, int) else 1


def hostile_cases(command: tuple[str, ...], world: World, tmp: Path) -> list[list[str]]:
    """The command's good arguments with one argument made hostile at a time."""
    parser = COMMANDS[command]
    base = good_base(command, world, tmp)
    cases: list[list[str]] = [base, []]  # as meant, and with nothing at all
    for action in value_actions(parser):
        kind = kind_of(action)
        values = {
            "number": NUMBERS,
            "text": TEXTS,
            "choice": ["nosuch", ""],
            "path": hostile_paths(world, tmp),
        }[kind]
        for value in values:
            given_ = [value] * arity(action)
            if action.option_strings:
                cases.append([*base, *option_for(action), *given_])
            else:  # a positional: replace the base's good value(s) by the hostile one
                cases.append([*_without_positionals(base, parser), *given_])
    if has_json(parser):
        cases += [[*c, "--json"] for c in cases[:4]]
    return cases


def _without_positionals(base: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """``base`` with its positional values left out (its options kept)."""
    takes_value = {
        s: arity(a)
        for a in parser._actions
        for s in a.option_strings
        if not isinstance(a, argparse._StoreTrueAction | argparse._HelpAction)
    }
    out, i = [], 0
    while i < len(base):
        word = base[i]
        if word in takes_value:
            n = takes_value[word]
            action = next(a for a in parser._actions if word in a.option_strings)
            if action.nargs in ("+", "*"):  # greedy: keep what follows up to the next option
                j = i + 1
                while j < len(base) and not base[j].startswith("-"):
                    j += 1
                out += base[i:j]
                i = j
                continue
            out += base[i : i + 1 + n]
            i += 1 + n
        elif word.startswith("--"):
            out.append(word)
            i += 1
        else:
            i += 1
    return out


# -- the contract -----------------------------------------------------------------------


def check_contract(run: Run, command: tuple[str, ...]) -> list[str]:
    """What ``run`` broke of the contract (empty when it kept it)."""
    broken = []
    if "Traceback" in run.err or run.code is None:
        broken.append("traceback")
    if run.timed_out and command not in LONG_RUNNING:
        broken.append("did not finish (a hang)")
    allowed = {0, 1, 2} | ({130} if run.timed_out and command in LONG_RUNNING else set())
    if run.code not in allowed:
        broken.append(f"exit status {run.code}")
    if run.code in (1, 2) and len(run.err_lines) != 1:
        broken.append(f"{len(run.err_lines)} lines on stderr for an error")
    if "--json" in run.argv and run.code == 0:
        try:
            data = run.out.encode("utf-8")
            if command in LONG_RUNNING:
                for line in data.splitlines():
                    json.loads(line)
            else:
                json.loads(data)
        except (UnicodeEncodeError, ValueError) as exc:
            broken.append(f"stdout is not valid JSON: {exc}")
    return broken


def run_case(world: World, command: tuple[str, ...], args: list[str]) -> list[str]:
    before = world.user_files()
    limit = WATCH_TIME_LIMIT_S if command in LONG_RUNNING else TIME_LIMIT_S
    run = run_cli([*command, *args], time_limit_s=limit)
    broken = check_contract(run, command)
    after = world.user_files()
    changed = [k for k, v in before.items() if after.get(k) != v]
    added = [] if command in WRITE_WHERE_TOLD else [k for k in after if k not in before]
    if changed or added:
        broken.append(f"changed the user's files: {changed + added}")
    tail = " | ".join(run.err_lines[-2:])[-300:]
    return [f"{b}: clipdesk {_short(run.argv)} -> {run.code}: {tail}" for b in broken]


def _short(argv: list[str]) -> str:
    return " ".join(repr(a) if len(a) < 60 else repr(a[:40]) + "…" for a in argv)


IN_PROCESS = sorted(c for c in COMMANDS if c not in OUT_OF_PROCESS)


def _command_params() -> list[object]:
    return [
        pytest.param(
            c,
            id=" ".join(c),
            marks=[pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[c])] if c in KNOWN_GAPS else [],
        )
        for c in IN_PROCESS
    ]


@pytest.mark.parametrize("command", _command_params())
def test_hostile_arguments(world, fresh, tmp_path, command, record_property):
    cases = hostile_cases(command, world, tmp_path)
    failures = []
    for args in cases:
        fresh()
        failures += run_case(world, command, args)
    record_property("cases", len(cases))
    assert not failures, f"{len(failures)} of {len(cases)} runs broke the contract:\n" + (
        "\n".join(failures)
    )


# -- hostile environments ---------------------------------------------------------------


def _library_is_a_file(library: Path, env: pytest.MonkeyPatch) -> None:
    shutil.rmtree(library)
    library.write_text("not a library")


def _corrupt_catalog(library: Path, env: pytest.MonkeyPatch) -> None:
    catalog = library / "catalog.db"
    data = bytearray(catalog.read_bytes())
    rng = random.Random(7)
    for i in range(len(data) // 3, len(data) // 3 + 4096):
        data[i] = rng.randrange(256)
    catalog.write_bytes(bytes(data))


def _foreign_catalog(library: Path, env: pytest.MonkeyPatch) -> None:
    shutil.rmtree(library)
    library.mkdir()
    with sqlite3.connect(library / "catalog.db") as conn:
        conn.execute("CREATE TABLE recipes (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO recipes (name) VALUES ('soup')")


def _empty_catalog(library: Path, env: pytest.MonkeyPatch) -> None:
    (library / "catalog.db").write_bytes(b"")


def _data_dir_is_a_file(library: Path, env: pytest.MonkeyPatch) -> None:
    target = library.parent / "data-file"
    target.write_text("x")
    env.setenv("CLIPDESK_DATA_DIR", str(target))
    env.delenv("CLIPDESK_LIBRARY")


def _cache_dir_is_a_file(library: Path, env: pytest.MonkeyPatch) -> None:
    target = library.parent / "cache-file"
    target.write_text("x")
    env.setenv("CLIPDESK_CACHE_DIR", str(target))


ENVIRONMENTS = {
    "library is a file": (_library_is_a_file, "finding 6: a library path that is a file"),
    "corrupt catalog": (_corrupt_catalog, "finding 5: a corrupt catalog.db"),
    "foreign catalog": (_foreign_catalog, "finding 3: another program's SQLite file"),
    "empty catalog": (_empty_catalog, "finding 2: a zero-byte catalog.db"),
    "data dir is a file": (_data_dir_is_a_file, "finding 6: XDG/data dir that is a file"),
    "cache dir is a file": (_cache_dir_is_a_file, "finding 6: a cache folder that is a file"),
}


def env_params() -> list[object]:
    return [pytest.param(name, id=name) for name in ENVIRONMENTS]


@pytest.mark.parametrize("environment", env_params())
def test_hostile_environment(world, fresh, tmp_path, monkeypatch, environment):
    damage = ENVIRONMENTS[environment][0]
    failures = []
    commands = [c for c in IN_PROCESS if c not in LONG_RUNNING]
    for command in commands:
        library = fresh()
        with monkeypatch.context() as m:
            damage(library, m)
            args = [a for a in good_base(command, world, tmp_path) if a != "--dry-run"]
            failures += run_case(world, command, args)
            if has_json(COMMANDS[command]):
                failures += run_case(world, command, [*args, "--json"])
    assert not failures, f"{len(failures)} runs broke the contract:\n" + "\n\n".join(failures[:6])


def test_read_only_library(world, fresh, tmp_path):
    """Reading a library nobody may write (``chattr +i``) works; writing fails in one line."""
    library = fresh()
    files = [library, *library.rglob("*")]
    if subprocess.run(["chattr", "+i", *map(str, files)], capture_output=True).returncode:
        pytest.skip("chattr +i is not allowed here")
    try:
        failures = []
        for command in ("status", "search", "similar", "check", "tags list", "index"):
            parts = tuple(command.split())
            failures += run_case(world, parts, good_base(parts, world, tmp_path))
    finally:
        subprocess.run(["chattr", "-i", *map(str, files)], check=True)
    if failures:
        pytest.xfail("finding 7: a read-only library:\n" + failures[0][:400])


# -- Hypothesis: arbitrary text and bytes as arguments ----------------------------------

_ARGUMENT = st.one_of(
    st.text(max_size=30),
    st.binary(max_size=30).map(os.fsdecode),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["--json", "-n", "--folder", "--tag", "--count", "--threshold"]),
)


def _arbitrary_arguments(max_examples: int):  # type: ignore[no-untyped-def]
    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        command=st.sampled_from([c for c in IN_PROCESS if c not in {("demo",)}]),
        extra=st.lists(_ARGUMENT, max_size=4),
    )
    def check(world, fresh, tmp_path, command, extra):  # type: ignore[no-untyped-def]
        fresh()
        base = good_base(command, world, tmp_path)
        failures = run_case(world, command, [*base, *extra])
        assert not failures, failures[0]

    return check


test_arbitrary_arguments = _arbitrary_arguments(60)
test_arbitrary_arguments_more = pytest.mark.slow(_arbitrary_arguments(1500))


@settings(
    max_examples=8,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
@given(
    name=st.binary(min_size=1, max_size=40).filter(
        lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b"..")
    )
)
def test_any_file_name_comes_back_from_json_as_its_bytes(world, fresh, tmp_path, name):
    """A photo with any name the file system allows: index, search and status print
    JSON from which ``os.fsencode`` gives back the name's bytes."""
    library = fresh()
    folder = tmp_path / f"names-{library.name}"
    folder.mkdir()
    target = os.path.join(os.fsencode(folder), name + b".jpg")
    shutil.copyfile(world.photo, target)
    assert run_cli(["index", "--no-tags", str(folder)]).code == 0
    found = run_cli(["search", "a red circle", "-n", "100", "--folder", str(folder), "--json"])
    assert found.code == 0, found
    paths = {os.fsencode(r["path"]) for r in json.loads(found.out.encode("utf-8"))["results"]}
    assert os.fsencode(os.path.realpath(target)) in paths or target in paths


# -- a few real processes ---------------------------------------------------------------


def clipdesk(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "clipdesk", *args], capture_output=True, env=env, timeout=timeout
    )


@pytest.fixture
def process_env(world, fresh) -> dict[str, str]:
    fresh()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("DISPLAY", None)
    return env


def test_real_processes_keep_the_contract(world, process_env, tmp_path):
    cases = [
        (("search", "a red circle", "-n", "50", "--json"), 0),
        (("search", "red", "-n", "0"), 2),
        (("--model", "nosuchmodel", "status"), 1),
        (("similar", str(tmp_path / "no\nsuch.jpg")), 1),
        (("gui", "--size", "1x1"), 2),
        (("gui", "--similar", str(tmp_path / "missing.jpg")), 1),
    ]
    for args, code in cases:
        result = clipdesk(*args, env=process_env)
        err = result.stderr.decode("utf-8", "replace")
        assert result.returncode == code, (args, err)
        assert b"Traceback" not in result.stderr, err
        if code:
            assert len(err.strip().splitlines()) == 1, err
        if "--json" in args:
            json.loads(result.stdout.decode("utf-8"))
