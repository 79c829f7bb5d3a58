"""A sample photo library of generated pictures, with the truth about each one.

Used by ``clipdesk demo`` (so a new user sees search work with no download) and by tests
(which need real files on disk and need to know what is in them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clipdesk.training.augment import photograph
from clipdesk.training.captions import canonical_caption
from clipdesk.training.render import render_scene
from clipdesk.training.scene import SceneSpec, sample_scene

PHOTO_SIZES: tuple[tuple[int, int], ...] = (
    (640, 480),
    (480, 640),
    (800, 600),
    (600, 800),
    (512, 512),
    (720, 540),
    (427, 320),
    (320, 320),
)
FOLDERS: tuple[str, ...] = ("", "", "holiday", "holiday/beach", "2024", "misc/old")


@dataclass(frozen=True)
class SampleRecord:
    path: Path
    caption: str
    shapes: list[str]  # distinct shape names in the picture, sorted
    colours: list[str]  # distinct colour names of the objects, sorted
    background: str  # e.g. "plain white", "gradient", "noisy"
    objects: tuple[tuple[str, str], ...]  # (colour, shape) of every object
    size: tuple[int, int]  # (width, height)
    photographed: bool


def write_sample_library(
    directory: Path,
    count: int,
    seed: int = 0,
    *,
    formats: tuple[str, ...] = ("jpg", "png"),
    exclude_pairs: frozenset[tuple[str, str]] = frozenset(),
) -> list[SampleRecord]:
    """Write ``count`` photo-like pictures under ``directory`` (some in sub-folders).

    The same ``seed`` always gives the same files. ``exclude_pairs`` keeps chosen
    colour-shape pairs out (e.g. ``vocab.HELD_OUT_PAIRS``, which the model never saw).
    """
    directory = Path(directory)
    records = []
    for i in range(count):
        rng = np.random.default_rng([seed, 21, i])
        spec = sample_scene(rng, exclude_pairs=exclude_pairs)
        size = PHOTO_SIZES[rng.integers(len(PHOTO_SIZES))]
        img = render_scene(spec, size, rng)
        photographed = bool(rng.random() < 0.4)
        if photographed:
            img = photograph(img, rng, strength=0.8)
        ext = formats[rng.integers(len(formats))].lower()
        folder = directory / FOLDERS[rng.integers(len(FOLDERS))]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"IMG_{i:04d}.{ext}"
        if ext in ("jpg", "jpeg"):
            img.save(path, "JPEG", quality=90)
        else:
            img.save(path)
        records.append(_record(path, spec, size, photographed))
    return records


def _record(path: Path, spec: SceneSpec, size: tuple[int, int], photo: bool) -> SampleRecord:
    return SampleRecord(
        path=path,
        caption=canonical_caption(spec),
        shapes=spec.shapes,
        colours=spec.colours,
        background=spec.background.describe(),
        objects=tuple(spec.pairs),
        size=size,
        photographed=photo,
    )
