"""Finding faces in a decoded photo and describing each by dlib's 128-d embedding.

Runs inside the decode workers, on the image they already decoded. The photo is scaled
so that its long side is ``DETECT_SIDE`` pixels (up for small photos, down for large
ones) before detection: dlib's cost grows with the pixel count, and a face smaller than
about 1/30 of the long side is too small to recognise anyway. Boxes are kept as
fractions of the photo's width and height, so they fit any size it is shown at.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from PIL import Image

from clipdesk.core.faces.models import DETECTOR, EMBEDDER, LANDMARKS, model_file

DETECT_SIDE = 1024
MAX_FACES = 64  # a crowd photo keeps its 64 most certain faces
Detector = Literal["hog", "cnn"]
DEFAULT_DETECTOR: Detector = "hog"


@dataclass(frozen=True, slots=True)
class FoundFace:
    """One face: its box as fractions (left, top, right, bottom) and its embedding."""

    box: tuple[float, float, float, float]
    score: float
    embedding: np.ndarray  # (128,) float32


class FaceFinder:
    """dlib's detector, 5-point landmarks and ResNet embedder, loaded once per process."""

    def __init__(self, detector: Detector = DEFAULT_DETECTOR) -> None:
        import dlib

        self.kind = detector
        if detector == "cnn":
            self._cnn: Any = dlib.cnn_face_detection_model_v1(str(model_file(DETECTOR)))
        else:
            self._hog: Any = dlib.get_frontal_face_detector()
        self._shapes = dlib.shape_predictor(str(model_file(LANDMARKS)))
        self._embedder = dlib.face_recognition_model_v1(str(model_file(EMBEDDER)))
        self._rect = dlib.rectangle

    def detect(self, pixels: np.ndarray) -> list[tuple[Any, float]]:
        """dlib rectangles with their scores, in ``pixels`` coordinates."""
        if self.kind == "cnn":
            return [(d.rect, float(d.confidence)) for d in self._cnn(pixels, 0)]
        rects, scores, _ = self._hog.run(pixels, 0, 0.0)
        return list(zip(rects, (float(s) for s in scores), strict=True))

    def find(self, image: Image.Image, side: int = DETECT_SIDE) -> list[FoundFace]:
        """Every face in an RGB image, most certain first."""
        width, height = image.size
        if width < 8 or height < 8:
            return []
        scale = side / max(width, height)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = image if size == image.size else image.resize(size, Image.Resampling.BILINEAR)
        pixels = np.ascontiguousarray(np.asarray(small.convert("RGB"), dtype=np.uint8))
        found = sorted(self.detect(pixels), key=lambda d: -d[1])[:MAX_FACES]
        faces = []
        sw, sh = size
        for rect, score in found:
            shape = self._shapes(pixels, rect)
            vector = np.asarray(self._embedder.compute_face_descriptor(pixels, shape), np.float32)
            box = (
                max(0.0, rect.left() / sw),
                max(0.0, rect.top() / sh),
                min(1.0, (rect.right() + 1) / sw),
                min(1.0, (rect.bottom() + 1) / sh),
            )
            if box[2] > box[0] and box[3] > box[1]:
                faces.append(FoundFace(box, score, vector))
        return faces


@functools.cache
def face_finder(detector: Detector = DEFAULT_DETECTOR) -> FaceFinder:
    """The process's finder: a worker loads the models (about 30 MB) once, not per photo."""
    return FaceFinder(detector)
