"""Cold ``clipdesk search --json`` on a 100k-photo library, this code against a baseline.

A new Python process per search, timed whole, as a user waits for it (the file cache is
warm: each command runs once before it is timed). The library has real catalog rows and
synthetic vectors (``vectors_data.ensure_library``) in the space of the shipped
tiny-shapes model (128-d), so the query is encoded by the real ONNX text tower.

The baseline is the same command run with an older checkout of the package on
``PYTHONPATH`` (``--baseline-ref``, default: the commit before the cold-start work),
extracted with ``git archive`` into a temporary folder; both run in the same session,
interleaved, so machine load hits both alike.

Run::

    .venv/bin/python benchmarks/bench_cold_search.py [--size 100000] [--runs 7]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import benchlib
from benchlib import median, table

ROOT = Path(__file__).resolve().parents[1]
BASELINE_REF = "1f3c577"  # main before lazy imports and the cached optimised model


def extract(ref: str, into: Path) -> Path:
    """The package as it was at ``ref``, in ``into``; returns the folder to put on the path."""
    blob = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "clipdesk", "resources"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(into, filter="data")
    return into


def build_library(size: int) -> Path:
    """The ``size``-photo library in tiny-shapes' space; built once and kept."""
    os.environ["CLIPDESK_BENCH_DIR"] = str(benchlib.bench_dir() / "cold-tiny-shapes")
    import vectors_data as vd

    from clipdesk.core.encoder import load_encoder

    encoder = load_encoder("tiny-shapes", device="cpu", backend="onnx")
    return vd.ensure_library(size, encoder)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--baseline-ref", default=BASELINE_REF)
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()
    info = benchlib.print_conditions("cold search benchmark")
    with tempfile.TemporaryDirectory(prefix="clipdesk-bench-cold-") as tmp:
        base = Path(tmp)
        benchlib.use_bench_dirs(base)
        os.environ["CLIPDESK_CACHE_DIR"] = str(base / "cache")  # a new user's empty cache
        library = build_library(args.size)
        if args.build_only:
            return 0
        old = extract(args.baseline_ref, base / "baseline")
        command = [
            sys.executable, "-m", "clipdesk", "--library", str(library),
            "search", "a red star", "--json", "-n", "10",
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        ways = {
            f"baseline ({args.baseline_ref})": {**env, "PYTHONPATH": str(old)},
            "this code": {**env, "PYTHONPATH": str(ROOT)},
        }
        times: dict[str, list[float]] = {label: [] for label in ways}
        answers: dict[str, object] = {}
        for i in range(args.runs + 1):
            for label, way in ways.items():  # interleaved: load hits both alike
                start = time.perf_counter()
                out = subprocess.run(command, capture_output=True, text=True, env=way)
                elapsed = time.perf_counter() - start
                if out.returncode != 0:
                    raise SystemExit(f"{label}: {out.stderr}")
                answers[label] = [
                    (r["path"], round(r["score"], 5)) for r in json.loads(out.stdout)["results"]
                ]
                if i:  # the first run warms the file cache (and the optimised-model cache)
                    times[label].append(elapsed)
        first, *_ = answers.values()
        same = all(a == first for a in answers.values())
    base_median = median(next(iter(times.values())))
    rows = [
        [label, f"{median(t):.3f}", f"{min(t):.3f}", f"{max(t):.3f}",
         f"{base_median / median(t):.2f}x"]
        for label, t in times.items()
    ]  # fmt: skip
    print(f"cold `clipdesk search --json` at {args.size:,} photos, {args.runs} runs each")
    print(table(["code", "median s", "min s", "max s", "speed-up"], rows))
    print(f"same answers: {same}")
    benchlib.save_results(
        "cold_search", {"conditions": info, "size": args.size, "times": times, "same": same}
    )
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
