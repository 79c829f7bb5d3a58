"""The window's first answer: a new process opens the window on a library, a query is
typed as soon as the window shows, and the time runs until the results are painted.

Each run is a new process (offscreen Qt) that builds the window as ``clipdesk gui`` does
and, at the moment the window is shown, types the query into the search field and
presses Enter (the search-as-you-type pause, ``DEBOUNCE_MS``, is left out: Enter skips
it). The clock stops once the window has received the answer and painted the results
grid. Two libraries: the demo library (``clipdesk demo``, 60 pictures, its folder
watched as usual) and 100,000 photos in tiny-shapes' space (``vectors_data.ensure_library``,
as the cold-search benchmark builds it), both with tiny-shapes' shipped ONNX towers. The
100,000 photos are rows without files: their folder is marked online before each run and
not watched (a look at it would find it gone and hide its photos). ``--baseline-ref REF``
also runs clipdesk as it was at that commit, interleaved, on its own copy of each library:
a window opens its library for writing, and one version finding the other's saved index
would rebuild it on every run (100k vectors: tens of seconds, measured by neither). Run::

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_first_answer.py
        [--runs 5] [--baseline-ref REF] [--sizes demo 100000]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import benchlib
from bench_cold_search import build_library
from bench_rclip import package_at
from benchlib import median, table

from clipdesk.core.stores.folder import CATALOG_FILE

ROOT = Path(__file__).resolve().parents[1]
QUERY = "a red star"

CHILD = r"""
import json, sys, time
start = time.perf_counter()
from PySide6.QtCore import QTimer
from PySide6.QtTest import QTest
from PySide6.QtCore import Qt
from clipdesk.gui.app import DesktopApp, LaunchOptions, application
from clipdesk.gui.settings import Settings
app = application()
desk = DesktopApp(LaunchOptions(library=sys.argv[1]), Settings(first_run_done=True))
desk.service.folders.enabled = sys.argv[3] == "watch"
desk.start()
app.processEvents()  # the window is shown and painted once
marks = {"window": time.perf_counter() - start}
shown = time.perf_counter()
edit = desk.window.search_bar.edit
QTest.keyClicks(edit, sys.argv[2])
QTest.keyClick(edit, Qt.Key.Key_Return)
def shown_results(outcome):
    if outcome.request.text != sys.argv[2]:
        return  # the window's own search for its empty field
    desk.window.view.viewport().repaint()  # painted now, not at the next frame
    marks["answer"] = time.perf_counter() - shown
    marks["hits"] = len(outcome.hits or [])
    marks["error"] = outcome.error
    QTimer.singleShot(0, app.quit)
desk.window.resultsShown.connect(shown_results)
QTimer.singleShot(120_000, app.quit)
app.exec()
desk.window.shutdown()
print(json.dumps(marks))
"""


def demo_library(work: Path) -> Path:
    """The demo library (60 pictures, tiny-shapes), made once."""
    folder = work / "demo"
    library = folder / "library"
    if not (library / CATALOG_FILE).is_file():
        subprocess.run(
            [sys.executable, "-m", "clipdesk", "demo", str(folder)],
            check=True,
            capture_output=True,
            cwd=work,
        )
    return library


def own_copy(library: Path, copy: Path, label: str) -> Path:
    """The library this code opens: the kept one for this code, a copy for a baseline
    (its roots still name the same pictures)."""
    if label == "this code":
        return library
    shutil.copytree(library, copy)
    return copy


def one_run(library: Path, code: Path, base: Path, *, watch: bool) -> dict[str, object]:
    if not watch:  # rows without files (see the module docstring)
        with contextlib.closing(sqlite3.connect(library / CATALOG_FILE)) as db, db:
            db.execute("UPDATE roots SET online = 1")
    env = {
        **os.environ,
        "PYTHONPATH": str(code),
        "QT_QPA_PLATFORM": "offscreen",
        "CLIPDESK_CACHE_DIR": str(base / "cache"),
        "CLIPDESK_CONFIG_DIR": str(base / "config"),
    }
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(library), QUERY, "watch" if watch else "no"],
        capture_output=True,
        text=True,
        env=env,
        cwd=base,
        timeout=300,
    )
    if out.returncode != 0 or not out.stdout.strip():
        raise SystemExit(f"the window failed:\n{out.stderr[-3000:]}")
    marks = json.loads(out.stdout.strip().splitlines()[-1])
    if marks.get("error") or not marks.get("hits"):
        raise SystemExit(f"no answer: {marks}")
    return marks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline-ref", help="also run clipdesk as it was at this commit")
    parser.add_argument("--sizes", nargs="+", default=["demo", "100000"])
    args = parser.parse_args()
    info = benchlib.print_conditions("the window's first answer")
    work = benchlib.bench_dir() / "first-answer"
    work.mkdir(parents=True, exist_ok=True)
    libraries = {
        size: demo_library(work) if size == "demo" else build_library(int(size))
        for size in args.sizes
    }
    rows, results = [], {"conditions": info, "runs": {}}
    with tempfile.TemporaryDirectory(prefix="clipdesk-bench-answer-") as tmp:
        base = Path(tmp)
        codes = {"this code": ROOT}
        if args.baseline_ref:
            codes = {args.baseline_ref: package_at(args.baseline_ref, base / "baseline"), **codes}
        for size, library in libraries.items():
            found: dict[str, list[dict[str, object]]] = {label: [] for label in codes}
            opened = {label: own_copy(library, base / "libraries" / label / size, label)
                      for label in codes}  # fmt: skip
            for i in range(args.runs + 1):
                for label, code in codes.items():  # interleaved: load hits both alike
                    marks = one_run(opened[label], code, base, watch=size == "demo")
                    if i:  # the first run fills the file cache and the optimised-model cache
                        found[label].append(marks)
            for label, runs in found.items():
                answers = [float(r["answer"]) for r in runs]  # type: ignore[arg-type]
                windows = [float(r["window"]) for r in runs]  # type: ignore[arg-type]
                rows.append([
                    size, label, f"{median(windows):.2f}", f"{median(answers):.2f}",
                    f"{min(answers):.2f}", f"{max(answers):.2f}",
                ])  # fmt: skip
            results["runs"][size] = found  # type: ignore[index]
    print(f"median of {args.runs} new processes; the first (warming caches) not counted")
    print(
        table(["library", "code", "window shown s", "shown -> painted s", "min s", "max s"], rows)
    )
    print("target: results painted within 1 s of the window showing")
    benchlib.save_results("first_answer", results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
