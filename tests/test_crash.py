"""``clipdesk index`` killed with SIGKILL at random moments, again and again.

After every kill the database must be sound and the saved vector index loadable (it
may lack the last vectors); after every restart (a complete ``clipdesk index``)
``clipdesk check`` must be clean and every photo on disk indexed or recorded as skipped,
none twice. The photos change between rounds (new, copied, moved, rewritten, deleted
and broken files), so every killed run has work to do.

Starting Python and importing torch takes seconds, so each ``clipdesk`` command runs in
a process forked from a "zygote" that has imported everything once. The forked child
runs the real command line (``clipdesk.cli.main``) and is killed like any process;
``benchmarks/bench_crash.py`` runs 200 rounds and some with ``python -m clipdesk``.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from test_watch_common import MODEL, save_model, wait_for, write_image
from zygote import Zygote

MAX_PHOTOS = 40


@dataclass
class CrashRun:
    """The photos, the library and what is known about both."""

    base: Path
    zygote: Zygote | None
    rng: random.Random
    models: Path
    bad: set[str] = field(default_factory=set)  # files that must end up skipped
    kills: int = 0
    rounds: int = 0
    real_kills: int = 0
    real_tries: int = 0
    full_run_s: float = 3.0
    seed: int = 1000
    misses: int = 0  # zygote runs that ended before their kill

    @property
    def photos(self) -> Path:
        return self.base / "photos"

    @property
    def env(self) -> dict[str, str]:
        return {
            "CLIPDESK_LIBRARY": str(self.base / "lib"),
            "CLIPDESK_MODEL": MODEL,
            "CLIPDESK_MODELS_DIR": str(self.models),
            "CLIPDESK_DATA_DIR": str(self.base / "data"),
            "CLIPDESK_CACHE_DIR": str(self.base / "cache"),
            "CLIPDESK_CONFIG_DIR": str(self.base / "config"),
            "CLIPDESK_BACKEND": "torch",  # no one-off ONNX export in the middle of the rounds
        }

    def images(self) -> list[Path]:
        return sorted(p for p in self.photos.rglob("*") if p.is_file())

    def new_image(self) -> Path:
        self.seed += 1
        folder = self.photos / self.rng.choice(["", "a", "b", "a/deep"])
        return write_image(folder / f"img{self.seed}.{self.rng.choice(['png', 'jpg'])}", self.seed)

    def churn(self, scale: int = 1) -> None:
        """New, copied, moved, rewritten, deleted and broken files."""
        rng = self.rng
        for _ in range(rng.randint(2, 6) * scale):
            self.new_image()
        good = [p for p in self.images() if str(p) not in self.bad]
        for path in rng.sample(good, min(len(good), rng.randint(0, 2))):
            target = path.with_name(f"copy{self.seed}{path.suffix}")
            self.seed += 1
            shutil.copy2(path, target)
        for path in rng.sample(good, min(len(good), rng.randint(0, 2))):
            if path.exists():
                target = (
                    self.photos / rng.choice(["", "b", "moved"]) / f"mv{self.seed}{path.suffix}"
                )
                self.seed += 1
                target.parent.mkdir(parents=True, exist_ok=True)
                path.rename(target)
        for path in rng.sample(good, min(len(good), rng.randint(0, 1))):
            if path.exists():
                self.seed += 1
                write_image(path, self.seed, size=(40, 30))  # rewritten in place
        images = self.images()
        extra = max(0, len(images) - MAX_PHOTOS)  # keep each run's work about the same
        for path in rng.sample(images, min(len(images), rng.randint(0, 2) + extra)):
            path.unlink()
            self.bad.discard(str(path))
        if rng.random() < 0.3:
            self.seed += 1
            path = self.photos / f"broken{self.seed}.jpg"
            path.write_bytes(b"\xff\xd8\xff\xe0" + bytes(rng.randbytes(rng.randint(0, 300))))
            self.bad.add(str(path))

    def index_argv(self) -> list[str]:
        return ["index", str(self.photos), "--workers", "1", "--batch-size", "4"]

    def killed_run(self, real: bool = False) -> bool:
        """Start ``clipdesk index`` and SIGKILL it after a random time; True if it died so."""
        # A run after churn indexes a few files and is faster than the first, timed one:
        # each run that ended before its kill halves the window, so kills keep landing.
        delay = self.rng.uniform(0.0, 1.1) * self.full_run_s * 0.5**self.misses
        out = self.base / "killed.log"
        if real:
            # A new interpreter imports torch before it indexes anything, and how long that
            # takes depends on the machine: so the kill waits until this process has the
            # catalog open, then falls at a random moment within half a zygote-timed run.
            argv = [sys.executable, "-m", "clipdesk", *self.index_argv()]
            process = subprocess.Popen(
                argv,
                env={**os.environ, **self.env},
                stdout=out.open("wb"),
                stderr=subprocess.STDOUT,
            )
            catalog = (self.base / "lib" / "catalog.db").resolve()

            def opened() -> bool:
                return _has_open(process.pid, catalog) or process.poll() is not None

            assert wait_for(opened, timeout=300, every=0.02), "the catalog was never opened"
            assert process.poll() is None, out.read_text(errors="replace")
            # Each try that ran to the end before the kill halves the window.
            time.sleep(self.rng.uniform(0.0, 0.5) * self.full_run_s * 0.5**self.real_tries)
            self.real_tries += 1
            process.send_signal(signal.SIGKILL)
            killed = process.wait() == -signal.SIGKILL
            self.real_kills += killed
        else:
            assert self.zygote is not None
            save_interval = self.rng.choice([0.0, None])  # save the index after every batch
            pid = self.zygote.start(self.index_argv(), self.env, out, save_interval)
            time.sleep(delay)
            os.kill(pid, signal.SIGKILL)
            code, sig = self.zygote.wait(pid)
            killed = sig == signal.SIGKILL
            assert killed or code == 0, out.read_text(errors="replace")
            self.misses += not killed
        self.kills += killed
        return killed

    def restart(self) -> None:
        """A complete ``clipdesk index``, then ``clipdesk check --json``."""
        assert self.zygote is not None
        started = time.monotonic()
        code, output = self.zygote.run(self.index_argv(), self.env, self.base / "restart.log")
        assert code == 0, output
        self.full_run_s = 0.5 * self.full_run_s + 0.5 * (time.monotonic() - started)
        code, output = self.zygote.run(["check", "--json"], self.env, self.base / "check.log")
        report = json.loads(output[output.index("{") :])
        assert code == 0 and report["ok"] and report["problems"] == [], report

    def round(self, real: bool = False) -> bool:
        self.rounds += 1
        self.churn()
        killed = self.killed_run(real)
        verify_after_kill(self)
        if self.rng.random() < 0.3:
            self.churn()
        self.restart()
        verify_after_restart(self)
        return killed


def _has_open(pid: int, path: Path) -> bool:
    """Whether process ``pid`` holds ``path`` open (Linux ``/proc``; False once it is gone)."""
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(fd) == str(path):
                return True
        except OSError:
            continue
    return False


def _open(run: CrashRun):
    from clipdesk.core.catalog import Catalog

    return Catalog.open(run.base / "lib" / "catalog.db")


def _vector_index(run: CrashRun, catalog):
    from clipdesk.core.library import index_dir_name
    from clipdesk.core.vectors import VectorIndex

    key = catalog.get_meta("model_key")
    if key is None:
        return None, None
    folder = run.base / "lib" / "vectors" / index_dir_name(key)
    return key, VectorIndex.open(folder, catalog.model_dims()[key])


def verify_after_kill(run: CrashRun) -> None:
    """Whatever moment the kill hit: a sound database and a loadable, true index."""
    if not (run.base / "lib" / "catalog.db").exists():
        return  # killed before the library was created
    catalog = _open(run)
    try:
        assert catalog.integrity_problems() == []
        key, index = _vector_index(run, catalog)
        if index is None:
            return
        assert index.problem is None, f"index damaged by a kill: {index.problem}"
        labels = index.labels()
        assert len(labels) == len(set(labels.tolist()))
        extra = set(labels.tolist()) - set(catalog.embedding_ids(key).tolist())
        assert not extra, "the index holds vectors the database never committed"
    finally:
        catalog.close()


def verify_after_restart(run: CrashRun) -> None:
    """Every photo on disk indexed or skipped, each once; index == database."""
    from clipdesk.core.imageio import file_fingerprint

    catalog = _open(run)
    try:
        (root,) = catalog.roots()
        records = catalog.files_of_root(root.id)
        on_disk = {os.fsencode(p.resolve()): p for p in run.images()}
        assert set(records) == set(on_disk), set(records) ^ set(on_disk)
        key, index = _vector_index(run, catalog)
        for path, record in records.items():
            if str(on_disk[path]) in run.bad:
                assert record.status == "skipped" and record.skip_reason, record
            else:
                assert record.status == "ok", record
                assert record.fingerprint == file_fingerprint(on_disk[path].read_bytes())
        counts = catalog.counts(key)
        assert counts.pending == 0 and counts.indexed + counts.skipped == len(on_disk)
        db_ids = catalog.embedding_ids(key)
        assert len(db_ids) == len(set(db_ids.tolist()))
        assert sorted(index.labels().tolist()) == sorted(db_ids.tolist())
        fingerprints = {r.fingerprint for r in records.values() if r.status == "ok"}
        assert len(catalog.embedding_ids_for(fingerprints, key)) == len(fingerprints)
    finally:
        catalog.close()


def start_crash_run(
    base: Path, seed: int, photos: int = 20, models: Path | None = None
) -> CrashRun:
    models = models or base / "models"
    save_model(models)
    run = CrashRun(base, Zygote(), random.Random(seed), models)
    for _ in range(photos):
        run.new_image()
    run.restart()  # the first, complete index; also measures how long a run takes
    verify_after_restart(run)
    return run


@pytest.mark.timeout(1800)  # about three minutes for 30 kills, far longer on a loaded machine
@pytest.mark.parametrize("kills", [4, pytest.param(30, marks=pytest.mark.slow)])
def test_sigkill_at_random_moments_never_loses_or_duplicates_a_photo(
    kills, tmp_path, tmp_path_factory
):
    models = tmp_path_factory.getbasetemp() / "shared-models"  # as test_watch's
    run = start_crash_run(tmp_path, seed=7, models=models)
    try:
        # A real run that finished before its kill still proved a restart; try again.
        assert any(run.round(real=True) for _ in range(3)), "no real `python -m clipdesk` killed"
        while run.kills < kills + 1 and run.rounds < 2 * kills:
            run.round()
    finally:
        run.zygote.close()
    assert run.kills >= kills + 1, (run.kills, run.rounds)
