"""Face detection: dlib's HOG detector against its CNN (MMOD) detector, on labelled photos.

``/work/shared/data/faces-dlib`` (or ``--data``) holds dlib's example face photos with a
box for every face (``training.xml`` and ``testing.xml``, from PASCAL VOC). Every photo
is scaled to each detection size (long side) and run through both detectors; a found box
matches a labelled one when their intersection over union is at least 0.3 (dlib's boxes
are drawn tighter than the labels); each labelled face matches once.

Run::

    .venv/bin/python benchmarks/bench_face_detection.py
"""

from __future__ import annotations

import argparse
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
from PIL import Image

from clipdesk.core.faces.detect import FaceFinder

DATA = Path("/work/shared/data/faces-dlib")


def labelled(data: Path) -> dict[str, list[tuple[int, int, int, int]]]:
    truth: dict[str, list[tuple[int, int, int, int]]] = {}
    for name in ("training.xml", "testing.xml"):
        for image in ET.parse(data / name).getroot().iter("image"):
            boxes = truth.setdefault(image.get("file", ""), [])
            for b in image.iter("box"):
                left, top = int(b.get("left", 0)), int(b.get("top", 0))
                boxes.append(
                    (left, top, left + int(b.get("width", 0)), top + int(b.get("height", 0)))
                )
    return truth


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def rotated(
    image: Image.Image, boxes: list[tuple[int, int, int, int]], angle: float
) -> tuple[Image.Image, list[tuple[int, int, int, int]]]:
    """The photo turned by ``angle`` degrees about its centre (a tilted head), each box
    turned with it (its centre moves; its size stays)."""
    import math

    w, h = image.size
    turned = image.rotate(angle, resample=Image.Resampling.BILINEAR)
    a = math.radians(-angle)
    out = []
    for left, top, right, bottom in boxes:
        cx, cy = (left + right) / 2 - w / 2, (top + bottom) / 2 - h / 2
        nx = cx * math.cos(a) - cy * math.sin(a) + w / 2
        ny = cx * math.sin(a) + cy * math.cos(a) + h / 2
        hw, hh = (right - left) / 2, (bottom - top) / 2
        out.append((round(nx - hw), round(ny - hh), round(nx + hw), round(ny + hh)))
    return turned, out


def measure(
    finder: FaceFinder, data: Path, side: int, angle: float = 0.0
) -> tuple[int, int, int, float]:
    truth = labelled(data)
    extra = [p.name for p in data.glob("*.jpg") if p.name not in truth]
    found_total = matched = labels = 0
    seconds = 0.0
    for name in list(truth) + extra:
        image = Image.open(data / name).convert("RGB")
        wanted = list(truth.get(name, []))
        if angle:
            image, wanted = rotated(image, wanted, angle)
        start = time.perf_counter()
        faces = finder.find(image, side)
        seconds += time.perf_counter() - start
        w, h = image.size
        boxes = [(f.box[0] * w, f.box[1] * h, f.box[2] * w, f.box[3] * h) for f in faces]
        if name not in truth and name != "dogs.jpg":
            continue  # unlabelled photos are not counted; dogs.jpg has no face at all
        labels += len(wanted)
        found_total += len(boxes)
        for box in boxes:
            best = max(wanted, key=lambda t: iou(box, t), default=None)
            if best is not None and iou(box, best) >= 0.3:
                wanted.remove(best)
                matched += 1
    return labels, found_total, matched, seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--sides", type=int, nargs="+", default=[640, 1024])
    parser.add_argument(
        "--angles", type=float, nargs="+", default=[0.0], help="turn the photos (tilted heads)"
    )
    args = parser.parse_args()
    np.random.seed(0)
    print(
        "| detector | long side | turned | labelled faces | found | recall | precision | s/photo |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for kind in ("hog", "cnn"):
        finder = FaceFinder(kind)  # type: ignore[arg-type]
        for side in args.sides:
            for angle in args.angles:
                labels, found, matched, seconds = measure(finder, args.data, side, angle)
                photos = len(labelled(args.data)) + 1
                print(
                    f"| {kind} | {side} | {angle:g} deg | {labels} | {found} | "
                    f"{matched / labels:.2f} | {matched / max(found, 1):.2f} | "
                    f"{seconds / photos:.2f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
