"""Synthetic photo-library vectors, and saved indexes of them, for the search benchmarks.

Photo collections are clustered (bursts, events, the same places), so vectors are drawn
around a few thousand random centres with varied spreads, not uniformly on the sphere,
where nearest neighbours would be meaningless and HNSW recall misleading. Indexes are
built with clipdesk's own ``VectorIndex`` (its default M / ef values) and saved under the
benchmark folder: building 1M vectors takes a while on 2 cores, so it is done once.
"""

from __future__ import annotations

import contextlib
import fcntl
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import benchlib
import numpy as np
from benchlib import bench_dir

DIM = 512
CHUNK = 50_000


def centres(dim: int = DIM, n: int = 4000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((n, dim)).astype(np.float32)
    return c / np.linalg.norm(c, axis=1, keepdims=True)


def vectors(start: int, count: int, dim: int = DIM, seed: int = 1) -> np.ndarray:
    """Rows ``start .. start+count`` of the endless synthetic library (deterministic)."""
    c = centres(dim)
    rng = np.random.default_rng([seed, start])
    which = rng.integers(0, len(c), count)
    spread = rng.uniform(0.02, 0.06, (count, 1)).astype(np.float32)  # per-photo: 0.45-1.35
    out = c[which] + spread * rng.standard_normal((count, dim)).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def queries(count: int, dim: int = DIM, seed: int = 99) -> np.ndarray:
    """Queries like text queries: near a cluster, but further from it than its photos."""
    c = centres(dim)
    rng = np.random.default_rng(seed)
    which = rng.integers(0, len(c), count)
    out = c[which] + 0.07 * rng.standard_normal((count, dim)).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def index_path(size: int) -> Path:
    return bench_dir() / "indexes" / f"{size}"


def library_vectors(size: int, dim: int = DIM) -> np.ndarray:
    """Rows 1..size as :func:`ensure_index` adds them (in chunks), in one array."""
    return np.concatenate(
        [vectors(start, min(CHUNK, size - start), dim) for start in range(0, size, CHUNK)]
    )


def ensure_index(size: int, dim: int = DIM, log=None):
    """Clipdesk's ``VectorIndex`` holding labels 1..size; built and saved once.
    ``log`` (a callable taking a line) hears the progress; stderr by default."""
    if log is None:

        def log(line: str) -> None:
            print(line, file=sys.stderr, flush=True)

    path = index_path(size)
    with _building(path):
        return _ensure_index(path, size, dim, log)


@contextlib.contextmanager
def _building(path: Path) -> Iterator[None]:
    """One process builds an index at a time: another that wants the same one waits
    for it and then opens what it saved (``vectors_data.py 1000000`` can build the 1M
    index ahead of ``bench_pgvector``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f"{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _ensure_index(path: Path, size: int, dim: int, log):  # type: ignore[no-untyped-def]
    from clipdesk.core.vectors import VectorIndex

    index = VectorIndex.open(path, dim)
    if len(index) == size and not index.problem:
        return index
    index = VectorIndex(path, dim)
    started = time.perf_counter()
    log(f"building an index of {size:,} vectors in {path} (once)...")
    for start in range(0, size, CHUNK):
        n = min(CHUNK, size - start)
        labels = np.arange(start + 1, start + n + 1, dtype=np.int64)
        index.add(labels, vectors(start, n, dim))
        if size >= 200_000:
            rate = (start + n) / (time.perf_counter() - started)
            log(f"  {start + n:,} ({rate:.0f}/s)")
    took = time.perf_counter() - started
    log(f"  built in {took:.0f} s")
    try:  # a full disk must not throw away an hour's build: search it from memory
        index.save()
        (path / "build_seconds.txt").write_text(f"{took:.1f}\n")
    except OSError as exc:
        log(f"  not saved ({exc}); searched from memory")
    return index


if __name__ == "__main__":
    sizes = [int(s) for s in sys.argv[1:]] or [10_000, 100_000, 1_000_000]
    benchlib.print_conditions("building indexes")
    for size in sizes:
        ensure_index(size)


PHOTOS_PER_FOLDER = 1000
LIBRARY_ROOT = b"/bench-photos"


def library_path(size: int) -> Path:
    return bench_dir() / "libraries" / f"{size}"


def _refresh_statistics(catalog_file: Path) -> None:
    """As ``clipdesk index`` leaves a library; and its root online again: its folder does
    not exist, so a window or watcher that looked at it marked its photos offline, and
    searches skip offline photos."""
    from clipdesk.core.catalog import Catalog

    catalog = Catalog.open(catalog_file)
    try:
        catalog.refresh_statistics()
        for root in catalog.roots():
            if not root.online:
                catalog.set_root_online(root.id, True)
    finally:
        catalog.close()


def ensure_library(size: int, encoder) -> Path:
    """A clipdesk library of ``size`` photos (no files on disk) whose vectors are the index.

    Photos sit in ten folders of 10% each, split in folders of 1,000
    (``/bench-photos/y0/f0000/IMG_000001.jpg``); embedding id
    ``i`` is photo ``i`` and label ``i`` of :func:`ensure_index`, whose files are linked
    into the library, so opening it finds database and index in agreement.
    """
    import os
    import shutil

    from sqlalchemy import insert

    from clipdesk.core.catalog import Catalog
    from clipdesk.core.catalog.schema import embeddings, files
    from clipdesk.core.library import CATALOG_FILE, index_dir_name

    key = encoder.model_key
    path = library_path(size)
    marker = path / f".complete-{index_dir_name(key)}"
    if marker.exists():
        _refresh_statistics(path / CATALOG_FILE)  # as ``clipdesk index`` leaves it
        return path
    index = ensure_index(size, encoder.dim)
    del index
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    started = time.perf_counter()
    print(f"building a {size:,}-photo library in {path} (once)...", file=sys.stderr)
    catalog = Catalog.open(path / CATALOG_FILE)
    catalog.register_model(key, encoder.spec.name, encoder.dim)
    catalog.set_meta("model_name", encoder.spec.name)
    catalog.set_meta("model_key", key)
    root = catalog.add_root(LIBRARY_ROOT)
    now = time.time()
    for start in range(0, size, CHUNK):
        n = min(CHUNK, size - start)
        vecs = vectors(start, n, encoder.dim)
        rows, embs = [], []
        for j in range(n):
            i = start + j + 1
            year = (i - 1) * 10 // size
            folder = LIBRARY_ROOT + b"/y%d/f%04d" % (year, (i - 1) // PHOTOS_PER_FOLDER)
            fp = f"{i:032x}"
            rows.append(
                {"root_id": root.id, "path": folder + b"/IMG_%06d.jpg" % i, "dir": folder,
                 "size": 3_000_000, "mtime_ns": 0, "inode": i, "fingerprint": fp,
                 "ext": ".jpg", "width": 4000, "height": 3000, "status": "ok", "added_at": now,
                 "updated_at": now}
            )  # fmt: skip
            embs.append(
                {"id": i, "fingerprint": fp, "model_key": key,
                 "vector": vecs[j].tobytes(), "created_at": now}
            )  # fmt: skip
        with catalog.engine.begin() as conn:
            conn.execute(insert(files), rows)
            conn.execute(insert(embeddings), embs)
    catalog.refresh_statistics()  # as ``clipdesk index`` does at its end
    catalog.close()
    target = path / "vectors" / index_dir_name(key)
    target.mkdir(parents=True)
    for item in index_path(size).iterdir():
        if item.suffix in (".bin", ".usearch", ".npy"):
            os.link(item, target / item.name)  # the same bytes, no second copy on disk
        elif item.name == "manifest.json":
            shutil.copy2(item, target / item.name)
    marker.touch()
    print(f"  built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path
