"""People's hard cases: group photos, turned heads, an age gap and a child, measured apart.

The overall figures (``BENCHMARKS.md`` "People (faces)") average these cases away. The
faces below were labelled by eye in ``/work/shared/data/faces-dlib`` (see
``HARD_CASES``); no labelled set of children or full profiles exists offline, so the
report says how few faces each case has.

- **Detection** at the app's settings (HOG, 1024 px long side) per case, on the photos'
  labelled boxes: group photos (five or more faces), small faces (under 40 px in the
  500-px photo), turned heads (three-quarter view), the one child.
- **Grouping**: the 24 photos of ``bald_guys.jpg`` (four people, taken years apart)
  indexed by clipdesk, as ``tests/test_people.py`` does; the pairwise recall of
  "same person" is split by pose: pairs of two frontal faces, pairs with a turned face,
  pairs with the photo taken decades earlier. Face distances against the library's own
  threshold say how close each case came.
- **A child beside an adult**: four variants (crop, scale, mirror, light) of the child
  and of the adult in ``2008_001009.jpg``, indexed together: both must group, apart.
- **Groups**: every pair of faces in one photo is two people; the share that clipdesk
  put in one person is the merge rate of group photos.

Run::

    .venv/bin/python benchmarks/bench_people_hard_cases.py
"""

from __future__ import annotations

import itertools
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from bench_face_detection import DATA, iou, labelled
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from face_photos import BALD_GUYS, VARIANTS, FacePhoto, pairwise, variant, write_bald_guys

# Labelled by eye. Turned: a three-quarter view (one ear hidden, the far eye foreshortened).
TURNED_BOXES = {("2008_002079.jpg", 5), ("2007_007763.jpg", 2)}
CHILD_BOXES = {("2008_001009.jpg", 0)}
# bald_guys.jpg's photos (indexes into BALD_GUYS) by pose and age.
BALD_TURNED = {15, 17, 19, 20, 21}
BALD_YOUNG = {23}  # the same man decades earlier
CHILD = ("2008_001009.jpg", (145, 79, 76, 76))
ADULT = ("2008_001009.jpg", (125, 214, 90, 91))


def detection() -> dict[str, tuple[int, int]]:
    """(found, labelled) per case at the app's detection settings."""
    from clipdesk.core.faces.detect import face_finder

    finder = face_finder()
    cases: dict[str, list[int]] = {}
    for name, boxes in labelled(DATA).items():
        image = Image.open(DATA / name).convert("RGB")
        w, h = image.size
        found = [(f.box[0] * w, f.box[1] * h, f.box[2] * w, f.box[3] * h)
                 for f in finder.find(image)]  # fmt: skip
        for number, box in enumerate(boxes):
            hit = any(iou(box, f) >= 0.3 for f in found)
            kinds = ["all"]
            if len(boxes) >= 5:
                kinds.append("group photos (5-7 faces)")
            if box[2] - box[0] < 40:
                kinds.append("small (under 40 px)")
            if (name, number) in TURNED_BOXES:
                kinds.append("turned (three-quarter)")
            if (name, number) in CHILD_BOXES:
                kinds.append("child")
            for kind in kinds:
                cases.setdefault(kind, [0, 0])
                cases[kind][0] += hit
                cases[kind][1] += 1
    return {k: (v[0], v[1]) for k, v in cases.items()}


def _index(folder: Path, lib_dir: Path):
    from clipdesk.core.library import Library
    from clipdesk.core.progress import run_to_end

    library = Library.open(lib_dir, model="tiny-shapes")
    run_to_end(library.index([folder], workers=1, faces=True))
    return library


def _middle(faces):
    """The face nearest a photo's middle: the person the photo was made of."""
    return min(faces, key=lambda f: abs(f.box[0] + f.box[2] - 1) + abs(f.box[1] + f.box[3] - 1))


def _subject(library, path: Path):
    return _middle(library.people.faces_in(path))


