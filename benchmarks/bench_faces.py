"""Faces: dlib's cost on 12-megapixel photos, and what looking for faces adds to ``index``.

Each photo is one of ``photos.py``'s generated 12-MP pictures with a real group photo
from dlib's examples (``2008_002506.jpg``, three faces) pasted in at 1600 px wide, so
every photo holds faces the detector can find. In one run:

- **faces alone**: ``FaceFinder.find`` on each photo as a decode worker sees it (JPEG
  draft-decoded to a short side of at least 768 px): photos/s and faces/s, one core;
- **index**: ``Library.index`` on the same photos twice, in fresh libraries, with
  ``faces=False`` and ``faces=True`` (text in photos off in both): the added wall and
  CPU time per photo.

Run::

    .venv/bin/python benchmarks/bench_faces.py            # 40 photos
    .venv/bin/python benchmarks/bench_faces.py --count 12
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import benchlib
from benchlib import CpuClock, bench_dir, ensure_random_model, use_bench_dirs
from photos import jpeg_bytes, photo
from PIL import Image

FACES = Path("/work/shared/data/faces-dlib/2008_002506.jpg")


def ensure_face_photos(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    group = Image.open(FACES).convert("RGB").resize((1600, 1200), Image.Resampling.LANCZOS)
    out = []
    for seed in range(count):
        path = folder / f"faces-{seed:04d}.jpg"
        if not path.exists():
            image = photo(seed)
            image.paste(group, (400 + 37 * seed % 1600, 300 + 53 * seed % 1400))
            path.write_bytes(jpeg_bytes(image, seed))
        out.append(path)
    return out


def faces_alone(paths: list[Path]) -> tuple[float, float, int]:
    from clipdesk.core.decode_task import FACE_DECODE_SIDE
    from clipdesk.core.faces.detect import face_finder
    from clipdesk.core.imageio import read_image

    finder = face_finder()
    found = 0
    seconds = 0.0
    for path in paths:
        image = read_image(path, target_size=FACE_DECODE_SIDE).image
        start = time.process_time()
        found += len(finder.find(image))
        seconds += time.process_time() - start
    return len(paths) / seconds, found / seconds, found


def index_once(photos: Path, work: Path, model: str, faces: bool) -> tuple[float, float, int]:
    from clipdesk.core.library import Library
    from clipdesk.core.progress import run_to_end

    lib_dir = work / f"lib-{faces}"
    shutil.rmtree(lib_dir, ignore_errors=True)
    with Library.open(lib_dir, model=model) as library, CpuClock() as clock:
        # Text in photos (OCR) off in both runs: only the faces' share is compared.
        report = run_to_end(library.index([photos], faces=faces, text=False))
    return clock.wall, clock.cpu, report.faces


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=40)
    args = parser.parse_args()
    benchlib.print_conditions("faces")
    photos = bench_dir() / "faces-12mp"
    paths = ensure_face_photos(photos, args.count)
    per_photo, per_face, found = faces_alone(paths)
    print(f"faces alone: {per_photo:.2f} photos/s, {per_face:.2f} faces/s per core ({found} faces)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        use_bench_dirs(work)
        model = ensure_random_model()
        warm = work / "warm"
        warm.mkdir()
        for path in paths[:2]:
            shutil.copy(path, warm / path.name)
        index_once(warm, work, model, True)  # one-time work (model export) is not counted
        rows = []
        for faces in (False, True):
            wall, cpu, count = index_once(photos, work, model, faces)
            rate, ms = f"{args.count / wall:.2f}", f"{1000 * cpu / args.count:.0f}"
            rows.append(["yes" if faces else "no (--no-faces)", rate, ms, count])
        print(benchlib.table(["faces", "photos/s", "CPU ms/photo", "faces found"], rows))


if __name__ == "__main__":
    main()
