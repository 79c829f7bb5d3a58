"""Saved generations: three files named, with sizes and checksums, in a manifest.

The manifest is replaced last, so a crash at any point leaves the previous generation
whole; whatever does not check out raises ``Invalid`` and the index opens empty.

Opening checks each file's size and modification time against the manifest, and hashes
a file only when they differ (a copied library, a file written over): hashing the graph
and the vectors cost a cold search at 100k photos most of a tenth of a second, at 1M
photos seconds. A kill cannot make a saved file and the manifest disagree unseen (files
are written whole under new names, the manifest last), and the index is compared with
the catalog on every open either way. What the quick check cannot see, bytes changed in
place with the time kept, ``clipdesk check`` finds: :func:`verify_generation` hashes
every file.

Format 1 (an hnswlib graph) is read without its graph: the vectors and labels
are checked as ever and the usearch graph is built from the float32 vectors once; the
next save writes format 2 and removes the old graph file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import usearch
from usearch.index import Index

from clipdesk.core.files import atomic_path, fsync_dir
from clipdesk.core.vectors import _graph
from clipdesk.core.vectors._dense import Dense
from clipdesk.core.vectors._graph import GraphParams

FORMAT_VERSION = 2
HNSWLIB_FORMAT = 1  # an hnswlib graph: rebuilt from the saved vectors on opening
MANIFEST = "manifest.json"
KINDS = {"graph": ".usearch", "vectors": ".npy", "labels": ".npy"}
OLD_GRAPH = ".bin"  # format 1's graph file, removed by the first save in format 2


class Invalid(Exception):
    """A saved index that must not be used; the message becomes ``problem``."""


@dataclass(frozen=True, slots=True)
class Generation:
    """One loaded generation: the graph, the dense copy and its number; ``migrated``
    when the graph was built from an older format's vectors (not yet saved)."""

    graph: Index
    dense: Dense
    number: int
    migrated: bool = False


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Write via a temporary name in the same directory: the real name is whole or absent."""
    with atomic_path(path) as tmp:
        write(tmp)


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as fh:
        np.save(fh, array, allow_pickle=False)


def _labels_digest(sorted_labels: np.ndarray) -> str:
    return hashlib.blake2b(sorted_labels.astype("<i8").tobytes(), digest_size=16).hexdigest()


def load_generation(directory: Path, dim: int, params: GraphParams) -> Generation | None:
    """The saved generation if it checks out; None for a new index; else ``Invalid``."""
    path = directory / MANIFEST
    if not path.exists():
        if directory.is_dir() and any(directory.glob("graph-*")):
            raise Invalid("index files without a manifest")
        return None  # a new index: nothing to report
    try:
        manifest = json.loads(path.read_text("utf-8"))
        files, count = manifest["files"], int(manifest["count"])
        version, saved_dim = int(manifest["format"]), int(manifest["dim"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise Invalid(f"manifest unreadable ({exc})") from None
    if version not in (FORMAT_VERSION, HNSWLIB_FORMAT):
        raise Invalid(f"index format {version}, this version reads {FORMAT_VERSION}")
    if saved_dim != dim:
        raise Invalid(f"index has dimension {saved_dim}, the model has {dim}")
    migrate = version == HNSWLIB_FORMAT
    paths = _checked_files(directory, files, full=False, kinds=_used(version))
    # Mapped copy-on-write, not read: a search that stays on the graph never brings the
    # dense copy into memory, and the pages it does read are the file cache's, which the
    # system can drop, not the process's own. A change writes private pages.
    vectors = np.load(paths["vectors"], mmap_mode="c", allow_pickle=False)
    labels = np.load(paths["labels"], allow_pickle=False)
    if vectors.dtype != np.float32 or vectors.shape != (count, dim):
        raise Invalid("vectors file has the wrong shape")
    if labels.dtype != np.int64 or labels.shape != (count,):
        raise Invalid("labels file has the wrong shape")
    dense = Dense(dim, vectors.view(np.ndarray), labels.copy())
    ordered = dense.sorted_labels
    if np.any(ordered[1:] == ordered[:-1]) or (count and ordered[0] < 0):
        raise Invalid("labels file has duplicates or negative labels")
    if _labels_digest(dense.sorted_labels) != manifest.get("labels_digest"):
        raise Invalid("labels do not match the manifest")
    number = int(manifest.get("generation", 0))
    if migrate:
        graph = _graph.build(dim, params, dense.row_label[:count], dense.vecs[:count])
        return Generation(graph, dense, number, migrated=True)
    loaded = _graph.load(paths["graph"], dim, params)
    if loaded is None:
        raise Invalid("graph file is not a float16 inner-product graph of this dimension")
    if len(loaded) != count or not np.all(loaded.contains(labels.astype(np.uint64))):
        raise Invalid("graph does not hold the saved labels")
    return Generation(loaded, dense, number)


def _used(version: int) -> tuple[str, ...]:
    """The files a format's generation is read from (format 1's graph is not)."""
    return ("vectors", "labels") if version == HNSWLIB_FORMAT else tuple(KINDS)


def _checked_files(
    directory: Path, files: dict, *, full: bool, kinds: tuple[str, ...] = tuple(KINDS)
) -> dict[str, Path]:
    """The generation's files, each checked against its manifest entry: size, then the
    modification time as saved, else (or with ``full``) its SHA-256."""
    paths: dict[str, Path] = {}
    for kind in kinds:
        entry = files[kind]
        file = directory / os.path.basename(entry["name"])
        try:
            stat = file.stat()
        except OSError:
            raise Invalid(f"{kind} file missing") from None
        unchanged = not full and stat.st_mtime_ns == entry.get("mtime_ns")
        if stat.st_size != entry["size"] or not (unchanged or _sha256(file) == entry["sha256"]):
            raise Invalid(f"{kind} file does not match the manifest")
        paths[kind] = file
    return paths


def verify_generation(directory: Path) -> str | None:
    """Why the saved generation in ``directory`` does not match its manifest byte for
    byte (every file hashed), or None when it does or none is saved."""
    path = directory / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text("utf-8"))
        files, version = manifest["files"], int(manifest["format"])
        _checked_files(directory, files, full=True, kinds=_used(version))
    except Invalid as exc:
        return str(exc)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"manifest unreadable ({exc})"
    return None


def save_generation(directory: Path, generation: Generation, params: GraphParams) -> None:
    """Write ``generation`` (graph, vectors, labels), then the manifest that names them."""
    directory.mkdir(parents=True, exist_ok=True)
    gen, dense, graph = generation.number, generation.dense, generation.graph
    n = dense.n
    writers: dict[str, Callable[[Path], None]] = {
        "graph": lambda p: _graph.save(graph, p),
        "vectors": lambda p: _save_npy(p, dense.vecs[:n]),
        "labels": lambda p: _save_npy(p, dense.row_label[:n]),
    }
    files = {}
    for kind, write in writers.items():
        path = directory / f"{kind}-{gen}{KINDS[kind]}"
        _write_atomic(path, write)
        stat = path.stat()
        files[kind] = {
            "name": path.name,
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "sha256": _sha256(path),
        }
    manifest = {
        "format": FORMAT_VERSION,
        "generation": gen,
        "dim": dense.vecs.shape[1],
        "count": n,
        "space": _graph.METRIC,
        "graph_dtype": _graph.DTYPE,
        "labels_digest": _labels_digest(dense.sorted_labels),
        "files": files,
        "params": {"m": params.m, "ef_construction": params.ef_construction},
        "usearch": usearch.__version__,
        "saved_at": time.time(),
    }
    text = json.dumps(manifest, indent=1)
    _write_atomic(directory / MANIFEST, lambda p: p.write_text(text, "utf-8"))
    fsync_dir(directory)
    _remove_stale(directory, {f["name"] for f in files.values()})


def _remove_stale(directory: Path, keep: set[str]) -> None:
    for path in directory.iterdir():
        name = path.name
        kinds = [*KINDS.items(), ("graph", OLD_GRAPH)]
        ours = name.endswith(".tmp") or any(
            name.startswith(f"{kind}-") and name.endswith(ext) for kind, ext in kinds
        )
        if ours and name not in keep:
            with contextlib.suppress(OSError):
                path.unlink()
