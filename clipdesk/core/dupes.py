"""Near-duplicate photos: bursts, edits, re-saves, resized and slightly cropped copies.

Candidates come from the embeddings: each photo's nearest neighbours with a cosine of at
least ``CANDIDATE_FLOOR``. Embeddings alone cannot settle it (a small model may put a 5%
crop at 0.65 and two different pictures of a red circle at 0.98), so every candidate pair
is also compared in pixels: small colour thumbnails, zero-mean, matched by normalised
correlation over a few crop windows (so a cropped copy finds its part of the original).
A pair is a near-duplicate when

- the pixels match (``PIXEL_MATCH``): a copy, re-save, resize or slight crop; or
- the embeddings are nearly identical (``threshold``) and the pixels broadly agree
  (``PIXEL_LOOSE``): a burst or an edit.

Pairs are joined into groups; groups come most certain first, each keeper first (most
pixels, then a lossless file, then the largest file: the least compressed re-save).
Byte-identical copies share one embedding and are always a group. A video counts as one
photo, with the mean of its scenes' vectors, so a re-encoded clip finds its original.
:func:`near_duplicate_pairs`, :func:`group_pairs` and :func:`pixel_match` are pure
functions; :func:`find_duplicates` is the library job.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from clipdesk.core.dupe_threshold import DEFAULT_THRESHOLD
from clipdesk.core.progress import CancelToken, Progress

if TYPE_CHECKING:
    from PIL import Image

    from clipdesk.core.catalog import FileRecord
    from clipdesk.core.library import Library

CANDIDATE_FLOOR = 0.5
PIXEL_MATCH = 0.92
PIXEL_LOOSE = 0.8
NEIGHBOURS = 32
BLOCK = 1024
THUMB, SIG = 32, 16
CROPS = (1.0, 0.92, 0.85)  # window sizes (per axis) tried when matching pixels
_VIEW_CACHE = 4096


# -- pure functions -------------------------------------------------------------------------


def near_duplicate_pairs(
    vectors: np.ndarray,
    floor: float,
    *,
    start: int = 0,
    stop: int | None = None,
    neighbours: int = NEIGHBOURS,
) -> list[tuple[int, int, float]]:
    """``(i, j, cosine)`` with ``i < j``: the nearest neighbours of rows ``start:stop``
    whose cosine is at least ``floor``."""
    stop = len(vectors) if stop is None else stop
    block = vectors[start:stop]
    if len(block) == 0:
        return []
    sims = block @ vectors.T
    k = min(neighbours + 1, vectors.shape[0])
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    pairs = []
    for row, candidates in enumerate(top):
        i = start + row
        for j in candidates:
            s = float(sims[row, j])
            if j != i and s >= floor:
                pairs.append((min(i, int(j)), max(i, int(j)), s))
    return sorted(set(pairs))


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


def thumbnail(image: Image.Image) -> np.ndarray:
    """A ``THUMB`` x ``THUMB`` RGB thumbnail (uint8), the whole picture squeezed square."""
    from PIL import Image as PILImage

    small = image.convert("RGB").resize((THUMB, THUMB), PILImage.Resampling.BOX)
    return np.asarray(small, dtype=np.uint8)


def _normalised(pixels: np.ndarray) -> np.ndarray:
    v = pixels.astype(np.float32).reshape(-1, 3)
    v -= v.mean(axis=0)
    norm = float(np.linalg.norm(v))
    return (v / norm).ravel() if norm > 1e-6 else v.ravel()


def views(thumb: np.ndarray) -> np.ndarray:
    """``(windows, 3 * SIG * SIG)``: the whole thumbnail first, then crop windows of it."""
    from PIL import Image as PILImage

    image = PILImage.fromarray(thumb)
    out = []
    for sx in CROPS:
        for sy in CROPS:
            w, h = THUMB * sx, THUMB * sy
            for x in (0.0,) if sx == 1.0 else (0.0, (THUMB - w) / 2, THUMB - w):
                for y in (0.0,) if sy == 1.0 else (0.0, (THUMB - h) / 2, THUMB - h):
                    box = (x, y, x + w, y + h)
                    resized = image.resize((SIG, SIG), PILImage.Resampling.BILINEAR, box=box)
                    out.append(_normalised(np.asarray(resized)))
    return np.stack(out)


def pixel_match(views_a: np.ndarray, views_b: np.ndarray) -> float:
    """Best correlation of either whole picture with a crop window of the other (-1..1)."""
    return max(float((views_a @ views_b[0]).max()), float((views_b @ views_a[0]).max()))


# -- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DupePhoto:
    path: str
    width: int | None
    height: int | None
    size: int
    similarity: float  # embedding cosine to the group's first photo
    match: float | None  # pixel match with the group's first photo, None if unreadable

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "width": self.width,
            "height": self.height,
            "bytes": self.size,
            "similarity": round(self.similarity, 6),
            "match": None if self.match is None else round(self.match, 6),
        }


@dataclass(frozen=True)
class DupeGroup:
    photos: list[DupePhoto]  # the one to keep first
    similarity: float  # the weakest link's embedding cosine

    def to_json(self) -> dict[str, object]:
        return {
            "similarity": round(self.similarity, 6),
            "photos": [p.to_json() for p in self.photos],
        }


@dataclass
class DupeReport:
    groups: list[DupeGroup] = field(default_factory=list)
    photos: int = 0
    candidates: int = 0
    threshold: float = DEFAULT_THRESHOLD
    cancelled: bool = False
    elapsed_s: float = 0.0


# -- the job --------------------------------------------------------------------------------


class _Views:
    """Pixel views of photos, read when first needed and kept for the most recent ones."""

    def __init__(self, files: dict[int, list[FileRecord]]) -> None:
        self.files = files
        self.cache: OrderedDict[int, np.ndarray | None] = OrderedDict()

    def get(self, row: int) -> np.ndarray | None:
        if row in self.cache:
            self.cache.move_to_end(row)
            return self.cache[row]
        value = self._read(row)
        self.cache[row] = value
        if len(self.cache) > _VIEW_CACHE:
            self.cache.popitem(last=False)
        return value

    def _read(self, row: int) -> np.ndarray | None:
        from clipdesk.core.errors import ImageReadError
        from clipdesk.core.imageio import read_image

        for record in self.files.get(row, []):
            try:
                image = read_image(Path(record.fspath), target_size=THUMB * 2).image
                return views(thumbnail(image))
            except (ImageReadError, OSError):
                continue
        return None


LOSSLESS_SUFFIXES = (b".png", b".tif", b".tiff", b".bmp")


def _keeper_key(record: FileRecord) -> tuple[int, bool, int, bytes]:
    """Most pixels; then a lossless file (a flat PNG can be smaller than its own JPEG
    re-save); then the largest file, the least compressed re-save."""
    pixels = (record.width or 0) * (record.height or 0)
    lossy = not record.path.lower().endswith(LOSSLESS_SUFFIXES)
    return (-pixels, lossy, -record.size, record.path)


def _build_group(
    rows: list[int],
    link: float,
    files: dict[int, list[FileRecord]],
    vectors: np.ndarray,
    pixels: _Views,
) -> DupeGroup | None:
    members = [(row, record) for row in rows for record in files.get(row, [])]
    if len(members) < 2:
        return None
    members.sort(key=lambda m: _keeper_key(m[1]))
    keeper_row = members[0][0]
    keeper_views = pixels.get(keeper_row)
    photos = []
    for row, r in members:
        other = pixels.get(row) if keeper_views is not None else None
        match = None if other is None else pixel_match(keeper_views, other)  # type: ignore[arg-type]
        photos.append(
            DupePhoto(
                r.fspath,
                r.width,
                r.height,
                r.size,
                float(vectors[row] @ vectors[keeper_row]),
                match,
            )
        )
    return DupeGroup(photos, link)


def _is_duplicate(cosine: float, match: float | None, threshold: float) -> bool:
    if match is None:  # no pixels to compare: trust only nearly identical embeddings
        return cosine >= threshold
    return match >= PIXEL_MATCH or (cosine >= threshold and match >= PIXEL_LOOSE)


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
    index = library.vectors
    labels = index.labels()
    report.photos = len(labels)
    yield Progress("dupes", 0, len(labels), "comparing embeddings")
    if len(labels) == 0:
        return report
    vectors = index.get_vectors(labels)
    scenes = library.catalog.scenes_for_embeddings(labels.tolist())
    if scenes:  # a video is compared whole, not scene by scene
        from clipdesk.core.video.vectors import one_row_per_video

        labels, vectors = one_row_per_video(labels, vectors, scenes)
        report.photos = len(labels)
    floor = min(CANDIDATE_FLOOR, threshold)
    candidates: list[tuple[int, int, float]] = []
    for start in range(0, len(labels), BLOCK):
        candidates.extend(near_duplicate_pairs(vectors, floor, start=start, stop=start + BLOCK))
        yield Progress("dupes", min(start + BLOCK, len(labels)), len(labels))
        if cancel.cancelled:
            report.cancelled = True
            return report
    candidates = sorted(set(candidates))
    report.candidates = len(candidates)
    by_label = library.catalog.files_for_embeddings(labels.tolist())
    files = {row: by_label.get(int(label), []) for row, label in enumerate(labels)}
    pixels = _Views(files)
    pairs = []
    for done, (i, j, cosine) in enumerate(candidates, 1):
        a, b = pixels.get(i), pixels.get(j)
        match = None if a is None or b is None else pixel_match(a, b)
        if _is_duplicate(cosine, match, threshold):
            pairs.append((i, j, cosine))
        if done % 64 == 0 or done == len(candidates):
            yield Progress("dupes-pixels", done, len(candidates), "comparing pixels")
            if cancel.cancelled:
                report.cancelled = True
                return report
    grouped = group_pairs(len(labels), pairs)
    seen = {row for rows, _ in grouped for row in rows}
    singles = [
        ([row], 1.0) for row, records in files.items() if len(records) > 1 and row not in seen
    ]
    for rows, link in grouped + singles:
        group = _build_group(rows, link, files, vectors, pixels)
        if group is not None:
            report.groups.append(group)
    report.groups.sort(
        key=lambda g: (-min(p.match or 0.0 for p in g.photos), -g.similarity, g.photos[0].path)
    )
    report.elapsed_s = time.monotonic() - started
    return report
