"""Memory per photo of an opened vector index, this code against a baseline, with recall.

A new process opens a saved 512-d index of clustered synthetic vectors
(``vectors_data.ensure_index``, built once by each code in its own folder, as their saved
formats differ) and reports its memory before opening, after opening,
after 50 unfiltered searches and after 50 filtered ones (a folder-sized allowed set, 5%,
answered by the exact scan; and a large one, 30%, exact up to 50k allowed, by the graph
beyond): VmRSS, and its
two parts, RssAnon (the process's own memory) and RssFile (pages of mapped files, which
the system shares and can drop). Then, outside the measured part, recall@10 against
brute force, whether the 5% filtered answers are exactly brute force's, and the median
time of the unfiltered searches and of the 30% filtered ones.

The baseline is the same child run with an older checkout of the package on
``PYTHONPATH`` (``--baseline-ref``; default: the last hnswlib graph), over an index that
checkout built; sizes above ``--baseline-max`` are measured without it (a 1M hnswlib
build takes most of an hour on two cores).

Run::

    .venv/bin/python benchmarks/bench_index_memory.py [--sizes 100000 200000]
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
from bench_cold_search import extract
from benchlib import table

BASELINE_REF = "d12a827"  # the last hnswlib graph (float32 vectors), dense copy mapped

BUILD = r"""
import sys
sys.path.insert(0, sys.argv[2])
import vectors_data as vd
sys.path.insert(0, sys.argv[3])  # the code that builds goes before it
vd.ensure_index(int(sys.argv[1]))
"""

CHILD = r"""
import json, sys, time
from pathlib import Path
import numpy as np
assert "clipdesk" not in sys.modules
sys.path.insert(0, sys.argv[3])
import vectors_data as vd  # puts the benchmarks' own checkout first on the path
sys.path.insert(0, sys.argv[4])  # the code measured goes before it
from clipdesk.core.vectors import VectorIndex

def mem():
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0]) * 1024
    return out

size = int(sys.argv[2])
queries = vd.queries(50)
rng = np.random.default_rng(7)
small = np.sort(rng.choice(np.arange(1, size + 1), size // 20, replace=False))
large = np.sort(rng.choice(np.arange(1, size + 1), size * 3 // 10, replace=False))
marks = {"before": mem()}
index = VectorIndex.open(Path(sys.argv[1]), vd.DIM)
assert not index.problem and len(index) == size, index.problem
assert Path(sys.modules["clipdesk"].__file__).parents[1] == Path(sys.argv[4])
marks["opened"] = mem()
found, took = [], []
for q in queries:
    t = time.perf_counter()
    found.append([lab for lab, _ in index.query(q, 10)])
    took.append(time.perf_counter() - t)
marks["searched"] = mem()
small_hits = [[lab for lab, _ in index.query(q, 10, allowed=small)] for q in queries]
large_took = []
for q in queries:
    t = time.perf_counter()
    index.query(q, 10, allowed=large)
    large_took.append(time.perf_counter() - t)
marks["filtered"] = mem()
# Not measured from here: brute force over the same vectors.
scores = np.concatenate(
    [vd.vectors(s, min(vd.CHUNK, size - s)) @ queries.T for s in range(0, size, vd.CHUNK)]
)
truth = np.argsort(-scores, axis=0, kind="stable")[:10].T + 1
recall = np.mean([len(set(f) & set(t.tolist())) / 10 for f, t in zip(found, truth)])
sub = scores[small - 1]
small_truth = small[np.argsort(-sub, axis=0, kind="stable")[:10].T]
exact = all(h == t.tolist() for h, t in zip(small_hits, small_truth))
print(json.dumps({"marks": marks, "recall": recall, "filtered_exact": bool(exact),
                  "p50_ms": 1000 * float(np.median(took)),
                  "p50_30_ms": 1000 * float(np.median(large_took))}))
"""


def disk_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir() if p.suffix in (".bin", ".usearch", ".npy"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000])
    parser.add_argument("--baseline-ref", default=BASELINE_REF)
    parser.add_argument("--baseline-max", type=int, default=200_000)
    args = parser.parse_args()
    info = benchlib.print_conditions("index memory benchmark")
    rows, results = [], {"conditions": info}
    here = str(Path(__file__).resolve().parent)
    with tempfile.TemporaryDirectory(prefix="clipdesk-bench-mem-") as tmp:
        old = extract(args.baseline_ref, Path(tmp) / "baseline")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        for size in args.sizes:
            vd.ensure_index(size)
            runs = [("this code", benchlib.ROOT, vd.index_path(size))]
            if size <= args.baseline_max:
                base_dir = benchlib.bench_dir() / f"baseline-{args.baseline_ref}"
                subprocess.run(
                    [sys.executable, "-c", BUILD, str(size), here, str(old)], check=True,
                    env={**env, "PYTHONPATH": str(old), "CLIPDESK_BENCH_DIR": str(base_dir)},
                )  # fmt: skip
                path = base_dir / "indexes" / str(size)
                runs.insert(0, (f"baseline ({args.baseline_ref})", old, path))
            for label, root, path in runs:
                out = subprocess.run(
                    [sys.executable, "-c", CHILD, str(path), str(size), here, str(root)],
                    capture_output=True, text=True, env={**env, "PYTHONPATH": str(root)},
                )  # fmt: skip
                if out.returncode:
                    raise SystemExit(f"{label}: {out.stderr[-1500:]}")
                got = json.loads(out.stdout)
                m, base = got["marks"], got["marks"]["before"]

                def per(step: str, key: str, m=m, base=base, size=size) -> str:
                    return f"{(m[step][key] - base[key]) / size / 1024:.2f}"

                rows.append(
                    [f"{size:,}", label, per("searched", "VmRSS"), per("searched", "RssAnon"),
                     per("filtered", "VmRSS"), per("filtered", "RssAnon"),
                     f"{disk_bytes(path) / size / 1024:.2f}", f"{got['recall']:.4f}",
                     str(got["filtered_exact"]), f"{got['p50_ms']:.2f}",
                     f"{got['p50_30_ms']:.2f}"]
                )  # fmt: skip
                results[f"{size} {label}"] = got
                print("  " + " | ".join(rows[-1]), flush=True)
    print("\nKiB per photo of an opened 512-d index (a new process each time):")
    headers = [
        "photos", "code", "RSS searched", "anon searched", "RSS +filtered",
        "anon +filtered", "disk", "recall@10", "5% filter exact", "p50 ms", "30% p50 ms",
    ]  # fmt: skip
    print(table(headers, rows))
    benchlib.save_results("index_memory", results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
