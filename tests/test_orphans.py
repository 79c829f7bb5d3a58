"""No process outlives clipdesk: ``clipdesk index`` killed with SIGKILL leaves no child.

Each round starts ``clipdesk index`` on a fresh library, waits until it has started a
child (the decode workers, or the ONNX export child), records every descendant from
/proc, kills the parent with SIGKILL and requires every recorded process to be gone
within a few seconds. Rounds alternate between a kill mid-export and one mid-decode;
the first is a fresh ``python -m clipdesk``, the rest are forked from a zygote that has
imported torch once (see ``zygote.py``). Before the export child died with its parent,
the first round found it still running, torch loaded.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_watch_common import MODEL, save_model
from zygote import Zygote

from clipdesk.core.lifeline import Lifeline, die_with_parent

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

GONE_WITHIN_S = 5.0
DECODE_PHOTOS = 80


# --------------------------------------------------------------------------- /proc
def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, start time) of a process, None when it does not exist."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1]), int(fields[19])


def descendants(pid: int) -> dict[int, int]:
    """Every live process below ``pid``: pid -> start time (to tell a reused pid)."""
    children: dict[int, list[tuple[int, int]]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None and stat[0] != "Z":
            children.setdefault(stat[1], []).append((int(entry), stat[2]))
    found: dict[int, int] = {}
    todo = [pid]
    while todo:
        for child, started in children.get(todo.pop(), []):
            found[child] = started
            todo.append(child)
    return found


def alive(pid: int, started: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z" and stat[2] == started


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def spawned(pid: int) -> list[int]:
    """The multiprocessing children (decode workers, export child) below ``pid``."""
    return [p for p in descendants(pid) if "spawn_main" in cmdline(p)]


def _loaded_torch(pid: int) -> bool:
    try:
        return "libtorch" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


# --------------------------------------------------------------------------- rounds
@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict[bool, Path]:
    """By ``export``: large photos that take a while to decode; enough small ones that
    ``clipdesk index`` exports the model to ONNX before embedding them."""
    from clipdesk.core.onnx_backend import EXPORT_AFTER_FILES

    large = tmp_path_factory.mktemp("orphan-large")
    many = tmp_path_factory.mktemp("orphan-many")
    rng = np.random.default_rng(3)
    for i in range(DECODE_PHOTOS):
        small = (rng.random((24, 32, 3)) * 255).astype(np.uint8)
        Image.fromarray(small).resize((1600, 1200), Image.BILINEAR).save(large / f"p{i}.jpg")
    for i in range(EXPORT_AFTER_FILES + 5):
        pixels = (rng.random((12, 16, 3)) * 255).astype(np.uint8)
        Image.fromarray(pixels).save(many / f"s{i}.png")
    return {False: large, True: many}


class KillRounds:
    def __init__(self, base: Path, models: Path, photos: dict[bool, Path], seed: int) -> None:
        self.base, self.models, self.photos = base, models, photos
        self.rng = random.Random(seed)
        self.rounds = 0
        self.zygote: Zygote | None = None

    def env(self, backend: str) -> dict[str, str]:
        round_dir = self.base / f"round{self.rounds}"  # a fresh library and export cache
        return {
            "CLIPDESK_LIBRARY": str(round_dir / "lib"),
            "CLIPDESK_MODEL": MODEL,
            "CLIPDESK_MODELS_DIR": str(self.models),
            "CLIPDESK_DATA_DIR": str(round_dir / "data"),
            "CLIPDESK_CACHE_DIR": str(round_dir / "cache"),
            "CLIPDESK_CONFIG_DIR": str(round_dir / "config"),
            "CLIPDESK_BACKEND": backend,
        }

    def argv(self, export: bool) -> list[str]:
        return ["index", str(self.photos[export]), "--workers", "2", "--batch-size", "8"]

    def kill_once(self, *, export: bool, real: bool) -> tuple[dict[int, int], list[int]]:
        """Start, wait for a child, kill; the recorded descendants and the survivors."""
        self.rounds += 1
        # auto: a CPU run embedding EXPORT_AFTER_FILES photos or more exports the model
        # in a child process first; torch: no export, straight to the decode workers.
        env = self.env("auto" if export else "torch")
        log = self.base / f"round{self.rounds}.log"
        if real:
            process = subprocess.Popen(
                [sys.executable, "-m", "clipdesk", *self.argv(export)],
                env={**os.environ, **env},
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
            )
            pid = process.pid
        else:
            if self.zygote is None:
                self.zygote = Zygote()
            pid = self.zygote.start(self.argv(export), env, log, None)
        # Mid-export: once the child has loaded torch (it exports for seconds then).
        # Mid-decode: once the workers have had a moment to get going.
        ready = _loaded_torch if export else (lambda p: True)
        deadline = time.monotonic() + 300
        while not (children := [p for p in spawned(pid) if ready(p)]):
            assert _stat(pid) is not None and _stat(pid)[0] != "Z", log.read_text()
            assert time.monotonic() < deadline, "clipdesk index started no child"
            time.sleep(0.01)
        time.sleep(self.rng.uniform(0.0, 0.5) if export else self.rng.uniform(0.2, 0.6))
        recorded = descendants(pid)
        assert all(c in recorded for c in children), "the child ended before the kill"
        os.kill(pid, signal.SIGKILL)
        if real:
            assert process.wait(30) == -signal.SIGKILL
        else:
            assert self.zygote is not None
            assert self.zygote.wait(pid) == (None, signal.SIGKILL), log.read_text()
        deadline = time.monotonic() + GONE_WITHIN_S
        while (left := [p for p, t in recorded.items() if alive(p, t)]) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.05)
        return recorded, left

    def close(self) -> None:
        if self.zygote is not None:
            self.zygote.close()


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("kills", [4, pytest.param(30, marks=pytest.mark.slow)])
def test_no_child_outlives_a_killed_index(kills, photos, tmp_path, tmp_path_factory):
    models = tmp_path_factory.getbasetemp() / "shared-models"  # as test_watch's
    save_model(models)
    rounds = KillRounds(tmp_path, models, photos, seed=kills)
    try:
        for i in range(kills):
            export = i % 2 == 0  # the first round, as the orphan was found: torch loaded
            recorded, left = rounds.kill_once(export=export, real=i == 0)
            survivors = {p: cmdline(p) for p in left}
            where = "mid-export" if export else "mid-decode"
            assert not survivors, f"round {i} ({where}): still running: {survivors}"
            assert recorded
    finally:
        rounds.close()


# --------------------------------------------------------------------------- units
def _sleep_child(link) -> None:
    die_with_parent(link)
    time.sleep(60)


def _middle(use_pdeathsig: bool, report: str) -> None:
    """A parent that starts a child, says its pid, and waits to be killed."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    lifeline = Lifeline(context, use_pdeathsig=use_pdeathsig)
    child = context.Process(target=_sleep_child, args=(lifeline.link(),), daemon=False)
    child.start()
    Path(report).write_text(str(child.pid))
    time.sleep(60)


