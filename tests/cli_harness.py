"""Running ``clipdesk`` in this process, as the contract and bad-input tests do.

A new process per command costs about a second of imports; in-process, a command on a
small library costs tens of milliseconds, which is what lets the contract test try
hundreds of hostile cases in the default run.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import signal
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from clipdesk.cli import main
from clipdesk.training.shapes import write_sample_library


@dataclass
class Run:
    argv: list[str]
    code: int | None
    out: str
    err: str
    timed_out: bool = False

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]

    def __str__(self) -> str:
        return (
            f"clipdesk {self.argv!r} -> {self.code}\n"
            f"stdout: {self.out[-800:]}\nstderr: {self.err[-2000:]}"
        )


def run_cli(argv: Sequence[str], *, time_limit_s: float = 20.0) -> Run:
    """``clipdesk ARGV`` in this process: exit status, stdout and stderr.

    A command still running after ``time_limit_s`` gets a SIGINT (as Ctrl+C would send),
    and the run is marked ``timed_out``: a hang, for every command but ``watch``.
    (A timer thread sends it, so pytest-timeout's own SIGALRM stays in force.)
    """
    out, err = io.StringIO(), io.StringIO()
    fired = threading.Event()
    main_thread = threading.get_ident()

    def interrupt() -> None:
        fired.set()
        signal.pthread_kill(main_thread, signal.SIGINT)

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(time_limit_s, interrupt)
    timer.daemon = True
    timer.start()
    code: int | None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(argv))
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else (exit_.code is not None)
            except KeyboardInterrupt:
                code = 130
            except BaseException:  # a traceback: keep it where the contract looks for one
                traceback.print_exc(file=err)
                code = None
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    return Run(list(argv), code, out.getvalue(), err.getvalue(), timed_out=fired.is_set())


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file and link below ``folder`` (by relative bytes path) and its content hash."""
    digest: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(os.fsencode(folder)):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = os.path.join(dirpath, name)
            key = os.fsdecode(os.path.relpath(path, os.fsencode(folder)))
            if os.path.islink(path):
                digest[key] = "link:" + os.fsdecode(os.readlink(path))
                continue
            if not os.path.isfile(path):  # a fifo or socket: reading it would wait
                digest[key] = f"special:{os.stat(path).st_mode:o}"
                continue
            try:
                with open(path, "rb") as f:
                    digest[key] = hashlib.sha256(f.read()).hexdigest()
            except OSError as exc:
                digest[key] = f"unreadable:{exc.errno}"
    return digest


NON_UTF8 = os.fsdecode(b"caf\xe9 \xff")  # Latin-1 bytes: not valid UTF-8


def make_photos(folder: Path, count: int = 6, seed: int = 5) -> Path:
    """A small photo folder with the awkward names users have: not UTF-8, a newline."""
    write_sample_library(folder, count, seed=seed)
    first = sorted(folder.rglob("IMG_*.jpg"))[0]
    shutil.copy(first, folder / f"{NON_UTF8}.jpg")
    shutil.copy(first, folder / "line\nbreak.jpg")
    return folder


def clipdesk_process(
    *args: str, env: dict[str, str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``clipdesk ARGS`` as a new process, as a user runs it (exit status 0 if ``check``)."""
    result = subprocess.run(
        [sys.executable, "-m", "clipdesk", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def process_env(base: Path) -> dict[str, str]:
    """The environment of a ``clipdesk`` process run as a new process, whose library,
    data, cache, settings and models all live under ``base`` (tiny-shapes, no display)."""
    env = {
        **os.environ,
        "CLIPDESK_LIBRARY": str(base / "lib"),
        "CLIPDESK_MODEL": "tiny-shapes",
        "CLIPDESK_DATA_DIR": str(base / "data"),
        "CLIPDESK_CACHE_DIR": str(base / "cache"),
        "CLIPDESK_CONFIG_DIR": str(base / "config"),
        "CLIPDESK_MODELS_DIR": str(base / "models"),
    }
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    return env


@contextlib.contextmanager
def library_env(monkeypatch, library: Path) -> Iterator[None]:  # type: ignore[no-untyped-def]
    with monkeypatch.context() as m:
        m.setenv("CLIPDESK_LIBRARY", str(library))
        m.setenv("CLIPDESK_MODEL", "tiny-shapes")
        m.delenv("DISPLAY", raising=False)
        m.delenv("WAYLAND_DISPLAY", raising=False)
        yield
