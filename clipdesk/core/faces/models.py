"""Where dlib's face models are: the package's copy or the downloaded one (``models.readers``).

The files are Davis King's dlib models, released into the public domain (CC0): the CNN
(MMOD) face detector, the 5-point landmark model and the 128-d ResNet face embedder. The
68-point landmark model in the same package is left unused: it was trained on iBUG
300-W, whose terms exclude commercial use.
"""

from __future__ import annotations

from pathlib import Path

from clipdesk.core.errors import ReaderModelsMissing
from clipdesk.core.models.readers import FACES, missing_files, reader_file

DETECTOR = "mmod_human_face_detector.dat"
LANDMARKS = "shape_predictor_5_face_landmarks.dat"
EMBEDDER = "dlib_face_recognition_resnet_model_v1.dat"


def model_file(name: str) -> Path:
    """The path of one face model; :class:`ReaderModelsMissing` saying how to get it."""
    path = reader_file(FACES, name)
    if path is None:
        raise ReaderModelsMissing(FACES.hint())
    return path


def models_installed() -> bool:
    """Whether every face model can be found, checked before an index starts."""
    return not missing_files(FACES)
