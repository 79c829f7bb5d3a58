"""Start-up: ``clipdesk --help``, a cold ``clipdesk search`` in a new process, the window.

Each figure is the wall time of a new Python process, as a user would start it (the file
cache is warm: the same command was run once before, so disk speed is not measured):

- ``clipdesk --help`` (target < 0.5 s);
- ``clipdesk search "..."`` on a 10k and a 100k library with the default model's
  architecture, through ONNX Runtime (the default once the model is exported: no torch
  import) and through torch (``CLIPDESK_BACKEND=torch``) as the baseline (target < 1 s),
  with the phases of the ONNX run (imports, library, model, index, query);
- the desktop window (offscreen): when it is shown, whether torch was imported by then,
  and when the first search is answered.

Run::

    .venv/bin/python benchmarks/bench_startup.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchlib
import vectors_data as vd
from benchlib import median, table, use_bench_dirs

PHASES = r"""
import sys, time, json
t0 = time.perf_counter()
from clipdesk.core.library import Library
t1 = time.perf_counter()
lib = Library.open(sys.argv[1])
enc = lib.encoder
t2 = time.perf_counter()
vec = lib.vectors
t3 = time.perf_counter()
res = lib.search("a dog on the beach", k=20)
t4 = time.perf_counter()
assert res.hits
print(json.dumps({"import": t1 - t0, "model": t2 - t1, "index": t3 - t2, "query": t4 - t3,
                  "torch": "torch" in sys.modules, "encoder": type(enc).__name__}))
"""

GUI = r"""
import sys, time, json
start = float(sys.argv[2])
marks = {}
from PySide6.QtCore import QTimer
from clipdesk.gui.app import DesktopApp, LaunchOptions, application
from clipdesk.gui.settings import Settings
app = application()
options = LaunchOptions(library=sys.argv[1], query="a dog on the beach")  # as `--query`
desk = DesktopApp(options, Settings(first_run_done=True))
desk.start()
app.processEvents()
marks["window"] = time.time() - start
marks["torch_at_window"] = "torch" in sys.modules
def ready(*_):
    marks.setdefault("model_ready", time.time() - start)
def answered(outcome):
    if outcome.request.text != "a dog on the beach":
        return  # the window's own search for its (empty) search field
    marks["first_answer"] = time.time() - start
    marks["hits"] = len(getattr(outcome, "hits", []) or [])
    marks["error"] = getattr(outcome, "error", None)
    marks["torch_at_answer"] = "torch" in sys.modules
    QTimer.singleShot(0, app.quit)
desk.service.modelReady.connect(ready)
desk.service.searchFinished.connect(answered)
QTimer.singleShot(120_000, app.quit)
app.exec()
desk.service.shutdown(30_000)
print(json.dumps(marks))
"""


def run(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    took = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"{args[:4]} failed: {out.stderr[-800:]}")
    return took, out.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k library, 3 runs each")
    parser.add_argument("--no-gui", action="store_true")
    args = parser.parse_args()
    repeat = 3 if args.quick else 5
    sizes = [10_000] if args.quick else [10_000, 100_000]
    info = benchlib.print_conditions("start-up benchmark")
    python = sys.executable
    rows: list[list[object]] = []
    results: dict[str, object] = {"conditions": info}
    with tempfile.TemporaryDirectory() as tmp:
        use_bench_dirs(Path(tmp))
        env = dict(os.environ)
        env.pop("CLIPDESK_BACKEND", None)
        env["CLIPDESK_MODEL"] = benchlib.ensure_random_model()
        from clipdesk.core.encoder import load_encoder

        encoder = load_encoder(benchlib.DEFAULT_MODEL, device="cpu", backend="onnx")
        print(f"encoder: {encoder!r}")
        run([python, "-m", "clipdesk", "--help"], env)  # warm the file cache
        helps = [run([python, "-m", "clipdesk", "--help"], env)[0] for _ in range(repeat)]
        rows.append(["clipdesk --help", f"{median(helps):.2f}", "< 0.5", ""])
        results["help_s"] = median(helps)
        print(rows[-1], flush=True)
        for size in sizes:
            lib = vd.ensure_library(size, encoder)
            cmd = [python, "-m", "clipdesk", "--library", str(lib), "search", "a dog", "--json"]
            for backend in ("onnx", "torch"):
                benv = dict(env, CLIPDESK_BACKEND="auto" if backend == "onnx" else "torch")
                run(cmd, benv)  # warm-up: file cache
                times = [run(cmd, benv)[0] for _ in range(repeat)]
                name = f"cold `clipdesk search` ({size:,} photos), {backend}"
                target = "< 1" if backend == "onnx" else "baseline"
                rows.append([name, f"{median(times):.2f}", target, ""])
                results[f"search_{size}_{backend}_s"] = median(times)
                print(rows[-1], flush=True)
            phases = [
                json.loads(run([python, "-c", PHASES, str(lib)], env)[1]) for _ in range(repeat)
            ]
            keys = ["import", "model", "index", "query"]
            split = ", ".join(f"{k} {median([p[k] for p in phases]):.2f}" for k in keys)
            rows[-2][3] = f"{split}; torch imported: {phases[0]['torch']}"
            results[f"phases_{size}"] = phases
        if not args.no_gui:
            lib = vd.ensure_library(10_000, encoder)
            genv = dict(env, QT_QPA_PLATFORM="offscreen")
            for backend in ("onnx", "torch"):
                genv["CLIPDESK_BACKEND"] = "auto" if backend == "onnx" else "torch"
                run([python, "-c", GUI, str(lib), repr(time.time())], genv)  # warm-up
                # The window's watcher marks the photos offline (their folder does not
                # exist); the library's photos are online again for each measured run.
                vd.ensure_library(10_000, encoder)
                marks = json.loads(run([python, "-c", GUI, str(lib), repr(time.time())], genv)[1])
                rows.append(
                    [f"window shown (10,000 photos), {backend}", f"{marks['window']:.2f}", "",
                     f"torch imported by then: {marks['torch_at_window']}"]
                )  # fmt: skip
                rows.append(
                    [f"first search answered in the window, {backend}",
                     f"{marks.get('first_answer', float('nan')):.2f}", "",
                     f"{marks.get('hits', 0)} hits; torch: {marks.get('torch_at_answer')}"]
                )  # fmt: skip
                results[f"gui_{backend}"] = marks
                print(rows[-2], rows[-1], flush=True)
    print()
    print(table(["what", "seconds", "target", "notes"], rows))
    benchlib.save_results("startup", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
