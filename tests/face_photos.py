"""Real face photos for the people tests: dlib's example photos and variants derived from them.

``write_bald_guys`` gives real different photos of the same people: dlib's collage of four
actors, six photos each, cut apart.

``/work/shared/data/faces-dlib`` (or ``CLIPDESK_FACES_DATA``) holds public photos from
dlib's examples (PASCAL VOC 2011, Boost Software License for the collection) with a box
for every face. Each person there appears once, so "the same person in several photos"
is made as a photo manager meets it: the same face cropped wider or tighter, scaled,
mirrored, lit brighter or darker, saved again as JPEG. Nothing is drawn.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageEnhance, ImageOps

DATA = Path(os.environ.get("CLIPDESK_FACES_DATA", "/work/shared/data/faces-dlib"))

# (source photo, the face's box: left, top, width, height) from testing.xml / training.xml,
# and the Tom Cruise photo's one face, boxed by hand.
PEOPLE: dict[str, tuple[str, tuple[int, int, int, int]]] = {
    "left": ("2008_002506.jpg", (125, 65, 90, 91)),
    "middle": ("2008_002506.jpg", (224, 95, 91, 91)),
    "right": ("2008_002506.jpg", (329, 78, 109, 109)),
    "upper": ("2009_004587.jpg", (154, 46, 75, 76)),
}

# bald_guys.jpg is a collage of 24 different photos of four actors, six each: each face's
# box (as dlib's detector draws it at full size) and who it is, checked by eye. Cut
# apart, they are 24 real photos of four people, taken years apart, in any light and pose.
BALD_GUYS: tuple[tuple[tuple[int, int, int, int], str], ...] = (
    ((342, 54, 447, 159), "statham"),
    ((54, 74, 235, 255), "diesel"),
    ((1437, 95, 1747, 406), "johnson"),
    ((532, 114, 712, 294), "diesel"),
    ((875, 128, 1025, 278), "statham"),
    ((314, 231, 439, 356), "diesel"),
    ((54, 373, 235, 553), "diesel"),
    ((871, 413, 1051, 593), "statham"),
    ((552, 433, 732, 613), "diesel"),
    ((327, 443, 477, 594), "statham"),
    ((1828, 446, 1933, 550), "johnson"),
    ((1655, 699, 1760, 804), "johnson"),
    ((62, 709, 212, 859), "statham"),
    ((1050, 751, 1230, 931), "willis"),
    ((771, 811, 951, 991), "willis"),
    ((400, 830, 616, 1046), "statham"),
    ((62, 991, 212, 1141), "willis"),
    ((1107, 1074, 1257, 1224), "willis"),
    ((771, 1249, 951, 1429), "willis"),
    ((18, 1260, 234, 1476), "diesel"),
    ((352, 1260, 568, 1476), "willis"),
    ((1786, 1289, 1967, 1469), "johnson"),
    ((1070, 1309, 1250, 1489), "johnson"),
    ((1461, 1351, 1587, 1476), "johnson"),
)


def write_bald_guys(folder: Path) -> list[FacePhoto]:
    """The collage cut into its 24 photos: each face with half its size around it."""
    folder.mkdir(parents=True, exist_ok=True)
    image = Image.open(source("bald_guys.jpg")).convert("RGB")
    out = []
    for number, ((left, top, right, bottom), person) in enumerate(BALD_GUYS):
        pad = (right - left) // 2
        crop = image.crop((left - pad, top - pad, right + pad, bottom + pad))
        path = folder / f"{person}-{number:02d}.jpg"
        crop.save(path, quality=92)
        out.append(FacePhoto(path, person))
    return out


# How each photo of a person is derived: (context around the face as a multiple of its
# box, long side in pixels, mirrored, brightness).
VARIANTS = (
    (2.2, 480, False, 1.0),
    (3.0, 640, True, 1.0),
    (1.8, 360, False, 0.7),
    (2.6, 800, True, 1.3),
)


@dataclass(frozen=True)
class FacePhoto:
    path: Path
    person: str


def source(name: str) -> Path:
    path = DATA / name
    if not path.is_file():
        pytest.fail(f"the face test photos are missing: {path} (see tests/face_photos.py)")
    return path


def variant(
    image: Image.Image,
    box: tuple[int, int, int, int],
    context: float,
    side: int,
    flip: bool,
    light: float,
) -> Image.Image:
    left, top, width, height = box
    cx, cy = left + width / 2, top + height / 2
    half = max(width, height) * context / 2
    crop = image.crop((round(cx - half), round(cy - half), round(cx + half), round(cy + half)))
    crop = crop.resize((side, side), Image.Resampling.LANCZOS)
    if flip:
        crop = ImageOps.mirror(crop)
    if light != 1.0:
        crop = ImageEnhance.Brightness(crop).enhance(light)
    return crop


def write_people(
    folder: Path,
    people: dict[str, tuple[str, tuple[int, int, int, int]]] = PEOPLE,
    variants: tuple = VARIANTS,
) -> list[FacePhoto]:
    """One photo per (person, variant) in ``folder``; the truth about each."""
    folder.mkdir(parents=True, exist_ok=True)
    out: list[FacePhoto] = []
    for person, (name, box) in people.items():
        image = Image.open(source(name)).convert("RGB")
        for number, (context, side, flip, light) in enumerate(variants):
            path = folder / f"{person}-{number}.jpg"
            variant(image, box, context, side, flip, light).save(path, quality=90)
            out.append(FacePhoto(path, person))
    return out


def pairwise(truth: list[str], found: list[int | None]) -> tuple[float, float]:
    """Precision and recall of "these two photos show the same person" over every pair."""
    tp = fp = fn = 0
    for i in range(len(truth)):
        for j in range(i + 1, len(truth)):
            same = truth[i] == truth[j]
            said = found[i] is not None and found[i] == found[j]
            tp += same and said
            fp += said and not same
            fn += same and not said
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall
