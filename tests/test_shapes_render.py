"""The training renderer, scene sampling and captions."""

from __future__ import annotations

import numpy as np
import pytest

from clipdesk.training.captions import partial_caption, warmup_caption
from clipdesk.training.shapes import (
    COLOURS,
    HELD_OUT_PAIRS,
    SHAPES,
    canonical_caption,
    render_scene,
    sample_scene,
    scene_for,
    training_caption,
)
from clipdesk.training.vocab import PALETTE


def _coverage(img, rgb, tol: float = 60.0) -> float:
    arr = np.asarray(img, dtype=np.float64)
    return float((np.linalg.norm(arr - np.array(rgb), axis=-1) < tol).mean())


def test_red_circle_on_demand() -> None:
    img = render_scene(scene_for("circle", "red"), 200, np.random.default_rng(0), shading=False)
    assert img.size == (200, 200) and img.mode == "RGB"
    arr = np.asarray(img)
    assert tuple(arr[100, 100]) == PALETTE["red"][0]  # centre of the circle
    assert arr[3, 3].min() > 230  # white background in the corner
    # radius 0.3 of the side: area pi * 0.3^2 of the picture
    assert _coverage(img, PALETTE["red"][0]) == pytest.approx(np.pi * 0.09, abs=0.02)


@pytest.mark.parametrize("shape", SHAPES)
def test_each_shape_has_its_own_silhouette(shape: str) -> None:
    rng = np.random.default_rng(0)
    img = render_scene(scene_for(shape, "blue"), 120, rng, shading=False)
    cover = _coverage(img, PALETTE["blue"][0])
    areas = {"circle": 0.28, "square": 0.24, "triangle": 0.17, "star": 0.11, "heart": 0.2}
    assert cover == pytest.approx(areas[shape], abs=0.05)


def test_shapes_are_told_apart_by_pixels() -> None:
    masks = {
        s: np.asarray(render_scene(scene_for(s, "black"), 96, shading=False))[..., 0] < 128
        for s in SHAPES
    }
    for a in SHAPES:
        for b in SHAPES:
            if a < b:
                assert (masks[a] ^ masks[b]).mean() > 0.03, (a, b)


def test_white_shape_never_on_white_background() -> None:
    spec = scene_for("square", "white", background="white")
    assert spec.background.name != "white"
    img = render_scene(spec, 100, shading=False)
    assert _coverage(img, (255, 255, 255), tol=20) > 0.15


def test_same_seed_same_picture() -> None:
    a = render_scene(sample_scene(np.random.default_rng(7)), 128, np.random.default_rng(1))
    b = render_scene(sample_scene(np.random.default_rng(7)), 128, np.random.default_rng(1))
    c = render_scene(sample_scene(np.random.default_rng(8)), 128, np.random.default_rng(1))
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


def test_sampled_scenes_cover_the_world_but_not_held_out_pairs() -> None:
    rng = np.random.default_rng(3)
    specs = [sample_scene(rng) for _ in range(400)]
    pairs = {p for s in specs for p in s.pairs}
    assert not pairs & HELD_OUT_PAIRS
    assert {c for c, _ in pairs} == set(COLOURS)
    assert {s for _, s in pairs} == set(SHAPES)
    assert {len(s.objects) for s in specs} == {1, 2, 3}
    for s in specs:  # objects stay inside the visible square and apart
        for o in s.objects:
            assert o.radius <= o.x <= 1 - o.radius + 1e-9
            assert o.radius <= o.y <= 1 - o.radius + 1e-9


def test_captions_name_what_is_drawn() -> None:
    assert canonical_caption(scene_for("circle", "red")) == (
        "a large red circle on a white background"
    )
    assert canonical_caption(scene_for("heart", "orange", radius=0.15)).startswith(
        "a small orange heart"
    )
    rng = np.random.default_rng(0)
    for _ in range(100):
        spec = sample_scene(rng)
        text = canonical_caption(spec)
        for colour, shape in spec.pairs:
            assert colour in text and shape in text
        caption = training_caption(spec, rng)
        words = {w for pair in spec.pairs for w in pair}
        assert any(w in caption for w in words), caption  # never about something else
        for colour in COLOURS:  # and never names a colour that is not there
            if colour not in spec.colours and colour != spec.background.name:
                assert colour not in caption.replace(f"{spec.background.name} background", "")


def test_warmup_captions_name_one_attribute_in_a_word_or_two() -> None:
    rng = np.random.default_rng(1)
    spec = scene_for("star", "green")
    captions = [warmup_caption(spec, rng, shape_share=0.6) for _ in range(200)]
    assert set(captions) == {"star", "a star", "green"}
    assert 0.45 < sum(c != "green" for c in captions) / 200 < 0.75  # about 60% name the shape


def test_partial_captions_name_one_object_of_a_busy_scene() -> None:
    rng = np.random.default_rng(3)
    spec = sample_scene(rng, shapes=["star", "circle", "heart"], colours=["red", "blue", "green"])
    present = {"star", "circle", "heart", "red", "blue", "green"}
    absent = (set(SHAPES) | set(COLOURS)) - present
    named: set[str] = set()
    for _ in range(300):
        caption = partial_caption(spec, rng)
        words = set(caption.replace(".", "").split())
        assert not words & absent, caption  # never names what is not there
        in_caption = words & present
        assert in_caption, caption
        # one object at a time: at most one shape and one colour, and they belong together
        shapes = in_caption & {"star", "circle", "heart"}
        colours = in_caption & {"red", "blue", "green"}
        assert len(shapes) <= 1 and len(colours) <= 1, caption
        if shapes and colours:
            assert (colours.pop(), shapes.pop()) in spec.pairs, caption
        named |= in_caption
    assert named == present  # every object gets its turn


def test_training_captions_name_single_objects_of_busy_scenes_at_the_given_share() -> None:
    rng = np.random.default_rng(4)
    spec = sample_scene(rng, shapes=["star", "circle"], colours=["red", "blue"])
    whole = sum(
        all(w in caption for w in ("star", "circle"))
        for caption in (training_caption(spec, rng, short=0.0, partial=0.4) for _ in range(500))
    )
    assert 0.5 < whole / 500 < 0.7  # about 60% still describe the whole scene
    single = scene_for("circle", "red")  # one object: described as before, whole or in part
    captions = [training_caption(single, rng, short=0.0, partial=1.0) for _ in range(200)]
    assert all("circle" in c or "red" in c for c in captions)
    assert sum("circle" in c and "red" in c for c in captions) > 100


def test_grouped_caption_uses_number_words() -> None:
    rng = np.random.default_rng(0)
    spec = sample_scene(rng, shapes=["star", "star"], colours=["blue", "blue"])
    assert canonical_caption(spec).startswith("two blue stars")
