"""Helpers for tests that hand clipdesk a damaged, foreign or read-only library.

``indexed_library`` builds one small indexed library per test module (the real
tiny-shapes model, through the command line); tests copy it and break the copy.
``cli`` runs the command line in this process, the way a user would type it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from clipdesk.cli import main
from clipdesk.training.shapes import write_sample_library


@dataclass
class CliRun:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]

    def assert_one_line_error(self, code: int = 1, *words: str) -> str:
        assert self.code == code, (self.code, self.out, self.err)
        assert "Traceback" not in self.err and "Traceback" not in self.out, self.err
        assert len(self.err_lines) == 1, self.err
        line = self.err_lines[0]
        assert line.startswith("clipdesk: error: "), line
        for word in words:
            assert word in line, line
        return line


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> CliRun:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return CliRun(code, captured.out, captured.err)


def snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every file below ``folder`` (hidden ones too) with its bytes; folders by name."""
    out: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames:
            out[os.path.relpath(os.path.join(dirpath, name), folder)] = "dir"
        for name in filenames:
            path = os.path.join(dirpath, name)
            out[os.path.relpath(path, folder)] = Path(path).read_bytes()
    return out


@pytest.fixture(scope="module")
def indexed_library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(library folder, photos folder): 12 sample photos indexed with tiny-shapes."""
    base = tmp_path_factory.mktemp("indexed")
    photos = base / "photos"
    write_sample_library(photos, 12, seed=5)
    library = base / "lib"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CLIPDESK_MODEL", "tiny-shapes")
        for name in ("DATA", "CACHE", "CONFIG", "MODELS"):
            mp.setenv(f"CLIPDESK_{name}_DIR", str(base / name.lower()))
        assert main(["--library", str(library), "index", "--no-tags", str(photos)]) == 0
    return library, photos


@pytest.fixture
def library_copy(
    indexed_library: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path]:
    """A copy of the indexed library for this test to break (its photos are shared)."""
    monkeypatch.setenv("CLIPDESK_MODEL", "tiny-shapes")
    source, photos = indexed_library
    copy = tmp_path / "lib"
    shutil.copytree(source, copy)
    return copy, photos


def chattr_available(probe_dir: Path) -> str | None:
    """Why ``chattr +i`` cannot be used here, or None when it can."""
    if shutil.which("chattr") is None:
        return "chattr is not installed"
    probe = probe_dir / "chattr-probe"
    probe.write_bytes(b"")
    try:
        done = subprocess.run(["chattr", "+i", str(probe)], capture_output=True, text=True)
        if done.returncode:
            return f"chattr +i is not permitted here: {done.stderr.strip()}"
        return None
    finally:
        subprocess.run(["chattr", "-i", str(probe)], capture_output=True)
        probe.unlink()


@contextlib.contextmanager
def immutable(*paths: Path) -> Iterator[None]:
    """Make ``paths`` immutable (``chattr +i``): not even root may change them."""
    done: list[Path] = []
    try:
        for path in paths:
            subprocess.run(["chattr", "+i", str(path)], check=True)
            done.append(path)
        yield
    finally:
        for path in reversed(done):
            subprocess.run(["chattr", "-i", str(path)], check=True)
