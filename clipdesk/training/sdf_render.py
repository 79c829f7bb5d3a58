"""A second, independent renderer, used only to test the model: never seen in training.

Where the training renderer fills supersampled PIL polygons, this one evaluates signed
distance functions per pixel in numpy and anti-aliases with the distance itself. Its
geometry (star and heart profiles, rounded squares), its palette (plotting-library
colours), its backgrounds (radial light, checks, stripes) and its camera damage (numpy
homography, motion blur, sensor noise, uneven light) are all written separately, so a
model that only memorised the training pictures' quirks fails here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

# Colours as plotting libraries and design tools name them, not the training anchors.
SDF_PALETTE: dict[str, tuple[tuple[int, int, int], ...]] = {
    "red": ((214, 39, 40), (231, 76, 60), (192, 57, 43), (255, 59, 48)),
    "green": ((44, 160, 44), (39, 174, 96), (76, 175, 80), (0, 150, 70)),
    "blue": ((31, 119, 180), (41, 128, 185), (33, 150, 243), (0, 71, 171)),
    "yellow": ((255, 221, 0), (241, 196, 15), (255, 235, 59), (250, 230, 20)),
    "purple": ((148, 103, 189), (142, 68, 173), (156, 39, 176), (103, 58, 183)),
    "orange": ((255, 127, 14), (230, 126, 34), (255, 152, 0), (243, 112, 33)),
    "white": ((255, 255, 255), (250, 250, 250), (240, 240, 235)),
    "black": ((0, 0, 0), (33, 33, 33), (45, 45, 48)),
}


@dataclass(frozen=True)
class SdfObject:
    shape: str
    colour: str
    x: float  # centre in the central square, 0..1
    y: float
    radius: float  # fraction of the square's side
    rotation: float  # degrees
    outline: float = 0.0  # 0 for filled, else stroke width as a fraction of the radius


def _length(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.sqrt(x * x + y * y)


def sd_shape(shape: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Signed distance (negative inside) to a unit ``shape``; y points up."""
    if shape == "circle":
        return _length(x, y) - 1.0
    if shape == "square":
        b, r = 0.8, 0.12
        dx, dy = np.abs(x) - (b - r), np.abs(y) - (b - r)
        outside = _length(np.maximum(dx, 0), np.maximum(dy, 0))
        return outside + np.minimum(np.maximum(dx, dy), 0) - r
    if shape == "triangle":
        r, k = 1.0, math.sqrt(3.0)
        px, py = np.abs(x) - r, y + 0.25 + r / k
        flip = px + k * py > 0
        px, py = np.where(flip, (px - k * py) / 2, px), np.where(flip, (-k * px - py) / 2, py)
        px = px - np.clip(px, -2 * r, 0)
        return -_length(px, py) * np.sign(py)
    if shape == "star":
        return _sd_star(x, y + 0.1, 1.0, 0.42)
    if shape == "heart":
        return _sd_heart(x / 1.15, (y + 1.05) / 1.15) * 1.15
    raise ValueError(f"unknown shape {shape!r}")


def _sd_star(x: np.ndarray, y: np.ndarray, r: float, rf: float) -> np.ndarray:
    k1x, k1y = 0.809016994375, -0.587785252292
    k2x, k2y = -k1x, k1y
    px, py = np.abs(x), y
    d = np.maximum(k1x * px + k1y * py, 0) * 2
    px, py = px - d * k1x, py - d * k1y
    d = np.maximum(k2x * px + k2y * py, 0) * 2
    px, py = px - d * k2x, py - d * k2y
    px, py = np.abs(px), py - r
    bax, bay = rf * -k1y - 0.0, rf * k1x - 1.0
    h = np.clip((px * bax + py * bay) / (bax * bax + bay * bay), 0, r)
    return _length(px - bax * h, py - bay * h) * np.sign(py * bax - px * bay)


def _sd_heart(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    px, py = np.abs(x), y
    upper = np.sqrt((px - 0.25) ** 2 + (py - 0.75) ** 2) - math.sqrt(2) / 4
    m = 0.5 * np.maximum(px + py, 0)
    lower = np.sqrt(np.minimum(px**2 + (py - 1) ** 2, (px - m) ** 2 + (py - m) ** 2))
    return np.where(py + px > 1, upper, lower * np.sign(px - py))


def _background(kind: str, w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = rng.uniform(150, 250) + rng.normal(0, 8, 3)
    if kind == "radial":
        r = _length((xx - w * rng.uniform(0.2, 0.8)) / w, (yy - h * rng.uniform(0.2, 0.8)) / h)
        return base * (1.05 - 0.45 * np.clip(r, 0, 1))[..., None]
    if kind == "checks":
        cell = rng.uniform(0.04, 0.12) * min(w, h)
        on = ((xx // cell + yy // cell) % 2)[..., None]
        return base - on * rng.uniform(10, 30)
    if kind == "stripes":
        a = rng.uniform(0, math.pi)
        s = np.sin((xx * math.cos(a) + yy * math.sin(a)) / (min(w, h) * 0.03))
        return base + s[..., None] * rng.uniform(6, 20)
    if kind == "dark":
        return np.broadcast_to(rng.uniform(10, 60, 3), (h, w, 3)).astype(np.float32)
    return np.broadcast_to(base, (h, w, 3)).astype(np.float32)


def render_sdf(
    objects: list[SdfObject], size: tuple[int, int], rng: np.random.Generator, bg: str = "plain"
) -> Image.Image:
    """Draw ``objects`` on a (width, height) canvas with background kind ``bg``."""
    w, h = size
    side = min(w, h)
    canvas = _background(bg, w, h, rng).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    for o in objects:
        scale = o.radius * side
        cx, cy = (w - side) / 2 + o.x * side, (h - side) / 2 + o.y * side
        a = math.radians(o.rotation)
        u, v = (xx - cx) / scale, (cy - yy) / scale  # y up
        ru, rv = u * math.cos(a) + v * math.sin(a), -u * math.sin(a) + v * math.cos(a)
        d = sd_shape(o.shape, ru, rv) * scale  # in pixels
        if o.outline > 0:
            d = np.abs(d) - o.outline * scale / 2
        cover = np.clip(0.5 - d, 0, 1)[..., None]
        anchors = SDF_PALETTE[o.colour]
        colour = np.array(anchors[rng.integers(len(anchors))], np.float32)
        canvas = canvas * (1 - cover) + colour * cover
    return Image.fromarray(canvas.clip(0, 255).astype(np.uint8), "RGB")
