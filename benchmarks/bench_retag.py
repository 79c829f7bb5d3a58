"""Tagging the library again as it grows: the refinement of every tag, this code against a
baseline.

After photos come, change or go, clipdesk tags the whole library again (the watcher, the
window, ``clipdesk index`` and ``search --update`` after its answer): thresholds are read
from the whole library, and each tag's zero-shot decision is then refined on the
library's photos (``core/tags/refine.py``). That refinement costs photos x tags x
iterations, and on real libraries it takes all its iterations: on the 40-photo ViT-B-32
library of ``bench_rclip.py`` every chunk ran 100 of 100, and it was 0.78 s of that
library's 1.8 s re-tag (456 tags).

The photos here are synthetic vectors clustered like a photo library (``vectors_data``).
Each of the 456 tags gets a zero-shot confidence that is a logistic model of them (on a
minority of the photos), and a prior that is the same model disturbed, as a calibrated
caption is only roughly where the photos that show it lie. The refinement then runs as
long as it does on real photos. Timed: ``Refiner(images)`` and the ``refine`` calls in
the chunks ``run_tagging`` makes (its ``CHUNK``), in a new process for each package,
``--baseline-ref`` extracted with ``git archive``, interleaved. Also printed: how many
(photo, tag) decisions the two packages make differently.

Run::

    .venv/bin/python benchmarks/bench_retag.py [--photos 1000 5000 20000] [--baseline-ref REF]
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

import numpy as np
from bench_cold_search import extract
from benchlib import print_conditions, save_results, table

ROOT = Path(__file__).resolve().parents[1]
BASELINE_REF = "b2b1c74"  # before float32 products and chunks of 64 tags
TAGS = 456  # the default vocabulary's size


def simulated(photos: int, tags: int) -> tuple[np.ndarray, np.ndarray, list]:
    """(images, confidences, priors) of a library of ``photos`` and ``tags`` tags."""
    import vectors_data

    images = vectors_data.vectors(0, photos)
    rng = np.random.default_rng(3)
    truth = rng.standard_normal((images.shape[1], tags))
    centred = images - images.mean(axis=0)
    raw = centred @ truth
    spread = raw.std(axis=0)
    confidences = 1.0 / (1.0 + np.exp(-(raw / spread * 4.0 - 3.0)))
    noise = rng.standard_normal(truth.shape) * np.abs(truth).mean()
    weights = (truth + 0.5 * noise) / spread * 4.0
    priors = [(weights[:, j], -3.0) for j in range(tags)]
    return images, confidences, priors


def worker(photos: int, tags: int, out: Path) -> None:
    """Time the refinement with the package on ``PYTHONPATH``; decisions saved to ``out``."""
    # benchlib puts this checkout first on the path; the package to time is PYTHONPATH's.
    assert "clipdesk" not in sys.modules
    sys.path[:] = [p for p in sys.path if Path(p).resolve() != ROOT]
    from clipdesk.core.tags import job
    from clipdesk.core.tags.refine import Refiner

    chunk_size = job.CHUNK

    images, confidences, priors = simulated(photos, tags)
    start = time.perf_counter()
    refiner = Refiner(images)
    prepared = time.perf_counter() - start
    decisions = []
    start = time.perf_counter()
    for first in range(0, tags, chunk_size):
        chunk = slice(first, first + chunk_size)
        refined = refiner.refine(confidences[:, chunk], priors[chunk])
        decisions.append(refined.probabilities(images) > 0.5)
    refined_s = time.perf_counter() - start
    np.save(out, np.concatenate(decisions, axis=1))
    timed = {
        "prepare_s": prepared,
        "refine_s": refined_s,
        "chunk": chunk_size,
        "code": job.__file__,
    }
    print(json.dumps(timed))


def run_worker(package: Path, photos: int, tags: int, out: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(package), str(ROOT / "benchmarks")])}
    argv = [
        sys.executable,
        __file__,
        "--worker",
        str(photos),
        "--tags",
        str(tags),
        "--out",
        str(out),
    ]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, nargs="+", default=[1000, 5000, 20000])
    parser.add_argument("--tags", type=int, default=TAGS)
    parser.add_argument("--baseline-ref", default=BASELINE_REF)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.tags, args.out)
        return 0
    info = print_conditions(f"refining {args.tags} tags, this code against {args.baseline_ref}")
    rows, results = [], {"conditions": info, "sizes": {}}
    with tempfile.TemporaryDirectory(prefix="clipdesk-bench-retag-") as tmp:
        base = Path(tmp)
        packages = {args.baseline_ref: extract(args.baseline_ref, base / "baseline"), "this": ROOT}
        for photos in args.photos:
            timings = {}
            for name, package in packages.items():
                timings[name] = run_worker(package, photos, args.tags, base / f"{name}.npy")
            old, new = (np.load(base / f"{name}.npy") for name in packages)
            differ = int((old != new).sum())
            was, now = timings[args.baseline_ref], timings["this"]
            assert was["code"] != now["code"], "both runs timed the same package"
            results["sizes"][photos] = {**timings, "decisions_differing": differ}  # type: ignore[index]
            rows.append([
                photos, f"{was['refine_s']:.2f}", f"{now['refine_s']:.2f}",
                f"{was['refine_s'] / now['refine_s']:.2f}x",
                f"{was['prepare_s']:.2f} / {now['prepare_s']:.2f}",
                f"{differ} of {old.size:,}",
            ])  # fmt: skip
            print(f"{photos} photos: {was['refine_s']:.2f} -> {now['refine_s']:.2f} s", flush=True)
    headers = ["photos", "baseline s", "this s", "speed-up", "prepare s", "decisions differing"]
    print(table(headers, rows))
    print(f"refining {args.tags} tags in chunks of the job's CHUNK; prepare: Refiner(images)")
    save_results("retag", results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
