"""A video as one vector: the mean of its scenes' vectors, normalised.

A search needs each scene apart, to land on the right second; a near-duplicate search and
``similar VIDEO`` compare whole videos. Two encodings of one clip cut into the same
scenes with the same pictures, so their means nearly coincide, while a video and a
different one that shares a scene do not.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from clipdesk.core.catalog.records import SceneRecord

__all__ = ["mean_vector", "one_row_per_video"]


def mean_vector(vectors: np.ndarray) -> np.ndarray:
    """The normalised mean of a video's scene vectors (rows)."""
    mean = np.asarray(vectors, dtype=np.float64).mean(axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


def one_row_per_video(
    labels: np.ndarray, vectors: np.ndarray, scenes: Mapping[int, SceneRecord]
) -> tuple[np.ndarray, np.ndarray]:
    """Labels and vectors with each video's scene rows replaced by one row: its first
    scene's label (which the catalog maps to the video's files) and the mean vector."""
    keep: list[int] = []
    by_video: dict[str, list[int]] = {}
    for row, label in enumerate(labels.tolist()):
        scene = scenes.get(int(label))
        if scene is None:
            keep.append(row)
        else:
            by_video.setdefault(scene.video_fp, []).append(row)
    out_labels = [int(labels[row]) for row in keep]
    out_vectors = [vectors[row] for row in keep]
    for rows in by_video.values():
        rows.sort(key=lambda r: scenes[int(labels[r])].index)
        out_labels.append(int(labels[rows[0]]))
        out_vectors.append(mean_vector(vectors[rows]))
    if not out_vectors:
        return np.zeros(0, np.int64), np.zeros((0, vectors.shape[1]), np.float32)
    return np.array(out_labels, dtype=np.int64), np.stack(out_vectors).astype(np.float32)
