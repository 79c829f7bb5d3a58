"""The independent test renderer and its camera damage."""

from __future__ import annotations

import numpy as np
import pytest

from clipdesk.training.sdf_camera import take_photo
from clipdesk.training.sdf_render import SDF_PALETTE, SdfObject, render_sdf, sd_shape
from clipdesk.training.vocab import SHAPES


def _mask(shape: str, outline: float = 0.0) -> np.ndarray:
    obj = SdfObject(shape, "black", 0.5, 0.5, 0.35, 0.0, outline)
    arr = np.asarray(render_sdf([obj], (160, 160), np.random.default_rng(0), "plain"))
    return arr.mean(axis=-1) < 100


@pytest.mark.parametrize("shape", SHAPES)
def test_signed_distance_is_negative_inside_positive_outside(shape: str) -> None:
    zero = np.zeros(1)
    assert sd_shape(shape, zero, zero)[0] < 0  # the centre is inside every shape
    assert sd_shape(shape, zero + 3.0, zero)[0] > 1.5  # far away is outside


def test_shapes_differ_and_have_plausible_areas() -> None:
    masks = {s: _mask(s) for s in SHAPES}
    area = {s: m.mean() for s, m in masks.items()}
    assert area["circle"] == pytest.approx(np.pi * 0.35**2, abs=0.01)
    assert area["star"] < area["triangle"] < area["square"] < area["circle"] + 0.05
    for a in SHAPES:
        for b in SHAPES:
            if a < b:
                assert (masks[a] ^ masks[b]).mean() > 0.02, (a, b)


def test_outline_is_a_ring() -> None:
    filled, ring = _mask("circle"), _mask("circle", outline=0.15)
    assert ring.sum() < filled.sum() * 0.5
    assert not ring[80, 80] and filled[80, 80]


def test_colours_and_photo_damage() -> None:
    obj = SdfObject("square", "red", 0.5, 0.5, 0.3, 10.0)
    rng = np.random.default_rng(1)
    img = render_sdf([obj], (240, 180), rng, "checks")
    assert img.size == (240, 180)
    centre = np.asarray(img)[90, 120].astype(int)
    assert min(np.abs(centre - np.array(c)).max() for c in SDF_PALETTE["red"]) <= 2
    photo = take_photo(img, np.random.default_rng(2))
    assert photo.size == img.size
    diff = np.abs(np.asarray(photo, float) - np.asarray(img, float)).mean()
    assert 1.0 < diff < 60.0  # visibly damaged, still the same picture
    assert np.asarray(photo)[90, 120, 0] > 120  # still red in the middle
