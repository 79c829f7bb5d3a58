"""The first ``clipdesk index`` with a newly imported model against the second library.

A user imports a model pack and indexes their photos: the first run used to spend
minutes embedding the tag vocabulary's prompts (456 tags x the prompt ensemble) that
every later library finds in the cache. A pack now ships those features. This times the
whole command, as a user waits for it: ``python -m clipdesk index DIR`` in a new process,

1. ``first``: the first library right after ``clipdesk models import PACK`` (empty cache);
2. ``second``: a second library over the same photos with the same model;
3. ``unshipped`` (unless ``--skip-unshipped``): a first library after importing the pack
   under another name with its ``label-features.npz`` removed, which is what a pack
   without shipped features costs (the tag pass embeds every prompt, and says so);

and prints ``first / second`` (target <= 1.5). The model is a random-initialised open_clip
model (``--arch``: a built-in architecture such as ViT-B-32, or ``tiny`` for the small test
config), exported to a pack first (timed apart: that is the pack maker's cost, once).
Photos are generated photo-like JPEGs (``benchmarks/photos.py``), ``--megapixels`` each.

Run::

    .venv/bin/python benchmarks/bench_first_index.py [--arch ViT-B-32] [--photos 80]
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import print_conditions, save_results, table
from photos import jpeg_bytes, photo

ROOT = Path(__file__).resolve().parents[1]


def make_photos(directory: Path, count: int, megapixels: float) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = width * 3 // 4
    for i in range(count):
        (directory / f"IMG_{i:04d}.jpg").write_bytes(jpeg_bytes(photo(i, width, height), i))


def clipdesk(env: dict[str, str], *argv: str) -> tuple[float, str]:
    """Run ``python -m clipdesk ARGV`` in a new process; (seconds, stderr)."""
    start = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "clipdesk", *argv],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(f"clipdesk {' '.join(argv)} failed:\n{run.stderr[-3000:]}")
    return seconds, run.stderr


def tag_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if "Tagged" in ln or "tag prompts" in ln]
    return " / ".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="ViT-B-32", help="open_clip architecture, or tiny")
    parser.add_argument("--photos", type=int, default=80)
    parser.add_argument("--megapixels", type=float, default=3.0)
    parser.add_argument("--skip-unshipped", action="store_true")
    args = parser.parse_args()
    info = print_conditions(f"first index with a new {args.arch} pack, {args.photos} photos")
    with tempfile.TemporaryDirectory(prefix="clipdesk-bench-first-") as tmp:
        base = Path(tmp)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "CLIPDESK_MODELS_DIR": str(base / "models"),
            "CLIPDESK_CACHE_DIR": str(base / "cache"),
            "CLIPDESK_DATA_DIR": str(base / "data"),
            "CLIPDESK_CONFIG_DIR": str(base / "config"),
        }
        env.pop("CLIPDESK_LIBRARY", None)
        env.pop("CLIPDESK_MODEL", None)

        os.environ["CLIPDESK_MODELS_DIR"] = str(base / "maker-models")
        os.environ["CLIPDESK_CACHE_DIR"] = str(base / "maker-cache")
        from clipdesk.core.models.pack import write_pack
        from clipdesk.core.models.registry import get_model
        from clipdesk.core.models.testing import save_random_model, tiny_model_config

        arch = tiny_model_config() if args.arch == "tiny" else args.arch
        logging.disable(logging.WARNING)  # "no pretrained weights": that is the point
        save_random_model(base / "maker-models" / "bench", arch, name="bench", seed=0)
        logging.disable(logging.NOTSET)
        pack = base / "bench.clipdesk-pack"
        start = time.perf_counter()
        write_pack(get_model("bench"), pack)
        pack_s = time.perf_counter() - start
        print(f"pack made in {pack_s:.1f} s ({pack.stat().st_size / 1e6:.1f} MB)")

        photos = base / "photos"
        make_photos(photos, args.photos, args.megapixels)

        import_s, _ = clipdesk(env, "models", "import", str(pack))
        rows = []
        results: dict[str, object] = {"conditions": info, "pack_s": pack_s, "import_s": import_s}
        for label, library in (("first", "lib1"), ("second", "lib2")):
            seconds, err = clipdesk(
                env, "--model", "bench", "--library", str(base / library), "index", str(photos)
            )
            rows.append([label, f"{seconds:.1f}", tag_line(err)])
            results[f"{label}_s"] = seconds
        if not args.skip_unshipped:
            clipdesk(env, "models", "import", str(pack), "--name", "bench-unshipped")
            (base / "models" / "bench-unshipped" / "onnx" / "label-features.npz").unlink()
            shutil.rmtree(base / "cache" / "tag-features", ignore_errors=True)
            seconds, err = clipdesk(
                env, "--model", "bench-unshipped", "--library", str(base / "lib3"), "index",
                str(photos),
            )  # fmt: skip
            rows.append(["unshipped", f"{seconds:.1f}", tag_line(err)])
            results["unshipped_s"] = seconds
    print(table(["run", "seconds", "tag pass"], rows))
    ratio = float(results["first_s"]) / float(results["second_s"])  # type: ignore[arg-type]
    results["ratio"] = ratio
    verdict = "meets" if ratio <= 1.5 else "misses"
    print(f"first / second = {ratio:.2f}x ({verdict} the 1.5x target); import {import_s:.1f} s")
    if "unshipped_s" in results:
        slow = float(results["unshipped_s"]) / float(results["second_s"])  # type: ignore[arg-type]
        print(f"without shipped features: {slow:.2f}x the second library")
    save_results("first_index", results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