def grouping(work: Path) -> None:
    from clipdesk.core.faces.detect import face_finder

    photos = write_bald_guys(work / "bald")
    library = _index(work / "bald", work / "bald-lib")
    try:
        found = [_subject(library, p.path).person_id for p in photos]
        threshold = library.people.threshold().value
    finally:
        library.close()
    finder = face_finder()
    vectors = []
    for p in photos:
        vectors.append(_middle(finder.find(Image.open(p.path).convert("RGB"))).embedding)
    kind = ["young" if i in BALD_YOUNG else "turned" if i in BALD_TURNED else "frontal"
            for i in range(len(BALD_GUYS))]  # fmt: skip
    rows: dict[str, list[float]] = {}
    for i, j in itertools.combinations(range(len(photos)), 2):
        if photos[i].person != photos[j].person:
            continue
        pair = "young" if "young" in (kind[i], kind[j]) else (
            "turned" if "turned" in (kind[i], kind[j]) else "frontal")  # fmt: skip
        same = found[i] is not None and found[i] == found[j]
        distance = float(np.linalg.norm(vectors[i] - vectors[j]))
        rows.setdefault(pair, []).append((same, distance))  # type: ignore[arg-type]
    precision, recall = pairwise([p.person for p in photos], found)
    print(f"\nbald_guys.jpg, 24 photos of 4 people: precision {precision:.3f}, "
          f"recall {recall:.3f}; the library's threshold {threshold:.3f}")  # fmt: skip
    print("| same-person pairs | pairs | grouped (recall) | median distance | over threshold |")
    print("|---|---|---|---|---|")
    for pair in ("frontal", "turned", "young"):
        got = rows.get(pair, [])
        if not got:
            continue
        grouped = sum(s for s, _ in got)
        distances = np.array([d for _, d in got])
        print(f"| {pair} | {len(got)} | {grouped / len(got):.2f} | "
              f"{np.median(distances):.3f} | {int((distances > threshold).sum())} |")  # fmt: skip


def child_beside_adult(work: Path, *, with_original: bool) -> None:
    """The child's and the adult's variants; ``with_original`` adds the photo they share,
    whose two faces tell the clustering that they are two people."""
    folder = work / f"child-{with_original}"
    folder.mkdir(parents=True)
    image = Image.open(DATA / CHILD[0]).convert("RGB")
    photos = []
    for who, (_, box) in (("child", CHILD), ("adult", ADULT)):
        for number, spec in enumerate(VARIANTS):
            path = folder / f"{who}-{number}.jpg"
            variant(image, box, *spec).save(path, quality=90)
            photos.append(FacePhoto(path, who))
    if with_original:
        shutil.copy(DATA / CHILD[0], folder / CHILD[0])
    library = _index(folder, work / f"child-lib-{with_original}")
    try:
        found = [_subject(library, p.path).person_id for p in photos]
    finally:
        library.close()
    precision, recall = pairwise([p.person for p in photos], found)
    print(f"\nchild and adult of one photo, 4 variants each"
          f"{', and the photo itself' if with_original else ''}: precision {precision:.3f}, "
          f"recall {recall:.3f}; people found {len(set(found))}")  # fmt: skip


def groups(work: Path) -> None:
    """Faces of one photo (all different people) that clipdesk put in one person."""
    folder = work / "groups"
    folder.mkdir(parents=True)
    names = [n for n, boxes in labelled(DATA).items() if len(boxes) >= 2]
    for name in names:
        shutil.copy(DATA / name, folder / name)
    library = _index(folder, work / "groups-lib")
    try:
        pairs = merged = 0
        for name in names:
            ids = [f.person_id for f in library.people.faces_in(folder / name)]
            for a, b in itertools.combinations(ids, 2):
                pairs += 1
                merged += a is not None and a == b
    finally:
        library.close()
    print(f"\ngroup photos: {len(names)} photos, {pairs} same-photo pairs, "
          f"{merged} put in one person ({merged / max(pairs, 1):.3f})")  # fmt: skip


def main() -> None:
    print("| case | found | labelled | recall |")
    print("|---|---|---|---|")
    for case, (hit, total) in detection().items():
        print(f"| {case} | {hit} | {total} | {hit / total:.2f} |")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        grouping(work)
        child_beside_adult(work, with_original=False)
        child_beside_adult(work, with_original=True)
        groups(work)


if __name__ == "__main__":
    main()
