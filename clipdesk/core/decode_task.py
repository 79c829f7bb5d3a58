"""The work one decode worker process does for one file: read, fingerprint, decode.

It runs in a separate process (see ``decode_pool``) so that a decoder crashing on a
hostile file takes down the worker, never the app. It imports neither torch nor Qt.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clipdesk.core.catalog.records import DecodedFacts
from clipdesk.core.preprocess import PreprocessConfig

MAX_FILE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class DecodeJob:
    file_id: int
    path: bytes
    config: PreprocessConfig


@dataclass(frozen=True, slots=True)
class DecodeOutput:
    file_id: int
    facts: DecodedFacts | None = None
    pixels: np.ndarray | None = None  # (3, size, size) float32
    error: str | None = None


def decode_file(job: DecodeJob) -> DecodeOutput:
    """Read one file; bad input becomes ``DecodeOutput.error``, never an exception."""
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
        decoded = read_image(data, target_size=job.config.size, raw=is_raw_path(job.path))
        facts = DecodedFacts(
            fingerprint=fingerprint,
            width=decoded.width,
            height=decoded.height,
            taken_at=decoded.taken_at,
            camera=decoded.camera,
        )
        return DecodeOutput(job.file_id, facts, preprocess(decoded.image, job.config))
    except ImageReadError as exc:
        return DecodeOutput(job.file_id, error=exc.reason or "unreadable image")
    # MemoryError is left to the pool, which replaces the worker and reports the file.
