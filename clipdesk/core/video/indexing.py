"""What indexing does differently for a video: a longer time limit, a vector per scene.

The indexer calls these two functions and nothing else of ``video``: ``decode_job`` gives
a video's decode job a time limit scaled to the file (the parent cannot ask the untrusted
file how long it plays; its size stands for its length), and ``scene_records`` names
the scenes a worker found, each under its own fingerprint.
"""

from __future__ import annotations

import hashlib

import numpy as np

from clipdesk.core.catalog.records import FileRecord, SceneRecord
from clipdesk.core.decode_task import DecodeJob
from clipdesk.core.mediatypes import is_video_path
from clipdesk.core.preprocess import PreprocessConfig

__all__ = ["decode_job", "scene_fingerprint", "scene_records", "video_timeout_s"]

# Decoding runs many times faster than real time; a generous allowance of one second
# per megabyte (about 8 s of a 1080p phone video) leaves room for a busy machine.
SECONDS_PER_MB = 1.0


def video_timeout_s(size: int, base_s: float) -> float:
    """The time limit for decoding a video of ``size`` bytes."""
    return base_s + SECONDS_PER_MB * size / 1e6


def decode_job(
    file: FileRecord,
    config: PreprocessConfig,
    base_timeout_s: float,
    *,
    faces: bool = False,
    text: bool = False,
) -> DecodeJob:
    """The decode job of a photo or a video (which gets its own, longer time limit)."""
    limit = video_timeout_s(file.size, base_timeout_s) if is_video_path(file.path) else None
    return DecodeJob(file.id, file.path, config, faces=faces, text=text, timeout_s=limit)


def scene_fingerprint(video_fp: str, index: int) -> str:
    """The fingerprint a scene's vector is stored under: the video's, and its place."""
    return hashlib.blake2b(f"{video_fp}/{index}".encode(), digest_size=16).hexdigest()


def scene_records(video_fp: str, times: np.ndarray) -> list[SceneRecord]:
    """The scenes of one decoded video, from their (n, 2) start and end times."""
    return [
        SceneRecord(scene_fingerprint(video_fp, i), video_fp, i, float(start), float(end))
        for i, (start, end) in enumerate(times)
    ]
