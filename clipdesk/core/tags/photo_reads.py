"""What tagging reads of the library's photos: their vectors, files and keywords.

Plain reads over the catalog's tables by fingerprint (tags follow a photo's content, not
its path), chunked so that a long list never exceeds SQLite's parameter limit. A video's
scenes are read as photos of their own, each under its scene's fingerprint; the job puts
what they get on the video (``scene_owners``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from sqlalchemy import Engine, and_, exists, select

from clipdesk.core.catalog.records import FileRecord, file_record
from clipdesk.core.catalog.rows import FILE_COLUMNS
from clipdesk.core.catalog.schema import embeddings, file_tags, files, tags, video_scenes
from clipdesk.core.video.vectors import mean_vector

__all__ = [
    "has_readable_file",
    "keywords_by_fingerprint",
    "library_vectors",
    "paths_for",
    "scene_owners",
    "vectors_for",
]

_CHUNK = 500


def has_readable_file():  # type: ignore[no-untyped-def]
    """An embedding that some readable file of the library still has: a photo's, or a
    scene's of a readable video."""
    own = exists().where(
        and_(files.c.fingerprint == embeddings.c.fingerprint, files.c.status == "ok")
    )
    scene = exists().where(
        and_(
            video_scenes.c.scene_fp == embeddings.c.fingerprint,
            files.c.fingerprint == video_scenes.c.fingerprint,
            files.c.status == "ok",
        )
    )
    return own | scene


def scene_owners(engine: Engine, fingerprints: Sequence[str]) -> dict[str, str]:
    """The video each of ``fingerprints`` is a scene of (photos are left out)."""
    fps = list(dict.fromkeys(fingerprints))
    out: dict[str, str] = {}
    with engine.connect() as conn:
        for start in range(0, len(fps), _CHUNK):
            rows = conn.execute(
                select(video_scenes.c.scene_fp, video_scenes.c.fingerprint).where(
                    video_scenes.c.scene_fp.in_(fps[start : start + _CHUNK])
                )
            )
            out.update({scene: video for scene, video in rows})
    return out


def library_vectors(engine: Engine, model_key: str) -> tuple[list[str], np.ndarray]:
    """``(fingerprints, vectors)`` of every readable photo embedded with ``model_key``."""
    query = (
        select(embeddings.c.fingerprint, embeddings.c.vector)
        .where(embeddings.c.model_key == model_key, has_readable_file())
        .order_by(embeddings.c.id)
    )
    fps: list[str] = []
    blobs: list[bytes] = []
    with engine.connect() as conn:
        for fp, blob in conn.execute(query):
            fps.append(fp)
            blobs.append(blob)
    if not blobs:
        return [], np.zeros((0, 0), dtype=np.float32)
    return fps, np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1)


def vectors_for(
    engine: Engine, fingerprints: Sequence[str], model_key: str
) -> dict[str, np.ndarray]:
    fps = list(dict.fromkeys(fingerprints))
    out: dict[str, np.ndarray] = {}
    with engine.connect() as conn:
        for start in range(0, len(fps), _CHUNK):
            rows = conn.execute(
                select(embeddings.c.fingerprint, embeddings.c.vector).where(
                    embeddings.c.model_key == model_key,
                    embeddings.c.fingerprint.in_(fps[start : start + _CHUNK]),
                )
            )
            out.update({fp: np.frombuffer(v, dtype=np.float32).copy() for fp, v in rows})
    videos = [fp for fp in fps if fp not in out]
    if videos:
        out.update(_video_vectors(engine, videos, model_key))
    return out


def _video_vectors(
    engine: Engine, fingerprints: Sequence[str], model_key: str
) -> dict[str, np.ndarray]:
    """Videos as one vector each (their scenes' mean): a video the user tagged teaches
    a tag as a photo does."""
    scenes: dict[str, list[np.ndarray]] = {}
    with engine.connect() as conn:
        for start in range(0, len(fingerprints), _CHUNK):
            rows = conn.execute(
                select(video_scenes.c.fingerprint, embeddings.c.vector)
                .join(embeddings, embeddings.c.fingerprint == video_scenes.c.scene_fp)
                .where(
                    embeddings.c.model_key == model_key,
                    video_scenes.c.fingerprint.in_(fingerprints[start : start + _CHUNK]),
                )
            )
            for video, blob in rows:
                scenes.setdefault(video, []).append(np.frombuffer(blob, dtype=np.float32))
    return {video: mean_vector(np.stack(rows)) for video, rows in scenes.items()}


def paths_for(engine: Engine, fingerprints: Iterable[str]) -> dict[str, list[FileRecord]]:
    """Readable files with each fingerprint (a photo and its copies)."""
    fps = list(dict.fromkeys(fingerprints))
    out: dict[str, list[FileRecord]] = {}
    with engine.connect() as conn:
        for start in range(0, len(fps), _CHUNK):
            rows = conn.execute(
                select(*FILE_COLUMNS)
                .where(files.c.fingerprint.in_(fps[start : start + _CHUNK]))
                .where(files.c.status == "ok")
                .order_by(files.c.path)
            )
            for row in rows:
                record = file_record(row)
                out.setdefault(record.fingerprint or "", []).append(record)
    return out


def keywords_by_fingerprint(
    engine: Engine, fingerprints: Sequence[str] | None, sources: Sequence[str]
) -> dict[str, list[str]]:
    """Tag names on each photo from the given sources; every tagged photo if None.

    Asked-for photos without tags map to an empty list (their sidecar may need
    clipdesk's old keywords taken out).
    """
    query = (
        select(file_tags.c.fingerprint, tags.c.name)
        .join(tags, tags.c.id == file_tags.c.tag_id)
        .where(file_tags.c.rejected.is_(False), file_tags.c.source.in_(list(sources)))
    )
    out: dict[str, list[str]] = {fp: [] for fp in fingerprints or ()}
    with engine.connect() as conn:
        if fingerprints is None:
            rows = list(conn.execute(query))
        else:
            fps = list(dict.fromkeys(fingerprints))
            rows = []
            for start in range(0, len(fps), _CHUNK):
                chunk = fps[start : start + _CHUNK]
                rows.extend(conn.execute(query.where(file_tags.c.fingerprint.in_(chunk))))
    for fp, name in rows:
        out.setdefault(fp, []).append(name)
    return out
