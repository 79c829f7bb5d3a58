"""Make a clean drawing look like a photo of one: tilt, light, blur, noise, JPEG.

Used in training so the model reads shapes through the damage a camera and a photo library
do to them, and in evaluation to build the "photographed" variants of the test sets.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter


def _perspective_coeffs(src: np.ndarray, dst: np.ndarray) -> list[float]:
    """Coefficients PIL needs to map output corners ``dst`` back to input corners ``src``."""
    rows = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    a = np.array(rows, dtype=np.float64)
    b = src.reshape(8)
    return [float(v) for v in np.linalg.solve(a, b)]


def perspective(img: Image.Image, rng: np.random.Generator, amount: float = 0.08) -> Image.Image:
    """Look at the picture slightly from the side: each corner moves by up to ``amount``."""
    w, h = img.size
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
    dst = src + rng.uniform(-amount, amount, (4, 2)) * [w, h]
    fill = img.getpixel((0, 0))
    coeffs = _perspective_coeffs(src, dst)
    return img.transform(
        (w, h), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR, fillcolor=fill
    )


def jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=int(quality))
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def lighting(arr: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """Exposure, contrast, white balance and vignetting, on float (h, w, 3) 0..255."""
    h, w, _ = arr.shape
    gain = 1 + rng.normal(0, 0.1 * strength)
    balance = 1 + rng.normal(0, 0.04 * strength, 3)
    mean = arr.mean()
    contrast = 1 + rng.normal(0, 0.12 * strength)
    out = (arr - mean) * contrast + mean
    out = out * gain * balance
    if rng.random() < 0.4:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        r2 = ((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2
        out = out * (1 - rng.uniform(0.1, 0.5) * strength * r2)[..., None]
    return out


def photograph(img: Image.Image, rng: np.random.Generator, strength: float = 1.0) -> Image.Image:
    """A random mix of camera and storage damage; ``strength`` scales every effect."""
    scale = min(img.size) / 128
    if rng.random() < 0.35 * strength:
        img = perspective(img, rng, 0.07 * strength)
    arr = np.asarray(img, dtype=np.float32)
    if rng.random() < 0.6:
        arr = lighting(arr, rng, strength)
    if rng.random() < 0.35:
        arr = arr + rng.normal(0, rng.uniform(2, 12) * strength, arr.shape)
    img = Image.fromarray(arr.clip(0, 255).astype(np.uint8), "RGB")
    if rng.random() < 0.35:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.4) * scale * strength))
    if rng.random() < 0.45:
        img = jpeg(img, int(rng.uniform(95 - 70 * strength, 95)))
    return img
