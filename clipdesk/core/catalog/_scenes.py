"""Video scenes: which embeddings are scenes of which video, and what a file carries.

A photo carries one embedding, stored under its content fingerprint. A video carries one
per scene, each stored under a fingerprint derived from the video's; ``video_scenes``
maps each back to the video and its times. The conditions here let the rest of the
catalog treat "has its vectors" and "is no file's any more" alike for both.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from sqlalchemy import BindParameter, ColumnElement, Engine, Select, and_, exists, select

from clipdesk.core.catalog.records import SceneRecord, scene_record
from clipdesk.core.catalog.rows import stored_path
from clipdesk.core.catalog.schema import embeddings, files, video_scenes

__all__ = [
    "SceneTable",
    "carries_vectors",
    "scene_of_some_file",
    "scenes_for_embeddings_query",
]

_SCENE_COLUMNS = (
    video_scenes.c.scene_fp,
    video_scenes.c.fingerprint,
    video_scenes.c.idx,
    video_scenes.c.start_s,
    video_scenes.c.end_s,
)


def scenes_for_embeddings_query(chosen: ColumnElement[bool]) -> Select[Any]:
    """``(embedding id, *scene columns)`` of the ``chosen`` embeddings that are scenes
    (the quick search runs the same SQL: ``quick_sql.py``)."""
    return (
        select(embeddings.c.id, *_SCENE_COLUMNS)
        .join(video_scenes, video_scenes.c.scene_fp == embeddings.c.fingerprint)
        .where(chosen)
    )


def carries_vectors(model_key: str | BindParameter[str]) -> ColumnElement[bool]:
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
                query = scenes_for_embeddings_query(
                    embeddings.c.id.in_(id_list[start : start + 500])
                )
                out.update({int(row[0]): scene_record(row[1:]) for row in conn.execute(query)})
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
            return [scene_record(row) for row in conn.execute(query)]

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
