"""Text in photos: PP-OCR (detector, then recogniser) on ONNX Runtime, in the decode workers.

``rapidocr`` (Apache-2.0) ships PP-OCR's small ONNX models inside the package (the
installer fetches them instead: ``models.readers``), and they run on the ONNX Runtime
clipdesk already has. (Tesseract
needs a system binary and reads photos of signs poorly; EasyOCR needs torch; docTR
downloads its weights.) The detector runs first and the recogniser only on the boxes it
finds, so a photo without text costs one detector pass and is stored as read, with no
lines. The engine loads once per worker process, on the first photo it reads.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from clipdesk.core.catalog.records import PhotoText, TextLine

if TYPE_CHECKING:
    from pathlib import Path

    from PIL import Image

__all__ = [
    "OCR_DECODE_SIDE",
    "OCR_ENV",
    "TEXT_SETTING",
    "engine_for",
    "read_text",
    "text_wanted",
]

OCR_ENV = "CLIPDESK_OCR"  # "0" or "off": do not read text unless asked
# The library's own setting (its meta table): "off" once the window's "Read text in
# photos" was turned off, so the folder watcher and the command line follow it.
TEXT_SETTING = "read_text"
# A photo's longest side is brought down to this many pixels before OCR: text legible in
# a 1080p view stays legible, and the detector's cost stays bounded for 50-MP photos.
OCR_SIDE = 1920
# The detector looks at the photo with its longest side at most this many pixels (the
# recogniser still reads each line it finds from the OCR_SIDE image). rapidocr's default
# brings the short side to at least 736, which for a 1920x1080 photo is the whole of it:
# 1280 costs the detector 2.25x fewer pixels, a 0.84 -> 0.32 CPU-second read per
# 1920x1080 photo on one core, and keeps text 20 px high at 1080p legible to it
# (tests/test_photo_text_accuracy.py: recall and precision at least 0.9).
OCR_DETECT_SIDE = 1280
# JPEG draft decoding for OCR stops at a short side of at least this many pixels.
OCR_DECODE_SIDE = 1080
MIN_CONFIDENCE = 0.5  # lines the recogniser is less sure of are noise more often than not


def text_wanted(asked: bool | None, setting: str | None = None) -> bool:
    """Whether an index run reads text in photos: as asked, else as the library's
    setting says ("on"/"off"), else on unless ``CLIPDESK_OCR=0`` turns the default off."""
    if asked is not None:
        return asked
    if setting in ("on", "off"):
        return setting == "on"
    return os.environ.get(OCR_ENV, "1").strip().lower() not in ("0", "off", "false", "no")


@functools.cache
def _engine() -> Any:
    from clipdesk.core.errors import ReaderModelsMissing
    from clipdesk.core.models.readers import OCR, reader_file

    det, rec, cls = (reader_file(OCR, f.name) for f in OCR.files)
    if det is None or rec is None or cls is None:
        # rapidocr would otherwise fetch models from the network by itself.
        raise ReaderModelsMissing(OCR.hint())
    return engine_for(det, rec, cls)


def engine_for(det: Path, rec: Path, cls: Path) -> Any:
    """rapidocr with these model files and clipdesk's settings (benchmarks compare
    releases' models with it)."""
    from rapidocr import RapidOCR

    return RapidOCR(
        params={
            "Global.log_level": "error",
            "Det.model_path": str(det),
            "Rec.model_path": str(rec),
            "Cls.model_path": str(cls),
            "Det.limit_type": "max",
            "Det.limit_side_len": OCR_DETECT_SIDE,
            # Each decode worker is one process; the workers are the parallelism.
            "EngineConfig.onnxruntime.intra_op_num_threads": 1,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
    )


def read_text(image: Image.Image, width: int, height: int, engine: Any = None) -> PhotoText:
    """The lines of text in ``image`` (the decoded photo, perhaps smaller than its
    ``width`` x ``height``), their boxes in the full photo's pixels; read by this
    process's engine unless another (:func:`engine_for`) is given."""
    from PIL import Image  # here: the index job reads this module's settings alone

    scale = min(1.0, OCR_SIDE / max(image.size))
    work = image
    if scale < 1.0:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        work = image.resize(size, Image.Resampling.BILINEAR)
    found = (engine or _engine())(np.asarray(work.convert("RGB")))
    if found is None or found.boxes is None or found.txts is None:
        return PhotoText((), width, height)
    back_x, back_y = width / work.width, height / work.height
    lines = []
    for box, text, score in zip(found.boxes, found.txts, found.scores, strict=True):
        if float(score) < MIN_CONFIDENCE or not str(text).strip():
            continue
        corners = tuple((float(x) * back_x, float(y) * back_y) for x, y in box)
        lines.append(TextLine(str(text).strip(), float(score), corners))
    return PhotoText(tuple(lines), width, height)
