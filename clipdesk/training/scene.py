"""What a generated picture contains, independent of how it is drawn.

A ``SceneSpec`` is the ground truth: captions are written from it, renderers draw it, and
tests and the sample library read it back. Object positions live in a unit square that a
renderer maps onto the central square of its canvas, because CLIP preprocessing keeps only
the centre crop of a non-square picture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from clipdesk.training.vocab import (
    BACKGROUND_PALETTE,
    COLOURS,
    HELD_OUT_PAIRS,
    PALETTE,
    SHAPES,
)

BACKGROUND_KINDS: tuple[str, ...] = ("plain", "gradient", "noisy")
SMALL_MAX = 0.2  # object radius (fraction of the square side) at or below which it is "small"
LARGE_MIN = 0.27  # radius at or above which it is "large"


@dataclass(frozen=True)
class ObjectSpec:
    shape: str
    colour: str
    rgb: tuple[int, int, int]
    x: float  # centre, 0..1 across the central square
    y: float
    radius: float  # fraction of the central square's side
    rotation: float  # degrees, counter-clockwise
    filled: bool = True
    line: float = 0.15  # outline width as a fraction of the radius
    aspect: float = 1.0  # width / height stretch, for variety

    @property
    def size_word(self) -> str | None:
        if self.radius <= SMALL_MAX:
            return "small"
        if self.radius >= LARGE_MIN:
            return "large"
        return None


@dataclass(frozen=True)
class BackgroundSpec:
    kind: str  # one of BACKGROUND_KINDS
    colours: tuple[tuple[int, int, int], ...]  # one for plain, two for gradient, base for noisy
    name: str | None = None  # colour word a caption may use ("white"), for plain ones only
    angle: float = 0.0  # gradient direction, degrees
    noise: float = 0.0  # noise strength for noisy backgrounds (0..1)

    def describe(self) -> str:
        """Short human description, e.g. ``plain white`` or ``gradient``."""
        if self.kind == "plain" and self.name:
            return f"plain {self.name}"
        return self.kind


@dataclass(frozen=True)
class SceneSpec:
    objects: tuple[ObjectSpec, ...]
    background: BackgroundSpec
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def shapes(self) -> list[str]:
        return sorted({o.shape for o in self.objects})

    @property
    def colours(self) -> list[str]:
        return sorted({o.colour for o in self.objects})

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return [(o.colour, o.shape) for o in self.objects]


def sample_rgb(colour: str, rng: np.random.Generator, jitter: float = 14.0) -> tuple[int, int, int]:
    """A shade of ``colour``: one of its anchors, jittered, never crossing into a neighbour."""
    anchors = PALETTE[colour]
    base = np.array(anchors[rng.integers(len(anchors))], dtype=np.float64)
    if colour not in ("white", "black"):  # paints and screens vary in strength
        grey = base.mean()
        base = grey + (base - grey) * rng.uniform(0.8, 1.1)
        base = base * rng.uniform(0.88, 1.06)
    rgb = base + rng.normal(0.0, jitter, 3)
    return tuple(int(v) for v in np.clip(rgb, 0, 255))  # type: ignore[return-value]


def _distance(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    return float(np.linalg.norm(np.subtract(a, b, dtype=np.float64)))


def sample_background(
    rng: np.random.Generator, avoid: list[tuple[int, int, int]], kind: str | None = None
) -> BackgroundSpec:
    """A background whose colours all stay well away from every object colour."""
    for _ in range(200):
        k = kind or BACKGROUND_KINDS[rng.choice(3, p=[0.45, 0.3, 0.25])]
        if k == "plain" and rng.random() < 0.7:
            name = list(BACKGROUND_PALETTE)[rng.integers(len(BACKGROUND_PALETTE))]
            anchors = BACKGROUND_PALETTE[name]
            base = np.array(anchors[rng.integers(len(anchors))], dtype=np.float64)
            colours = (tuple(int(v) for v in np.clip(base + rng.normal(0, 6, 3), 0, 255)),)
        else:
            name = None
            n = 2 if k == "gradient" else 1
            colours = tuple(_random_bg_colour(rng) for _ in range(n))
        if all(_distance(c, a) > 110 for c in colours for a in avoid):
            return BackgroundSpec(
                kind=k,
                colours=colours,  # type: ignore[arg-type]
                name=name,
                angle=float(rng.uniform(0, 360)),
                noise=float(rng.uniform(0.05, 0.35)) if k == "noisy" else 0.0,
            )
    return BackgroundSpec(kind="plain", colours=((128, 128, 128),), name="gray")


def _random_bg_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    if rng.random() < 0.6:  # light, paper- or wall-like
        grey = rng.uniform(170, 255)
        tint = rng.normal(0, 12, 3)
        return tuple(int(v) for v in np.clip(grey + tint, 0, 255))  # type: ignore[return-value]
    if rng.random() < 0.5:  # dark
        return tuple(int(v) for v in rng.uniform(0, 70, 3))  # type: ignore[return-value]
    return tuple(int(v) for v in rng.uniform(0, 255, 3))  # type: ignore[return-value]


def _place(rng: np.random.Generator, radii: list[float]) -> list[tuple[float, float]] | None:
    """Non-overlapping centres for objects of the given radii, or None if they do not fit."""
    placed: list[tuple[float, float, float]] = []
    for r in radii:
        for _ in range(60):
            margin = r * 1.05
            x, y = rng.uniform(margin, 1 - margin, 2) if margin < 0.5 else (0.5, 0.5)
            if all(math.hypot(x - px, y - py) > (r + pr) * 1.1 for px, py, pr in placed):
                placed.append((float(x), float(y), r))
                break
        else:
            return None
    return [(x, y) for x, y, _ in placed]


def sample_scene(
    rng: np.random.Generator,
    *,
    n_objects: int | None = None,
    shapes: list[str] | None = None,
    colours: list[str] | None = None,
    exclude_pairs: frozenset[tuple[str, str]] | set = HELD_OUT_PAIRS,
    background: str | None = None,
) -> SceneSpec:
    """A random scene. ``shapes``/``colours`` fix the objects' attributes (one per object)."""
    if n_objects is None:
        n_objects = len(shapes or colours or []) or int(rng.choice([1, 2, 3], p=[0.55, 0.25, 0.2]))
    fixed = bool(shapes or colours)
    group = not fixed and n_objects > 1 and rng.random() < 0.35  # "two red circles"
    while True:
        pairs = []
        for i in range(n_objects):
            if group and i > 0:
                pairs.append(pairs[0])
                continue
            s = shapes[i] if shapes else SHAPES[rng.integers(len(SHAPES))]
            c = colours[i] if colours else COLOURS[rng.integers(len(COLOURS))]
            pairs.append((c, s))
        if (shapes and colours) or not any(p in exclude_pairs for p in pairs):
            break
    if n_objects == 1:
        radii = [float(rng.uniform(0.09, 0.45))]
    else:
        hi = 0.3 if n_objects == 2 else 0.22
        radii = [float(rng.uniform(0.1, hi)) for _ in pairs]
    centres = _place(rng, radii)
    while centres is None:
        radii = [r * 0.85 for r in radii]
        centres = _place(rng, radii)
    objects = []
    for (c, s), r, (x, y) in zip(pairs, radii, centres, strict=True):
        filled = rng.random() < 0.75
        objects.append(
            ObjectSpec(
                shape=s,
                colour=c,
                rgb=sample_rgb(c, rng),
                x=x,
                y=y,
                radius=r,
                rotation=_rotation(s, rng),
                filled=filled,
                line=float(rng.uniform(0.1, 0.25)),
                aspect=float(rng.uniform(0.88, 1.12)) if s != "circle" else 1.0,
            )
        )
    bg = sample_background(rng, [o.rgb for o in objects], kind=background)
    return SceneSpec(objects=tuple(objects), background=bg)


