"""Regenerate the README screenshots with real results from the tiny-shapes model.

Writes a sample library of generated photos, indexes (and tags) it with tiny-shapes, then
runs ``clipdesk gui --screenshot`` under Xvfb for each picture. Everything happens in a
temporary folder; only the PNGs land here. Needs ``xvfb-run`` (Debian: ``apt-get install
xvfb``); without it, ``--offscreen`` renders with Qt's offscreen platform instead.

    .venv/bin/python docs/screenshots/make_screenshots.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODEL = "tiny-shapes"


def run(args: list[str], env: dict[str, str]) -> None:
    print("+", " ".join(args), flush=True)
    subprocess.run(args, env=env, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description="Regenerate docs/screenshots/*.png")
    parser.add_argument("--photos", type=int, default=120)
    parser.add_argument("--offscreen", action="store_true", help="no Xvfb: Qt offscreen")
    parser.add_argument("--no-tags", action="store_true", help="skip the tagging job")
    parser.add_argument("--work", type=Path, help="keep the sample library here (and reuse it)")
    args = parser.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="clipdesk-shots-"))
    env = dict(os.environ)
    for name in ("DATA", "CACHE", "CONFIG"):
        env[f"CLIPDESK_{name}_DIR"] = str(work / name.lower())
    python = sys.executable
    photos, library = work / "Pictures", work / "library"

    from clipdesk.training.shapes import write_sample_library

    fresh = not library.exists()
    records = write_sample_library(photos, args.photos, seed=5)
    clipdesk = [python, "-m", "clipdesk", "--library", str(library), "--model", MODEL]
    if fresh:
        run([*clipdesk, "index", str(photos)], env)
        if not args.no_tags:
            run([*clipdesk, "tags", "run"], env)

    if args.offscreen or not shutil.which("xvfb-run"):
        env["QT_QPA_PLATFORM"] = "offscreen"
        wrap: list[str] = []
    else:
        env.pop("QT_QPA_PLATFORM", None)
        wrap = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24"]
    look_alike = next(r for r in records if "star" in r.shapes)
    shots = {
        "main-window.png": ["--query", "a red circle"],
        "similar.png": ["--similar", str(look_alike.path)],
    }
    for name, query in shots.items():
        run([*wrap, *clipdesk, "gui", *query, "--screenshot", str(HERE / name)], env)
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
