"""Hundreds (with -m slow, thousands) of files created at once while watching are each
indexed exactly once."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image
from test_watch_common import FAST, assert_agrees, settle, wait_for, write_image

BURST_SETTINGS = FAST.__class__(**{**FAST.__dict__, "batch_size": 64})


def png_bytes(count: int, seed: int) -> list[bytes]:
    """Distinct small pictures, made before the burst so that writing them is quick."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        buf = io.BytesIO()
        Image.fromarray((rng.random((24, 32, 3)) * 255).astype(np.uint8)).save(buf, "PNG")
        out.append(buf.getvalue())
    return out


def burst(tmp_path, watched, count: int) -> dict[str, float]:
    photos = tmp_path / "photos"
    write_image(photos / "already.png", seed=1)
    pictures = png_bytes(count, seed=count)
    library, watcher, encoder = watched(photos, settings=BURST_SETTINGS)
    started = time.monotonic()
    for i, data in enumerate(pictures):
        folder = photos / f"burst{i % 10}"
        folder.mkdir(exist_ok=True)
        (folder / f"p{i:05d}.png").write_bytes(data)
    written = time.monotonic() - started
    assert wait_for(lambda: library.status()["indexed"] == count + 1, timeout=60 + count / 5)
    settle(watcher)
    indexed = time.monotonic() - started
    assert_agrees(library, photos)
    totals = watcher.totals
    assert (totals.decoded, totals.skipped) == (count + 1, 0), "a file was read twice"
    assert encoder.images == count + 1, "a file was embedded twice"
    assert len(library.catalog.files_of_root(library.roots()[0].id)) == count + 1
    return {"written_s": written, "indexed_s": indexed, "per_second": count / indexed}


@pytest.mark.parametrize("count", [500, pytest.param(5000, marks=pytest.mark.slow)])
def test_a_burst_of_files_is_indexed_exactly_once(count, tmp_path, watched):
    figures = burst(tmp_path, watched, count)
    print(f"{count}-file burst: {figures}")  # 5000: about 30 s on two busy cores