def shape_variant(
    spec: SceneSpec,
    member: int,
    family_rng: np.random.Generator,
    rng: np.random.Generator,
    exclude_pairs: frozenset[tuple[str, str]] = HELD_OUT_PAIRS,
) -> SceneSpec:
    """The same scene with other shapes: member ``m`` of a family gives each object the
    ``m``-th shape of a per-object order drawn by ``family_rng`` (identical for every member
    of the family), skipping excluded colour-shape pairs. Member 0 is ``spec`` itself."""
    if member == 0:
        return spec
    objects = []
    for o in spec.objects:
        order = [o.shape] + [s for s in family_rng.permutation(SHAPES) if s != o.shape]
        allowed = [s for s in order if (o.colour, s) not in exclude_pairs]
        shape = str(allowed[member % len(allowed)])
        objects.append(replace(o, shape=shape, rotation=_rotation(shape, rng)))
    return replace(spec, objects=tuple(objects))


def _rotation(shape: str, rng: np.random.Generator) -> float:
    if shape == "heart":  # hearts are mostly drawn upright
        return float(rng.normal(0, 20))
    if shape == "triangle" and rng.random() < 0.5:
        return float(rng.choice([0.0, 180.0]) + rng.normal(0, 8))
    if shape == "square" and rng.random() < 0.5:
        return float(rng.normal(0, 6))
    return float(rng.uniform(0, 360))


def scene_for(
    shape: str,
    colour: str,
    *,
    background: str = "white",
    radius: float = 0.3,
    x: float = 0.5,
    y: float = 0.5,
) -> SceneSpec:
    """One filled ``colour`` ``shape`` on a plain background: 'a red circle' on demand.

    The background falls back to gray, white or black when it would hide the shape.
    """
    rgb = PALETTE[colour][0]
    for name in (background, "gray", "white", "black"):
        bg_rgb = BACKGROUND_PALETTE[name][0]
        if _distance(bg_rgb, rgb) > 110:
            background = name
            break
    obj = ObjectSpec(
        shape=shape,
        colour=colour,
        rgb=rgb,
        x=x,
        y=y,
        radius=radius,
        rotation=0.0,
    )
    return SceneSpec(objects=(obj,), background=BackgroundSpec("plain", (bg_rgb,), background))
