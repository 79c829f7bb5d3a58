"""Camera damage for the independent test renderer, written apart from ``augment``.

A numpy homography with bilinear sampling (a phone held at an angle), a motion-blur line
kernel (a shaking hand), a smooth multiplicative light field (a lamp to one side), sensor
noise that grows with brightness, and a low-quality JPEG round trip (a messaging app).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def _homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    rows = []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y, -u])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y, -v])
    _, _, vt = np.linalg.svd(np.array(rows, dtype=np.float64))
    return vt[-1].reshape(3, 3) / vt[-1, -1]


def tilt(arr: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Warp (h, w, 3) float by a random homography; outside pixels take the edge colour."""
    h, w, _ = arr.shape
    corners = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], dtype=np.float64)
    moved = corners + rng.uniform(-amount, amount, (4, 2)) * [w, h]
    inv = _homography(moved, corners)  # output pixel -> input pixel
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    pts = np.stack([xx.ravel(), yy.ravel(), np.ones(xx.size)])
    sx, sy, sz = inv @ pts
    sx, sy = np.clip(sx / sz, 0, w - 1), np.clip(sy / sz, 0, h - 1)
    x0, y0 = np.floor(sx).astype(int), np.floor(sy).astype(int)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (sx - x0)[:, None], (sy - y0)[:, None]
    top = arr[y0, x0] * (1 - fx) + arr[y0, x1] * fx
    bottom = arr[y1, x0] * (1 - fx) + arr[y1, x1] * fx
    return (top * (1 - fy) + bottom * fy).reshape(h, w, 3)


def motion_blur(arr: np.ndarray, rng: np.random.Generator, length: int) -> np.ndarray:
    """Average ``length`` shifted copies along a random direction."""
    if length < 2:
        return arr
    a = rng.uniform(0, np.pi)
    out = np.zeros_like(arr)
    for t in np.linspace(-0.5, 0.5, length):
        dx, dy = round(t * length * np.cos(a)), round(t * length * np.sin(a))
        out += np.roll(arr, (dy, dx), axis=(0, 1))
    return out / length


def uneven_light(arr: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    h, w, _ = arr.shape
    coarse = rng.uniform(1 - strength, 1 + strength / 2, (3, 3)).astype(np.float32)
    field = np.asarray(
        Image.fromarray(coarse, mode="F").resize((w, h), Image.Resampling.BICUBIC), np.float32
    )
    return arr * field[..., None]


def sensor_noise(arr: np.ndarray, rng: np.random.Generator, level: float) -> np.ndarray:
    return arr + rng.normal(0, 1, arr.shape) * level * np.sqrt(np.clip(arr, 1, 255) / 16)


def take_photo(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Every kind of damage at once, each at a random strength."""
    arr = np.asarray(img, dtype=np.float64)
    side = min(arr.shape[:2])
    arr = tilt(arr, rng, rng.uniform(0.02, 0.08))
    arr = uneven_light(arr, rng, rng.uniform(0.1, 0.35))
    arr = motion_blur(arr, rng, int(rng.integers(1, max(2, side // 60) + 1)))
    arr = sensor_noise(arr, rng, rng.uniform(0.5, 3.0))
    out = Image.fromarray(arr.clip(0, 255).astype(np.uint8), "RGB")
    buf = io.BytesIO()
    out.save(buf, "JPEG", quality=int(rng.integers(20, 60)))
    buf.seek(0)
    return Image.open(buf).convert("RGB")
