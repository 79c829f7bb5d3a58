"""The training renderer: PIL polygons drawn supersampled, composited through masks.

Shapes are built as outlines (lists of points) so that every shape can be rotated,
stretched, filled or outlined the same way; a second, independent renderer
(``sdf_render``) exists only to test that the model did not learn this one's quirks.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from clipdesk.training.scene import BackgroundSpec, ObjectSpec, SceneSpec


def _outline(shape: str, rng: np.random.Generator | None = None) -> np.ndarray:
    """Unit-sized outline of ``shape`` centred on the origin, y pointing down, (n, 2)."""
    if shape == "circle":
        t = np.linspace(0, 2 * np.pi, 96, endpoint=False)
        return np.stack([np.cos(t), np.sin(t)], axis=1)
    if shape == "square":
        h = 0.82
        if rng is not None and rng.random() < 0.3:
            return _rounded_square(h, float(rng.uniform(0.05, 0.3)) * h)
        return np.array([[-h, -h], [h, -h], [h, h], [-h, h]])
    if shape == "triangle":
        t = np.radians([-90, 30, 150])
        pts = np.stack([np.cos(t), np.sin(t)], axis=1) * 1.1
        if rng is not None:  # not always equilateral
            pts = pts + rng.normal(0, 0.07, pts.shape)
        return pts + np.array([0.0, 0.15])  # centre the bounding box, not the centroid
    if shape == "star":
        inner = 0.45 if rng is None else float(rng.uniform(0.36, 0.52))
        t = np.radians(-90 + 36 * np.arange(10))
        r = np.where(np.arange(10) % 2 == 0, 1.05, 1.05 * inner)
        return np.stack([r * np.cos(t), r * np.sin(t)], axis=1) + np.array([0.0, 0.08])
    if shape == "heart":
        t = np.linspace(0, 2 * np.pi, 120, endpoint=False)
        x = 16 * np.sin(t) ** 3
        y = 13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t)
        pts = np.stack([x, -y], axis=1) / 16.5
        return pts - [0, 0.1]
    raise ValueError(f"unknown shape {shape!r}")


def _rounded_square(h: float, r: float) -> np.ndarray:
    corners = [(h - r, h - r), (-(h - r), h - r), (-(h - r), -(h - r)), (h - r, -(h - r))]
    pts = []
    for i, (cx, cy) in enumerate(corners):
        t = np.linspace(0, np.pi / 2, 8) + i * np.pi / 2
        pts.append(np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1))
    return np.concatenate(pts)


def _draw_lobed_heart(draw, obj: ObjectSpec, side: float, ox: float, oy: float) -> None:
    """A heart built from two discs and a triangle, as people draw it by hand."""
    lobes = np.array([[-0.47, -0.3], [0.47, -0.3]])
    tip = np.array([[-0.95, -0.12], [0.95, -0.12], [0.0, 1.0]])
    for cx, cy in _transform(lobes, obj, side, ox, oy):
        r = 0.52 * obj.radius * side
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
    draw.polygon([(float(x), float(y)) for x, y in _transform(tip, obj, side, ox, oy)], fill=255)


def _transform(pts: np.ndarray, obj: ObjectSpec, side: float, ox: float, oy: float) -> np.ndarray:
    theta = math.radians(obj.rotation)
    rot = np.array([[math.cos(theta), math.sin(theta)], [-math.sin(theta), math.cos(theta)]])
    stretched = pts * [math.sqrt(obj.aspect), 1 / math.sqrt(obj.aspect)]
    out = stretched @ rot.T * (obj.radius * side)
    return out + np.array([ox + obj.x * side, oy + obj.y * side])


def background_array(bg: BackgroundSpec, w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """Float32 (h, w, 3) background in 0..255."""
    c0 = np.array(bg.colours[0], dtype=np.float32)
    if bg.kind == "gradient" and len(bg.colours) > 1:
        c1 = np.array(bg.colours[1], dtype=np.float32)
        a = math.radians(bg.angle)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        proj = (xx - w / 2) * math.cos(a) + (yy - h / 2) * math.sin(a)
        t = (proj - proj.min()) / max(float(np.ptp(proj)), 1.0)
        return c0 * (1 - t[..., None]) + c1 * t[..., None]
    img = np.broadcast_to(c0, (h, w, 3)).astype(np.float32)
    if bg.kind == "noisy":
        amp = 255 * bg.noise
        coarse = rng.normal(0, 1, (max(2, h // 24), max(2, w // 24), 3)).astype(np.float32)
        blot = np.asarray(
            Image.fromarray(((coarse * 40) + 128).clip(0, 255).astype(np.uint8)).resize(
                (w, h), Image.Resampling.BICUBIC
            ),
            dtype=np.float32,
        )
        fine = rng.normal(0, 1, (h, w, 1)).astype(np.float32)
        img = img + (blot - 128) / 40 * amp * 0.6 + fine * amp * 0.4
    return img


def object_mask(obj: ObjectSpec, w: int, h: int, rng: np.random.Generator, ss: int) -> np.ndarray:
    """Anti-aliased coverage (h, w) float32 in 0..1 of one object, drawn at ``ss`` x size."""
    side = min(w, h)
    ox, oy = (w - side) / 2, (h - side) / 2
    pts = _transform(_outline(obj.shape, rng), obj, side * ss, ox * ss, oy * ss)
    mask = Image.new("L", (w * ss, h * ss), 0)
    draw = ImageDraw.Draw(mask)
    flat = [(float(x), float(y)) for x, y in pts]
    if obj.filled and obj.shape == "heart" and rng.random() < 0.35:
        _draw_lobed_heart(draw, obj, side * ss, ox * ss, oy * ss)
    elif obj.filled:
        draw.polygon(flat, fill=255)
    else:
        width = max(1, round(obj.line * obj.radius * side * ss))
        draw.line([*flat, flat[0], flat[1]], fill=255, width=width, joint="curve")
    if ss > 1:
        mask = mask.resize((w, h), Image.Resampling.BOX)
    return np.asarray(mask, dtype=np.float32) / 255.0


def render_scene(
    spec: SceneSpec,
    size: int | tuple[int, int] = 256,
    rng: np.random.Generator | None = None,
    *,
    shading: bool = True,
) -> Image.Image:
    """Draw ``spec`` on a canvas of ``size`` (side, or (width, height)) as a PIL RGB image."""
    rng = rng or np.random.default_rng(0)
    w, h = (size, size) if isinstance(size, int) else size
    ss = 4 if min(w, h) <= 160 else 2
    canvas = background_array(spec.background, w, h, rng)
    for obj in spec.objects:
        mask = object_mask(obj, w, h, rng, ss)
        colour = np.array(obj.rgb, dtype=np.float32)
        if shading and rng.random() < 0.6:
            _shadow(canvas, mask, rng, min(w, h))
        layer = np.broadcast_to(colour, canvas.shape)
        if shading and rng.random() < 0.4:  # soft light falling across the object
            a = rng.uniform(0, 2 * np.pi)
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
            proj = ((xx - w / 2) * math.cos(a) + (yy - h / 2) * math.sin(a)) / min(w, h)
            layer = colour * (1 + rng.uniform(0.1, 0.35) * proj[..., None])
        canvas = canvas * (1 - mask[..., None]) + layer * mask[..., None]
    return Image.fromarray(canvas.clip(0, 255).astype(np.uint8), "RGB")


def _shadow(canvas: np.ndarray, mask: np.ndarray, rng: np.random.Generator, side: int) -> None:
    """A soft drop shadow, as cut-out shapes on a table would cast."""
    dx, dy = (int(v) for v in rng.integers(1, max(2, side // 40) + 1, 2))
    shifted = np.zeros_like(mask)
    shifted[dy:, dx:] = mask[: mask.shape[0] - dy, : mask.shape[1] - dx]
    img = Image.fromarray((shifted * 255).astype(np.uint8))
    blur = np.asarray(img.filter(ImageFilter.GaussianBlur(side / 80)), dtype=np.float32) / 255
    canvas *= 1 - 0.35 * blur[..., None]