@pytest.mark.parametrize("use_pdeathsig", [True, False], ids=["pdeathsig", "pipe"])
def test_a_child_ends_with_its_killed_parent(use_pdeathsig, tmp_path):
    """Both ways work here: the parent-death signal and the watched pipe (used where
    there is no such signal) each end the child within seconds of a SIGKILL."""
    if use_pdeathsig and not sys.platform.startswith("linux"):
        pytest.skip("the parent-death signal is Linux's")
    report = tmp_path / "child.pid"
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "import test_orphans as t\n"
        f"if __name__ == '__main__': t._middle({use_pdeathsig}, {str(report)!r})\n"
    )
    script = tmp_path / "middle.py"
    script.write_text(code)
    middle = subprocess.Popen([sys.executable, str(script)])
    deadline = time.monotonic() + 120
    while not report.exists() or not report.read_text():
        assert middle.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    child = int(report.read_text())
    started = _stat(child)
    assert started is not None and alive(child, started[2])
    middle.kill()
    middle.wait(30)
    deadline = time.monotonic() + GONE_WITHIN_S
    while alive(child, started[2]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child, started[2]), "the child outlived its killed parent"


def test_a_child_whose_parent_is_already_gone_exits():
    """The race: the parent died before the child armed the signal (here the child is
    told of a parent that is not the one it has, as after being reparented)."""
    code = (
        "from clipdesk.core.lifeline import ParentLink, die_with_parent\n"
        f"die_with_parent(ParentLink({os.getpid() + 1}))\n"
        "import time; time.sleep(30)\n"
    )
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", code], timeout=30)
    assert result.returncode == 70 and time.monotonic() - started < 20
