"""Pre-rendered training and test sets, generated in parallel and held in memory.

Every sample ``i`` of a set is drawn from its own generator seeded by ``(seed, i)``, so a set
is identical whatever the number of worker processes or the chunking.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from PIL import Image

from clipdesk.core.lifeline import Lifeline, die_with_parent
from clipdesk.training.augment import photograph
from clipdesk.training.render import render_scene
from clipdesk.training.scene import SceneSpec, sample_scene, shape_variant
from clipdesk.training.vocab import HELD_OUT_PAIRS

# Training pictures are drawn at one of these sides, then resized like at inference. Photos
# are drawn far larger than the model's input: a model that saw only 96-px drawings named
# the same scenes drawn at 640 x 480 much worse (oracle top-k 0.81 against 0.93).
RENDER_SIZES = (96, 160, 256, 400)
FAMILY = 4  # training scenes come in families of this many shape variants


@dataclass
class ShapeSet:
    images: np.ndarray  # (n, size, size, 3) uint8, already at the model's input size
    specs: list[SceneSpec]

    def __len__(self) -> int:
        return len(self.specs)


def to_model_input(img: Image.Image, size: int) -> np.ndarray:
    """Resize shortest side to ``size`` (bicubic) and centre-crop, like open_clip does."""
    w, h = img.size
    scale = size / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    img = img.resize((nw, nh), Image.Resampling.BICUBIC)
    left, top = (nw - size) // 2, (nh - size) // 2
    return np.asarray(img.crop((left, top, left + size, top + size)), dtype=np.uint8)


def training_sample(seed: int, index: int, size: int) -> tuple[np.ndarray, SceneSpec]:
    """One training picture: any seen colour-shape pairs, photographed 60% of the time.

    Consecutive runs of ``FAMILY`` indices share one scene (layout, colours, sizes,
    background) and differ only in the shapes (see ``shape_variant``): counterfactual
    pictures that make shape, not layout, what tells captions of a scene apart.
    """
    family, member = divmod(index, FAMILY)
    base = sample_scene(np.random.default_rng([seed, family]), exclude_pairs=HELD_OUT_PAIRS)
    rng = np.random.default_rng([seed, family, member])
    spec = shape_variant(base, member, np.random.default_rng([seed, family, FAMILY]), rng)
    img = render_scene(spec, RENDER_SIZES[rng.integers(len(RENDER_SIZES))], rng)
    if rng.random() < 0.6:
        img = photograph(img, rng, strength=float(rng.uniform(0.5, 1.2)))
    return to_model_input(img, size), spec


def _chunk(args: tuple[Callable, int, int, int, int]) -> tuple[np.ndarray, list[SceneSpec]]:
    fn, seed, start, stop, size = args
    pairs = [fn(seed, i, size) for i in range(start, stop)]
    return np.stack([p[0] for p in pairs]), [p[1] for p in pairs]


def generate(
    fn: Callable[[int, int, int], tuple[np.ndarray, SceneSpec]],
    count: int,
    seed: int,
    size: int,
    workers: int = 2,
    chunk: int = 250,
) -> ShapeSet:
    """Run the top-level sample function ``fn(seed, index, size)`` for ``count`` indices."""
    jobs = [(fn, seed, s, min(s + chunk, count), size) for s in range(0, count, chunk)]
    if workers <= 1:
        parts = [_chunk(j) for j in jobs]
    else:
        with (
            Lifeline() as lifeline,
            ProcessPoolExecutor(
                workers, initializer=die_with_parent, initargs=(lifeline.link(),)
            ) as pool,
        ):
            parts = list(pool.map(_chunk, jobs))
    return ShapeSet(
        images=np.concatenate([p[0] for p in parts]),
        specs=[s for p in parts for s in p[1]],
    )
