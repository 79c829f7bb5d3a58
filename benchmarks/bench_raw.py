"""RAW photos per second: the embedded preview against developing the sensor data.

Generated 12-megapixel DNGs (4000 x 3000 RGGB sensor data with camera-like noise, 12-bit,
written with ``tifffile`` as cameras and converters lay them out; see
``tests/raw_samples.py``) are kept under the benchmark folder: half with a full-size
JPEG preview, half without. In one run, each read as a decode worker reads it:

- **full develop (baseline)**: LibRaw demosaics the whole sensor (``postprocess``), what
  a tool that ignores the preview does;
- **half-size develop**: clipdesk's path for a RAW without a usable preview;
- **embedded preview**: clipdesk's path when the camera stored one (the common case);
- **clipdesk index**: ``Library.index`` end to end over the previewed DNGs with the
  small demo model, so the whole command shows (faces and text off: their cost is the
  same for any photo and is measured by their own benchmarks).

Run::

    .venv/bin/python benchmarks/bench_raw.py           # 12 files of each kind
    .venv/bin/python benchmarks/bench_raw.py --count 4
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import tempfile
from pathlib import Path

import benchlib
from benchlib import CpuClock, bench_dir, table, use_bench_dirs

sys.path.insert(0, str(benchlib.ROOT / "tests"))

WIDTH, HEIGHT = 4000, 3000


def make_dngs(folder: Path, count: int) -> tuple[list[Path], list[Path]]:
    """``count`` DNGs with a full-size preview and ``count`` without, written once."""
    import numpy as np
    from PIL import Image
    from raw_samples import write_dng

    from clipdesk.training.shapes import render_scene, scene_for

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    shapes = [("circle", "red"), ("square", "blue"), ("star", "green"), ("heart", "yellow")]
    with_preview, without = [], []
    for i in range(count):
        a, b = folder / f"preview-{i:03d}.dng", folder / f"bare-{i:03d}.dng"
        if not (a.exists() and b.exists()):
            shape, colour = shapes[i % len(shapes)]
            square = render_scene(scene_for(shape, colour), HEIGHT, rng, shading=True)
            canvas = Image.new("RGB", (WIDTH, HEIGHT), (120, 110, 100))
            canvas.paste(square, ((WIDTH - HEIGHT) // 2, 0))
            noisy = np.asarray(canvas, dtype=np.int16) + rng.integers(-10, 11, (HEIGHT, WIDTH, 3))
            picture = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
            write_dng(a, picture, picture)
            write_dng(b, picture)
        with_preview.append(a)
        without.append(b)
    return with_preview, without


def full_develop(paths: list[Path]) -> int:
    import rawpy

    for path in paths:
        with rawpy.imread(str(path)) as raw:
            raw.postprocess(use_camera_wb=True, output_bps=8)
    return len(paths)


def clipdesk_read(paths: list[Path]) -> tuple[int, set[str]]:
    from clipdesk.core.imageio import read_file_bytes, read_image

    formats = set()
    for path in paths:
        decoded = read_image(read_file_bytes(path), target_size=256, raw=True)
        formats.add(decoded.format)
    return len(paths), formats


def index_whole(paths: list[Path], work: Path) -> int:
    from clipdesk.core.library import Library
    from clipdesk.core.progress import run_to_end

    folder = work / "photos"
    folder.mkdir()
    for path in paths:
        shutil.copy(path, folder / path.name)
    with Library.open(work / "lib", model="tiny-shapes") as library:
        report = run_to_end(library.index([folder], faces=False, text=False))
    return report.decoded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=12, help="DNGs of each kind")
    args = parser.parse_args()
    info = benchlib.print_conditions("RAW decoding")
    work = Path(tempfile.mkdtemp(prefix="bench-raw-"))
    use_bench_dirs(work)
    previewed, bare = make_dngs(bench_dir() / "raw-12mp", args.count)
    size = sum(p.stat().st_size for p in previewed) / len(previewed) / 1e6
    print(f"  {len(previewed)} + {len(bare)} DNGs of 12 MP ({size:.0f} MB each with preview)")
    for path in previewed + bare:  # into the page cache, for every row alike
        io.BytesIO(path.read_bytes())
    rows, data = [], {"conditions": info, "count": args.count}
    runs = [
        ("full develop, LibRaw postprocess (baseline)", lambda: full_develop(bare)),
        ("clipdesk, no preview: half-size develop", lambda: clipdesk_read(bare)),
        ("clipdesk, embedded preview", lambda: clipdesk_read(previewed)),
        ("clipdesk index end to end, previews (demo model)", lambda: index_whole(previewed, work)),
    ]
    baseline = None
    for name, run in runs:
        with CpuClock() as clock:
            result = run()
        count = result[0] if isinstance(result, tuple) else result
        rate = count / clock.wall
        baseline = baseline or rate
        note = f" ({', '.join(sorted(result[1]))})" if isinstance(result, tuple) else ""
        rows.append(
            [
                name + note,
                f"{rate:.2f}",
                f"{clock.cpu * 1000 / count:.0f}",
                f"{rate / baseline:.1f}x",
            ]
        )
        data[name] = {"count": count, "wall_s": clock.wall, "cpu_s": clock.cpu}
        print(f"  {name}: {count} in {clock.wall:.1f} s wall, {clock.cpu:.1f} s CPU{note}")
    print(table(["path", "photos/s", "CPU ms/photo", "vs full develop"], rows))
    benchlib.save_results("raw", data)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
