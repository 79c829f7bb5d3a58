"""Near-duplicate photos: bursts, edits, re-saves, resized and slightly cropped copies.

Two photos are near-duplicates when their embeddings are nearly identical (cosine at or
above a threshold). :func:`near_duplicate_pairs` and :func:`group_pairs` are pure
functions over vectors; :func:`find_duplicates` is the library job: it compares every
photo with every other (exactly, block by block, so nothing is missed), joins the pairs
into groups, and orders each group keeper first (most pixels, then the largest file:
the least compressed re-save). Byte-identical copies share one embedding and are always
a group.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from clipdesk.core.progress import CancelToken, Progress

if TYPE_CHECKING:
    from clipdesk.core.catalog import FileRecord
    from clipdesk.core.library import Library

DEFAULT_THRESHOLD = 0.95
NEIGHBOURS = 16  # near-duplicates kept per photo; a burst bigger than this still chains
BLOCK = 1024


def near_duplicate_pairs(
    vectors: np.ndarray, threshold: float, *, start: int = 0, stop: int | None = None
) -> list[tuple[int, int, float]]:
    """``(i, j, cosine)`` with ``i < j`` for rows ``start:stop`` against all rows."""
    stop = len(vectors) if stop is None else stop
    block = vectors[start:stop]
    if len(block) == 0:
        return []
    sims = block @ vectors.T
    k = min(NEIGHBOURS + 1, vectors.shape[0])
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    pairs = []
    for row, candidates in enumerate(top):
        i = start + row
        for j in candidates:
            s = float(sims[row, j])
            if j != i and s >= threshold:
                pairs.append((min(i, int(j)), max(i, int(j)), s))
    return pairs


def group_pairs(n: int, pairs: list[tuple[int, int, float]]) -> list[tuple[list[int], float]]:
    """Connected groups of rows (union-find) with the weakest link that joined each."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    # Strongest links first, so the recorded weakest link is that of a spanning tree.
    weakest: dict[int, float] = {}
    for i, j, s in sorted(pairs, key=lambda p: -p[2]):
        ri, rj = find(i), find(j)
        if ri == rj:
            continue
        parent[rj] = ri
        weakest[ri] = min(s, weakest.pop(ri, 1.0), weakest.pop(rj, 1.0))
    groups: dict[int, list[int]] = {}
    for x in range(n):
        groups.setdefault(find(x), []).append(x)
    return [(members, weakest[root]) for root, members in groups.items() if len(members) > 1]


@dataclass(frozen=True)
class DupePhoto:
    path: str
    width: int | None
    height: int | None
    size: int
    similarity: float  # cosine to the group's first photo

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "width": self.width,
            "height": self.height,
            "bytes": self.size,
            "similarity": round(self.similarity, 6),
        }


@dataclass(frozen=True)
class DupeGroup:
    photos: list[DupePhoto]  # the one to keep first
    similarity: float  # the weakest link in the group

    def to_json(self) -> dict[str, object]:
        return {
            "similarity": round(self.similarity, 6),
            "photos": [p.to_json() for p in self.photos],
        }


@dataclass
class DupeReport:
    groups: list[DupeGroup] = field(default_factory=list)
    photos: int = 0
    threshold: float = DEFAULT_THRESHOLD
    cancelled: bool = False
    elapsed_s: float = 0.0


def _keeper_key(record: FileRecord) -> tuple[int, int, bytes]:
    pixels = (record.width or 0) * (record.height or 0)
    return (-pixels, -record.size, record.path)


def _build_group(
    rows: list[int], link: float, files: dict[int, list[FileRecord]], vectors: np.ndarray
) -> DupeGroup | None:
    members = [(row, record) for row in rows for record in files.get(row, [])]
    if len(members) < 2:
        return None
    members.sort(key=lambda m: _keeper_key(m[1]))
    keeper = vectors[members[0][0]]
    photos = [
        DupePhoto(r.fspath, r.width, r.height, r.size, float(vectors[row] @ keeper))
        for row, r in members
    ]
    return DupeGroup(photos, link)


def find_duplicates(
    library: Library,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    cancel: CancelToken | None = None,
) -> Generator[Progress, None, DupeReport]:
    """Groups of near-duplicate photos, most certain first; yields progress."""
    cancel = cancel or CancelToken()
    started = time.monotonic()
    report = DupeReport(threshold=threshold)
    vectors_index = library.vectors
    labels = vectors_index.labels()
    report.photos = len(labels)
    yield Progress("dupes", 0, len(labels))
    if len(labels) == 0:
        return report
    vectors = vectors_index.get_vectors(labels)
    pairs: list[tuple[int, int, float]] = []
    for start in range(0, len(labels), BLOCK):
        pairs.extend(near_duplicate_pairs(vectors, threshold, start=start, stop=start + BLOCK))
        yield Progress("dupes", min(start + BLOCK, len(labels)), len(labels))
        if cancel.cancelled:
            report.cancelled = True
            report.elapsed_s = time.monotonic() - started
            return report
    grouped = group_pairs(len(labels), pairs)
    by_label = library.catalog.files_for_embeddings(labels.tolist())
    files = {row: by_label.get(int(label), []) for row, label in enumerate(labels)}
    seen = {row for rows, _ in grouped for row in rows}
    singles = [([row], 1.0) for row, records in files.items() if len(records) > 1]
    for rows, link in grouped + [s for s in singles if s[0][0] not in seen]:
        group = _build_group(rows, link, files, vectors)
        if group is not None:
            report.groups.append(group)
    report.groups.sort(key=lambda g: (-g.similarity, -len(g.photos), g.photos[0].path))
    report.elapsed_s = time.monotonic() - started
    return report
