"""How well ``text:`` finds words legible at 1080p: recall >= 0.9 at precision >= 0.9.

Twenty-four 1920x1080 photos on textured, shape-strewn backgrounds each carry three or
four words from a vocabulary of distinct words (no two within two letters of each
other, none the start of another), in four DejaVu faces, 20-72 px high, turned up to
15 degrees either way. Every word of the vocabulary is searched with ``text:``; each
(word, photo) the search returns is checked against what was drawn.

Slow (OCR reads two million pixels per photo): ``pytest -m slow tests/test_photo_text_accuracy.py``.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from clipdesk.core.library import Library
from clipdesk.core.progress import run_to_end as run
from clipdesk.core.search import SearchQuery
from tests.test_photo_text import FACES, font, textured

VOCABULARY = (
    "harbour", "village", "garden", "museum", "market", "bridge", "castle", "window",
    "ticket", "coffee", "pepper", "orange", "silver", "forest", "island", "planet",
    "rhubarb", "violin", "guitar", "pillow", "biscuit", "camera", "doctor", "engine",
    "flower", "hammer", "jigsaw", "kettle", "lemon", "mirror", "needle", "oyster",
    "parrot", "quartz", "ribbon", "saddle", "tomato", "umbrella", "velvet", "walrus",
)  # fmt: skip
PHOTOS = 24
SIZE = (1920, 1080)


def _distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def test_the_vocabulary_has_no_near_misses():
    for a, b in itertools.combinations(VOCABULARY, 2):
        assert _distance(a, b) > 2 and not a.startswith(b) and not b.startswith(a), (a, b)


def _photo(path: Path, words: list[str], seed: int) -> None:
    rng = np.random.default_rng(seed)
    image = textured(SIZE, seed)
    draw = ImageDraw.Draw(image)
    for _ in range(6):  # shapes behind the words: not a blank page
        x, y = int(rng.integers(0, SIZE[0] - 200)), int(rng.integers(0, SIZE[1] - 200))
        colour = tuple(int(c) for c in rng.integers(120, 230, 3))
        draw.ellipse(
            (x, y, x + int(rng.integers(60, 300)), y + int(rng.integers(60, 300))), fill=colour
        )
    for row, word in enumerate(words):
        size = int(rng.integers(20, 73))
        text = word.upper() if rng.random() < 0.4 else word.capitalize()
        layer = Image.new("L", SIZE, 0)
        x, y = int(rng.integers(60, 900)), 80 + row * 250 + int(rng.integers(0, 60))
        ImageDraw.Draw(layer).text((x, y), text, font=font(FACES[(seed + row) % 4], size), fill=255)
        layer = layer.rotate(
            float(rng.uniform(-15, 15)), center=(x, y), resample=Image.Resampling.BICUBIC
        )
        ink = tuple(int(c) for c in rng.integers(0, 60, 3))
        image.paste(Image.new("RGB", SIZE, ink), mask=layer)
    image.save(path, "JPEG", quality=90)


@pytest.mark.slow
def test_text_finds_nine_in_ten_legible_words_at_precision_nine_in_ten(
    tmp_path, tiny_shapes_installed
):
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(11)
    truth: dict[str, set[str]] = {word: set() for word in VOCABULARY}
    for i in range(PHOTOS):
        words = list(rng.choice(VOCABULARY, size=int(rng.integers(3, 5)), replace=False))
        name = f"IMG_{i:03d}.jpg"
        _photo(photos / name, words, seed=i)
        for word in words:
            truth[word].add(name)
    with Library.open(tmp_path / "lib", model=tiny_shapes_installed) as library:
        run(library.index([photos], workers=2, text=True))
        drawn = found = returned = 0
        for word, where in truth.items():
            hits = library.find(SearchQuery.from_text(f"text:{word}", k=100)).hits
            got = {os.path.basename(hit.path) for hit in hits}
            drawn += len(where)
            found += len(got & where)
            returned += len(got)
    recall, precision = found / drawn, found / max(returned, 1)
    print(f"text: recall {recall:.3f} ({found}/{drawn}), precision {precision:.3f}")
    assert recall >= 0.9 and precision >= 0.9, (recall, precision)
