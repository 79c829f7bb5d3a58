"""Held-out evaluation: zero-shot shape and colour accuracy, retrieval, compositions.

Test pictures are rendered at photo-like sizes and reduced exactly as at inference
(shortest side resized, centre crop). Four sets, all with seeds the training never uses:

- ``heldout``: single objects of all 40 colour-shape pairs, half of them photographed;
- ``compositional``: only the pairs training never saw (``HELD_OUT_PAIRS``);
- ``retrieval``: scenes of one to three objects, queried by their captions;
- ``other_renderer``: single objects drawn by ``sdf_render``, half "photographed" by
  ``sdf_camera``, neither of which training ever used.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from clipdesk.training.augment import photograph
from clipdesk.training.captions import article, describe_objects
from clipdesk.training.data import ShapeSet, generate, to_model_input
from clipdesk.training.render import render_scene
from clipdesk.training.scene import SceneSpec, sample_scene
from clipdesk.training.vocab import COLOURS, HELD_OUT_PAIRS, SHAPES

EVAL_SEED = 1_000_003  # never a training seed
CANVASES = ((320, 240), (240, 320), (256, 256), (400, 300), (288, 288))
PAIR_TEMPLATES = (
    lambda c: f"{article(c)} {c}.",
    lambda c: f"a photo of {article(c)} {c}.",
    lambda c: f"a drawing of {article(c)} {c}.",
    lambda c: f"a picture of {article(c)} {c}.",
)


def _canvas(rng: np.random.Generator) -> tuple[int, int]:
    return CANVASES[rng.integers(len(CANVASES))]


def _single(rng: np.random.Generator, pairs: list[tuple[str, str]], size: int) -> tuple:
    colour, shape = pairs[rng.integers(len(pairs))]
    spec = sample_scene(rng, shapes=[shape], colours=[colour])
    img = render_scene(spec, _canvas(rng), rng)
    if rng.random() < 0.5:
        img = photograph(img, rng)
    return to_model_input(img, size), spec


def heldout_sample(seed: int, index: int, size: int) -> tuple[np.ndarray, SceneSpec]:
    rng = np.random.default_rng([seed, 11, index])
    return _single(rng, [(c, s) for c in COLOURS for s in SHAPES], size)


def compositional_sample(seed: int, index: int, size: int) -> tuple[np.ndarray, SceneSpec]:
    rng = np.random.default_rng([seed, 12, index])
    return _single(rng, sorted(HELD_OUT_PAIRS), size)


def retrieval_sample(seed: int, index: int, size: int) -> tuple[np.ndarray, SceneSpec]:
    rng = np.random.default_rng([seed, 13, index])
    spec = sample_scene(rng, exclude_pairs=frozenset())
    img = render_scene(spec, _canvas(rng), rng)
    if rng.random() < 0.5:
        img = photograph(img, rng)
    return to_model_input(img, size), spec


def other_renderer_sample(seed: int, index: int, size: int) -> tuple[np.ndarray, SceneSpec]:
    from clipdesk.training.scene import BackgroundSpec, ObjectSpec
    from clipdesk.training.sdf_camera import take_photo
    from clipdesk.training.sdf_render import SdfObject, render_sdf

    rng = np.random.default_rng([seed, 14, index])
    shape, colour = SHAPES[rng.integers(len(SHAPES))], COLOURS[rng.integers(len(COLOURS))]
    radius = float(rng.uniform(0.13, 0.38))
    x, y = rng.uniform(radius, 1 - radius, 2)
    outline = float(rng.uniform(0.12, 0.25)) if rng.random() < 0.25 else 0.0
    obj = SdfObject(shape, colour, float(x), float(y), radius, float(rng.uniform(-30, 30)), outline)
    bg = ("plain", "radial", "checks", "stripes", "dark")[rng.integers(5)]
    if colour == "black" and bg == "dark":
        bg = "plain"
    if colour == "white" and bg != "dark":
        bg = "dark"
    img = render_sdf([obj], _canvas(rng), rng, bg)
    photo = rng.random() < 0.5
    if photo:
        img = take_photo(img, rng)
    truth = ObjectSpec(shape, colour, (0, 0, 0), obj.x, obj.y, radius, obj.rotation)
    spec = SceneSpec((truth,), BackgroundSpec(bg, ((0, 0, 0),)), extra={"photo": photo})
    return to_model_input(img, size), spec


def _encode_images(model, data: ShapeSet, batch: int = 256):
    import torch

    from clipdesk.training.train import images_to_tensor

    with torch.no_grad():
        parts = [
            model.encode_image(images_to_tensor(data.images[i : i + batch]), normalize=True)
            for i in range(0, len(data), batch)
        ]
    return torch.cat(parts).float()


def _accuracy(pred, truth: list[int], mask: np.ndarray | None = None) -> float:
    hits = np.asarray(pred) == np.asarray(truth)
    if mask is not None:
        hits = hits[mask]
    return round(float(hits.mean()), 4) if hits.size else float("nan")


def evaluate_model(model, tokenizer, size: int, *, workers: int = 2, scale: float = 1.0) -> dict:
    """All held-out metrics for ``model`` (an open_clip CLIP) as a flat dict."""
    from clipdesk.training.zeroshot import (
        COLOUR_TEMPLATES,
        SHAPE_TEMPLATES,
        build_zero_shot_classifier,
        classify,
    )

    n = lambda k: max(40, int(k * scale))  # noqa: E731
    model.eval()
    shape_clf = build_zero_shot_classifier(model, tokenizer, SHAPES, SHAPE_TEMPLATES)
    colour_clf = build_zero_shot_classifier(model, tokenizer, COLOURS, COLOUR_TEMPLATES)
    pairs = [f"{c} {s}" for c in COLOURS for s in SHAPES]
    pair_clf = build_zero_shot_classifier(model, tokenizer, pairs, PAIR_TEMPLATES)
    out: dict = {}

    def zero_shot(prefix: str, data: ShapeSet, mask_name: str | None = None) -> None:
        feats = _encode_images(model, data)
        objs = [s.objects[0] for s in data.specs]
        s_true = [SHAPES.index(o.shape) for o in objs]
        c_true = [COLOURS.index(o.colour) for o in objs]
        p_true = [pairs.index(f"{o.colour} {o.shape}") for o in objs]
        s_pred, c_pred = classify(feats, shape_clf), classify(feats, colour_clf)
        out[f"{prefix}_shape_acc"] = _accuracy(s_pred, s_true)
        out[f"{prefix}_colour_acc"] = _accuracy(c_pred, c_true)
        out[f"{prefix}_pair_acc"] = _accuracy(classify(feats, pair_clf), p_true)
        out[f"{prefix}_n"] = len(data)
        if mask_name == "unseen":
            mask = np.array([(o.colour, o.shape) in HELD_OUT_PAIRS for o in objs])
            out[f"{prefix}_seen_pairs_shape_acc"] = _accuracy(s_pred, s_true, ~mask)
            out[f"{prefix}_seen_pairs_colour_acc"] = _accuracy(c_pred, c_true, ~mask)
        if mask_name == "photo":
            mask = np.array([bool(s.extra.get("photo")) for s in data.specs])
            for name, m in (("clean", ~mask), ("photo", mask)):
                out[f"{prefix}_{name}_shape_acc"] = _accuracy(s_pred, s_true, m)
                out[f"{prefix}_{name}_colour_acc"] = _accuracy(c_pred, c_true, m)

    gen = lambda fn, k: generate(fn, n(k), EVAL_SEED, size, workers=workers)  # noqa: E731
    zero_shot("heldout", gen(heldout_sample, 1000), "unseen")
    zero_shot("compositional", gen(compositional_sample, 400))
    zero_shot("other_renderer", gen(other_renderer_sample, 800), "photo")
    out.update(_retrieval(model, tokenizer, gen(retrieval_sample, 500)))
    return out


def _retrieval(model, tokenizer, data: ShapeSet) -> dict:
    """Text->image recall@k: a hit is any top-k picture whose caption is the query's."""
    import torch

    feats = _encode_images(model, data)
    keys = [_retrieval_caption(s) for s in data.specs]
    with torch.no_grad():
        text = model.encode_text(tokenizer(keys), normalize=True).float()
    ranks = (text @ feats.T).argsort(dim=1, descending=True).numpy()
    key_arr = np.array(keys)
    out = {"retrieval_n": len(keys)}
    for k in (1, 5, 10):
        hits = [(key_arr[ranks[i, :k]] == keys[i]).any() for i in range(len(keys))]
        out[f"recall@{k}"] = round(float(np.mean(hits)), 4)
    strict = [i in ranks[i, :5] for i in range(len(keys))]
    out["recall@5_exact_image"] = round(float(np.mean(strict)), 4)
    return out


def _retrieval_caption(spec: SceneSpec) -> str:
    text = describe_objects(spec, sizes=False)
    if spec.background.kind == "plain" and spec.background.name:
        text += f" on a {spec.background.name} background"
    return text


def evaluate_dir(directory: Path, *, workers: int = 2, scale: float = 1.0) -> dict:
    """Load a shipped model folder through open_clip's local-dir loader and evaluate it."""
    from clipdesk.training.model import load_model

    model, preprocess, tokenizer = load_model(directory)
    size = preprocess.transforms[0].size
    size = size if isinstance(size, int) else size[0]
    return evaluate_model(model, tokenizer, size, workers=workers, scale=scale)
