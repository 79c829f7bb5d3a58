"""Realistic 12-megapixel JPEGs for the indexing benchmark, generated once and cached.

Decoding cost depends on what is in the file: flat synthetic pictures compress to almost
nothing and decode several times faster than photos. These have what a camera photo
has: smooth lighting gradients, objects with hard edges, mid-frequency texture (foliage,
fabric) and per-pixel sensor noise, saved at quality 92 with 4:2:0 chroma like a camera,
3-6 MB each, some with an EXIF orientation and a capture date.
"""

from __future__ import annotations

import io
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

WIDTH, HEIGHT = 4000, 3000


def photo(seed: int, width: int = WIDTH, height: int = HEIGHT) -> Image.Image:
    """One photo-like picture; the same seed always gives the same picture."""
    rng = np.random.default_rng(seed)
    # Lighting: a coarse random field, upscaled smoothly (sky, walls, vignetting).
    coarse = rng.uniform(30, 230, (6, 8, 3)).astype(np.uint8)
    base = Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(base)
    for _ in range(int(rng.integers(6, 16))):  # objects with hard edges
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        w, h = (
            int(rng.integers(width // 20, width // 3)),
            int(rng.integers(height // 20, height // 3)),
        )
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x0 + w, y0 + h), fill=colour)
        else:
            draw.rectangle((x0, y0, x0 + w, y0 + h), fill=colour)
    for _ in range(int(rng.integers(10, 40))):  # thin lines: branches, wires, text edges
        pts = [(int(rng.integers(0, width)), int(rng.integers(0, height))) for _ in range(2)]
        draw.line(
            pts, fill=tuple(int(c) for c in rng.integers(0, 256, 3)), width=int(rng.integers(2, 9))
        )
    base = base.filter(ImageFilter.GaussianBlur(1.2))  # a lens is never perfectly sharp
    arr = np.asarray(base, dtype=np.int16)
    # Texture: noise at a quarter of the resolution, upscaled (foliage, fabric, gravel).
    tex = rng.normal(0, 14, (height // 4, width // 4)).astype(np.float32)
    tex_img = Image.fromarray(np.clip(tex + 128, 0, 255).astype(np.uint8)).resize(
        (width, height), Image.Resampling.BILINEAR
    )
    texture = np.asarray(tex_img, dtype=np.int16)[..., None] - 128
    # Sensor noise, per pixel and per channel.
    noise = rng.integers(-9, 10, (height, width, 3), dtype=np.int16)
    out = np.clip(arr + texture + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(out)


def jpeg_bytes(image: Image.Image, seed: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = (1, 1, 1, 6, 8, 3)[seed % 6]  # orientation: mostly upright
    exif[0x0110] = "Bench Camera"
    exif.get_ifd(0x8769)[0x9003] = f"2023:{1 + seed % 12:02d}:{1 + seed % 28:02d} 12:00:00"
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=92, subsampling=2, exif=exif.tobytes())
    return buf.getvalue()


def _write(args: tuple[Path, int]) -> int:
    path, seed = args
    data = jpeg_bytes(photo(seed), seed)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return len(data)


def ensure_photos(directory: Path, count: int, *, workers: int = 2, first: int = 0) -> list[Path]:
    """``count`` photos in ``directory`` (made only where missing), the photos of seeds
    ``first`` on; their paths, sorted."""
    directory.mkdir(parents=True, exist_ok=True)
    seeds = range(first, first + count)
    paths = [directory / f"IMG_{i:04d}.jpg" for i in seeds]
    todo = [(p, i) for p, i in zip(paths, seeds, strict=True) if not p.exists()]
    if todo:
        started = time.perf_counter()
        print(f"generating {len(todo)} 12-MP photos in {directory} (once)...", file=sys.stderr)
        with ProcessPoolExecutor(workers) as pool:
            sizes = list(pool.map(_write, todo, chunksize=4))
        print(
            f"  done in {time.perf_counter() - started:.0f} s, "
            f"mean {np.mean(sizes) / 1e6:.1f} MB per file",
            file=sys.stderr,
        )
    return paths


if __name__ == "__main__":
    from benchlib import bench_dir

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    ensure_photos(bench_dir() / "photos-12mp", n)
