"""Near-duplicate groups: copies, re-saves, resized and cropped versions; never strangers."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import image_samples
import numpy as np
import pytest
from PIL import Image

from clipdesk.core.catalog import Catalog
from clipdesk.core.dupes import (
    PIXEL_MATCH,
    find_duplicates,
    group_pairs,
    near_duplicate_pairs,
    pixel_match,
    thumbnail,
    views,
)
from clipdesk.core.library import Library
from clipdesk.core.progress import run_to_end as run
from clipdesk.training.shapes import write_sample_library

MODEL = "tiny-shapes"


def test_pairs_and_groups_from_vectors():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(5, 32))
    near = base[[0, 0, 3]] + rng.normal(0, 0.01, (3, 32))  # two copies of 0, one of 3
    vectors = np.concatenate([base, near])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    pairs = near_duplicate_pairs(vectors, 0.98)
    assert {(i, j) for i, j, _ in pairs} == {(0, 5), (0, 6), (5, 6), (3, 7)}
    assert all(s >= 0.98 for _, _, s in pairs)
    groups = sorted((sorted(g), link) for g, link in group_pairs(len(vectors), pairs))
    assert [g for g, _ in groups] == [[0, 5, 6], [3, 7]]
    assert all(0.98 <= link <= 1.0 for _, link in groups)
    # Blocks give the same pairs as one pass.
    split = near_duplicate_pairs(vectors, 0.98, stop=4) + near_duplicate_pairs(
        vectors, 0.98, start=4
    )
    assert {(i, j) for i, j, _ in split} == {(i, j) for i, j, _ in pairs}


def _edits(image: Image.Image) -> list[Image.Image]:
    """A low-quality re-save, a resized copy, and crops: centred, from one side, corner."""
    w, h = image.size
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=30)
    return [
        Image.open(io.BytesIO(buf.getvalue())).convert("RGB"),
        image.resize((w // 2, h // 2), Image.Resampling.LANCZOS),
        image.crop((w // 20, h // 20, w - w // 20, h - h // 20)),
        image.crop((w // 10, 0, w, h)),
        image.crop((0, h // 12, w - w // 12, h)),
    ]


def test_pixels_match_edited_copies_and_not_other_photos():
    pictures = [image_samples.photo(480, 360, seed=s) for s in range(8)]
    pictures += [r for r in _shapes_pictures()]
    all_views = [views(thumbnail(p)) for p in pictures]
    for picture, own in zip(pictures, all_views, strict=True):
        for edit in _edits(picture):
            assert pixel_match(own, views(thumbnail(edit))) >= PIXEL_MATCH
    others = [
        pixel_match(all_views[i], all_views[j])
        for i in range(len(pictures))
        for j in range(i + 1, len(pictures))
    ]
    assert max(others) < PIXEL_MATCH


def _shapes_pictures() -> list[Image.Image]:
    from clipdesk.training.shapes import render_scene, sample_scene

    rng = np.random.default_rng(1)
    return [render_scene(sample_scene(rng), (320, 240), rng) for _ in range(24)]


def _variants(source: Path, out: Path) -> list[Path]:
    """A re-save at low JPEG quality, a resized copy and a slightly cropped copy."""
    image = Image.open(source).convert("RGB")
    w, h = image.size
    paths = [out / f"{source.stem}-q35.jpg", out / f"{source.stem}-small.jpg",
             out / f"{source.stem}-crop.jpg"]  # fmt: skip
    image.save(paths[0], "JPEG", quality=35)
    image.resize((w * 3 // 5, h * 3 // 5), Image.Resampling.LANCZOS).save(paths[1], quality=90)
    dx, dy = w // 20, h // 20
    image.crop((dx, dy, w - dx, h - dy)).save(paths[2], "JPEG", quality=90)
    return paths


@pytest.fixture(scope="module")
def scene(tmp_path_factory, tiny_shapes_encoder):
    """Pictures, some with edited copies; returns (library, {original: its copies})."""
    base = tmp_path_factory.mktemp("dupes")
    photos = base / "photos"
    records = write_sample_library(photos / "shapes", 16, seed=5, formats=("jpg",))
    for seed in range(6):
        path = photos / "photos" / f"photo{seed}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        image_samples.photo(480, 360, seed=seed).save(path, "JPEG", quality=92)
    edits = photos / "edits"
    edits.mkdir()
    originals = [Path(records[i].path) for i in (0, 5)] + [photos / "photos" / "photo2.jpg"]
    expected = {os.fspath(p.resolve()): {os.fspath(v.resolve()) for v in _variants(p, edits)}
                for p in originals}  # fmt: skip
    twin = photos / "photos" / "photo4-copy.jpg"
    shutil.copy(photos / "photos" / "photo4.jpg", twin)
    expected[os.fspath((photos / "photos" / "photo4.jpg").resolve())] = {os.fspath(twin.resolve())}
    (base / "lib").mkdir()  # a library folder that does not exist is only read
    library = Library(
        base / "lib", Catalog.open(base / "lib" / "catalog.db"),
        encoder=tiny_shapes_encoder,
    )  # fmt: skip
    run(library.index([photos], workers=1))
    yield library, expected
    library.close()


def test_copies_group_with_their_original_and_nothing_else(scene):
    library, expected = scene
    report = run(find_duplicates(library))
    found = {frozenset(p.path for p in g.photos) for g in report.groups}
    wanted = {frozenset({original, *copies}) for original, copies in expected.items()}
    assert found == wanted
    # Most certain first: the pixel match of a group's weakest member, then embeddings.
    certainty = [(min(p.match or 0.0 for p in g.photos), g.similarity) for g in report.groups]
    assert certainty == sorted(certainty, reverse=True)


def test_the_original_is_the_one_to_keep(scene):
    library, expected = scene
    report = run(find_duplicates(library))
    for group in report.groups:
        first = group.photos[0]
        if first.path in expected and expected[first.path] != set():
            assert group.photos[0].similarity == pytest.approx(1.0, abs=1e-5)
        assert first.width * first.height == max(p.width * p.height for p in group.photos)
    keepers = {g.photos[0].path for g in report.groups if len(g.photos) == 4}
    assert keepers == {p for p, c in expected.items() if len(c) == 3}


def test_dupes_command_json(scene):
    library = scene[0]
    env = {**os.environ, "CLIPDESK_LIBRARY": os.fspath(library.directory)}
    env.pop("CLIPDESK_MODEL", None)  # the library remembers its model
    result = subprocess.run(
        [sys.executable, "-m", "clipdesk", "dupes", "--json", "--threshold", "0.999"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["threshold"] == 0.999 and out["model"] == MODEL
    groups = [{p["path"] for p in g["photos"]} for g in out["groups"]]
    assert groups and all(len(g) >= 2 for g in groups)
    assert all(set(g["photos"][0]) >= {"path", "width", "height", "bytes", "similarity"}
               for g in out["groups"])  # fmt: skip
    bad = subprocess.run(
        [sys.executable, "-m", "clipdesk", "dupes", "--threshold", "1.5"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert bad.returncode == 2 and "threshold" in bad.stderr  # bad usage, as argparse says it


def test_a_lossless_original_is_kept_over_a_larger_jpeg_resave(tmp_path):
    from clipdesk.core.encoder import load_encoder
    from clipdesk.core.models.registry import get_model
    from clipdesk.training.scene import scene_for
    from clipdesk.training.shapes import render_scene

    photos = tmp_path / "photos"
    photos.mkdir()
    original = photos / "flat.png"  # flat colours: PNG compresses it better than JPEG
    render_scene(scene_for("star", "blue"), (480, 360), np.random.default_rng(0)).save(original)
    resave = photos / "resave.jpg"
    Image.open(original).convert("RGB").save(resave, "JPEG", quality=100)
    assert resave.stat().st_size > original.stat().st_size, "the re-save must be the larger"
    (tmp_path / "lib").mkdir()
    library = Library(
        tmp_path / "lib", Catalog.open(tmp_path / "lib" / "catalog.db"),
        encoder=load_encoder(get_model(MODEL), device="cpu"),
    )  # fmt: skip
    try:
        run(library.index([photos], workers=1))
        (group,) = run(find_duplicates(library)).groups
        assert [p.path for p in group.photos] == [
            os.fspath(original.resolve()),
            os.fspath(resave.resolve()),
        ]
    finally:
        library.close()
