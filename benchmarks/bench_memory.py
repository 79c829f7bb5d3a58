"""Resident memory of a process that searches a library of 100k or 1M photos.

A new process opens the library (``vectors_data.ensure_library``), loads the default
model's architecture and answers one text query, reporting its resident set (VmRSS) after
each step and its peak (VmHWM), through ONNX Runtime (the CPU default once exported) and
through torch, side by side. Linux only (reads ``/proc/self/status``).

Run::

    .venv/bin/python benchmarks/bench_memory.py            # 100k and 1M
    .venv/bin/python benchmarks/bench_memory.py --quick    # 100k
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import benchlib
import vectors_data as vd
from benchlib import table, use_bench_dirs

CHILD = r"""
import json, sys
from pathlib import Path
def status(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
marks = {"python": status("VmRSS")}
from clipdesk.core.library import Library
marks["imports"] = status("VmRSS")
lib = Library.open(sys.argv[1])
enc = lib.encoder
marks["model"] = status("VmRSS")
vec = lib.vectors
marks["index"] = status("VmRSS")
assert lib.search("a dog on the beach", k=20).hits
marks["first query"] = status("VmRSS")
marks["peak"] = status("VmHWM")
marks["encoder"] = type(enc).__name__
print(json.dumps(marks))
"""

STEPS = ["python", "imports", "model", "index", "first query", "peak"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k only")
    parser.add_argument("--sizes", type=int, nargs="*")
    args = parser.parse_args()
    sizes = args.sizes or ([100_000] if args.quick else [100_000, 1_000_000])
    info = benchlib.print_conditions("memory benchmark")
    rows = []
    results: dict[str, object] = {"conditions": info}
    with tempfile.TemporaryDirectory() as tmp:
        use_bench_dirs(Path(tmp))
        model = benchlib.ensure_random_model()
        from clipdesk.core.encoder import load_encoder

        encoder = load_encoder(model, device="cpu", backend="onnx")  # exports once
        for size in sizes:
            lib = vd.ensure_library(size, encoder)
            for backend in ("auto", "torch"):
                env = dict(os.environ, CLIPDESK_MODEL=model, CLIPDESK_BACKEND=backend)
                out = subprocess.run(
                    [sys.executable, "-c", CHILD, str(lib)],
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=1800,
                )
                if out.returncode:
                    raise RuntimeError(out.stderr[-1500:])
                marks = json.loads(out.stdout)
                label = "ONNX Runtime" if backend == "auto" else "torch"
                rows.append([f"{size:,}", label, *(f"{marks[s]:.0f}" for s in STEPS)])
                results[f"{size}_{backend}"] = marks
                print("  " + " | ".join(rows[-1]), flush=True)
    print()
    print("resident memory in MiB after each step (a new process each time):")
    print(table(["photos", "backend", *STEPS], rows))
    benchlib.save_results("memory", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
