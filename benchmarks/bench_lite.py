"""Cold ``clipdesk search`` on the demo library: the lite runtime against the torch path.

A new Python process per search, timed whole, as a user waits for it (the file cache is
warm: each command runs once before it is timed). Three ways:

- ``torch``: ``CLIPDESK_BACKEND=torch``, what tiny-shapes did before it shipped as ONNX
  (no export existed until an index run made one, so a first search imported torch);
- ``onnx``: the default now, tiny-shapes' shipped ONNX towers, torch installed but unused;
- ``lite``: the same with torch, torchvision, open_clip and timm unimportable, as in a
  plain ``pip install .``.

Run::

    .venv/bin/python benchmarks/bench_lite.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import median, table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from lite_env import LiteRunner  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clipdesk-bench-lite-") as tmp:
        base = Path(tmp)
        lite = LiteRunner(base)
        demo = lite.run("demo", str(base / "demo"))
        if demo.returncode != 0:
            raise SystemExit(demo.stderr)
        library = str(base / "demo" / "library")
        command = [sys.executable, "-m", "clipdesk", "--library", library, "search", "a red star"]
        plain = {**lite.env, "PYTHONPATH": str(ROOT)}
        ways = {
            "torch (before)": {**plain, "CLIPDESK_BACKEND": "torch"},
            "onnx, torch installed": plain,
            "lite, no torch": lite.env,
        }
        rows = []
        for label, env in ways.items():
            times = []
            for i in range(args.runs + 1):
                start = time.perf_counter()
                out = subprocess.run(command, capture_output=True, text=True, env=env)
                elapsed = time.perf_counter() - start
                if out.returncode != 0:
                    raise SystemExit(f"{label}: {out.stderr}")
                if i:  # the first run warms the file cache
                    times.append(elapsed)
            rows.append([label, f"{median(times):.2f}", f"{min(times):.2f}", f"{max(times):.2f}"])
        assert not lite.refused(), lite.refused()
    print(f"cold `clipdesk search` on the demo library, {args.runs} runs, {os.cpu_count()} CPUs")
    print(table(["runtime", "median s", "min s", "max s"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
