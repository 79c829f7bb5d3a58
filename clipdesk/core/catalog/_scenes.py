"""Video scenes: which embeddings are scenes of which video, and what a file carries.

A photo carries one embedding, stored under its content fingerprint. A video carries one
per scene, each stored under a fingerprint derived from the video's; ``video_scenes``
maps each back to the video and its times. The conditions here let the rest of the
catalog treat "has its vectors" and "is no file's any more" alike for both.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sqlalchemy import ColumnElement, Engine, and_, exists, select

from clipdesk.core.catalog.records import SceneRecord
from clipdesk.core.catalog.rows import stored_path
from clipdesk.core.catalog.schema import embeddings, files, video_scenes

__all__ = ["SceneTable", "carries_vectors", "scene_of_some_file"]

_SCENE_COLUMNS = (
    video_scenes.c.scene_fp,
    video_scenes.c.fingerprint,
    video_scenes.c.idx,
    video_scenes.c.start_s,
    video_scenes.c.end_s,
)


def _scene(row: object) -> SceneRecord:
    fp, video, idx, start, end = row  # type: ignore[misc]
    return SceneRecord(fp, video, int(idx), float(start), float(end))


def carries_vectors(model_key: str) -> ColumnElement[bool]:
    """A file whose vectors for ``model_key`` are stored: its own, or its scenes'."""
    own = exists().where(
        and_(embeddings.c.fingerprint == files.c.fingerprint, embeddings.c.model_key == model_key)
    )
    scenes = exists().where(
        and_(
            video_scenes.c.fingerprint == files.c.fingerprint,
            embeddings.c.fingerprint == video_scenes.c.scene_fp,
            embeddings.c.model_key == model_key,
        )
    )
    return own | scenes


def scene_of_some_file() -> ColumnElement[bool]:
    """An embedding that is a scene of a video some file still holds."""
    return exists().where(
        and_(
            video_scenes.c.scene_fp == embeddings.c.fingerprint,
            files.c.fingerprint == video_scenes.c.fingerprint,
        )
    )


class SceneTable:
    """Part of :class:`Catalog`: the scenes of videos, and the embeddings that are scenes."""

    engine: Engine

    def scenes_for_embeddings(self, ids: Iterable[int]) -> dict[int, SceneRecord]:
        """The scene each embedding id stands for; ids that are photos are left out."""
        id_list = [int(i) for i in ids]
        out: dict[int, SceneRecord] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(id_list), 500):
                query = (
                    select(embeddings.c.id, *_SCENE_COLUMNS)
                    .join(video_scenes, video_scenes.c.scene_fp == embeddings.c.fingerprint)
                    .where(embeddings.c.id.in_(id_list[start : start + 500]))
                )
                out.update({int(row[0]): _scene(row[1:]) for row in conn.execute(query)})
        return out

    def scenes_of_file(self, path: bytes) -> list[SceneRecord]:
        """A video file's scenes in time order (none for a photo or an unread video)."""
        query = (
            select(*_SCENE_COLUMNS)
            .join(files, files.c.fingerprint == video_scenes.c.fingerprint)
            .where(files.c.path == stored_path(path))
            .order_by(video_scenes.c.idx)
        )
        with self.engine.connect() as conn:
            return [_scene(row) for row in conn.execute(query)]

    def scene_vectors(self, scenes: Iterable[SceneRecord], model_key: str) -> np.ndarray:
        """The vectors of ``scenes`` for ``model_key``, one row each, in order."""
        fps = [s.scene_fp for s in scenes]
        with self.engine.connect() as conn:
            rows = dict(
                conn.execute(
                    select(embeddings.c.fingerprint, embeddings.c.vector).where(
                        embeddings.c.model_key == model_key, embeddings.c.fingerprint.in_(fps)
                    )
                ).all()
            )
        return np.stack([np.frombuffer(rows[fp], dtype=np.float32) for fp in fps if fp in rows])
