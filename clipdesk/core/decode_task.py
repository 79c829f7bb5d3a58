"""The work one decode worker process does for one file: read, fingerprint, decode.

A photo gives one picture; a video gives one picture per scene (``video/reader.py``).

It runs in a separate process (see ``decode_pool``) so that a decoder crashing on a
hostile file takes down the worker, never the app. It imports neither torch nor Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from clipdesk.core.catalog.records import DecodedFacts
from clipdesk.core.ocr import OCR_DECODE_SIDE
from clipdesk.core.preprocess import PreprocessConfig

if TYPE_CHECKING:
    from PIL import Image

    from clipdesk.core.catalog.records import PhotoText
    from clipdesk.core.faces.detect import FoundFace

MAX_FILE_BYTES = 512 * 1024 * 1024
# With faces wanted, JPEG draft decoding stops at a short side of at least this many
# pixels: enough for the face detector's long side (``faces.detect.DETECT_SIDE``).
FACE_DECODE_SIDE = 768


@dataclass(frozen=True, slots=True)
class DecodeJob:
    file_id: int
    path: bytes
    config: PreprocessConfig
    faces: bool = False  # look for faces in the same decoded image
    text: bool = False  # read the text in the same decoded image (OCR)
    timeout_s: float | None = None  # the worker's time limit, if not the pool's


@dataclass(frozen=True, slots=True)
class DecodeOutput:
    file_id: int
    facts: DecodedFacts | None = None
    pixels: np.ndarray | None = None  # (3, size, size) float32; (n, 3, size, size) for a video
    error: str | None = None
    faces: tuple[FoundFace, ...] | None = None  # None: not looked for
    # The image's embedding, when the worker embedded it too (a Ray worker); then
    # ``pixels`` is dropped and the indexer stores this vector as it is.
    vector: np.ndarray | None = None
    scene_times: np.ndarray | None = None  # a video's (n, 2) scene start and end, seconds


def job_timeout(job: DecodeJob) -> float | None:
    """The time limit of one job (``DecodePool(timeout_for=...)``)."""
    return job.timeout_s


def decode_file(job: DecodeJob) -> DecodeOutput:
    """Read one file; bad input becomes ``DecodeOutput.error``, never an exception."""
    from clipdesk.core.mediatypes import is_video_path

    if is_video_path(job.path):
        return decode_video(job)
    from clipdesk.core.imageio import (
        ImageReadError,
        file_fingerprint,
        read_file_bytes,
        read_image,
    )
    from clipdesk.core.imageio.raw import is_raw_path
    from clipdesk.core.preprocess import preprocess

    try:
        data = read_file_bytes(job.path, MAX_FILE_BYTES)
        fingerprint = file_fingerprint(data)
        size = max(
            job.config.size,
            FACE_DECODE_SIDE if job.faces else 0,
            OCR_DECODE_SIDE if job.text else 0,
        )
        decoded = read_image(data, target_size=size, raw=is_raw_path(job.path))
        facts = DecodedFacts(
            fingerprint=fingerprint,
            width=decoded.width,
            height=decoded.height,
            taken_at=decoded.taken_at,
            camera=decoded.camera,
            taken_offset=decoded.taken_offset,
            latitude=decoded.position[0] if decoded.position else None,
            longitude=decoded.position[1] if decoded.position else None,
            text=_text(decoded.image, decoded.width, decoded.height) if job.text else None,
        )
        found = _faces(decoded.image) if job.faces else None
        return DecodeOutput(job.file_id, facts, preprocess(decoded.image, job.config), faces=found)
    except ImageReadError as exc:
        return DecodeOutput(job.file_id, error=exc.reason or "unreadable image")
    # MemoryError is left to the pool, which replaces the worker and reports the file.


def _text(image: Image.Image, width: int, height: int) -> PhotoText | None:
    """The text in the decoded image; the OCR models load once per worker process.

    OCR failing is not the photo failing: the photo is kept, its text left unread (None),
    to be tried again by a later index run."""
    from clipdesk.core.ocr import read_text

    try:
        return read_text(image, width, height)
    except Exception:
        return None


def _faces(image: object) -> tuple[FoundFace, ...]:
    """The faces in the decoded image; the models load once per worker process.

    dlib failing on a photo is not the photo failing: it is kept, recorded as looked at
    with no face (once: the same photo would fail the same way every run)."""
    from clipdesk.core.faces.detect import face_finder

    try:
        return tuple(face_finder().find(image))  # type: ignore[arg-type]
    except MemoryError:
        raise
    except Exception:
        return ()


def decode_video(job: DecodeJob) -> DecodeOutput:
    """A video's scenes: one preprocessed picture each, with its start and end.

    Faces and text are not looked for in videos; a job that asked is answered "none
    found", so that the video is not read again for them.
    """
    from clipdesk.core.catalog.records import PhotoText
    from clipdesk.core.errors import ImageReadError
    from clipdesk.core.preprocess import preprocess
    from clipdesk.core.video.reader import read_video, video_fingerprint

    try:
        fingerprint = video_fingerprint(job.path)
        video = read_video(job.path, target_size=job.config.size)
        pixels = np.stack([preprocess(scene.image, job.config) for scene in video.scenes])
        times = np.array([(s.start, s.end) for s in video.scenes], dtype=np.float64)
        facts = DecodedFacts(
            fingerprint=fingerprint,
            width=video.width,
            height=video.height,
            taken_at=video.taken_at,
            camera=video.camera,
            taken_offset=video.taken_offset,
            latitude=video.position[0] if video.position else None,
            longitude=video.position[1] if video.position else None,
            text=PhotoText((), video.width, video.height) if job.text else None,
        )
        faces = () if job.faces else None
        return DecodeOutput(job.file_id, facts, pixels, faces=faces, scene_times=times)
    except ImageReadError as exc:
        return DecodeOutput(job.file_id, error=exc.reason or "unreadable video")
