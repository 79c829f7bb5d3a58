"""An index as the hnswlib version of clipdesk saved it (format 1), written with hnswlib."""

from __future__ import annotations

import json
from pathlib import Path

import hnswlib
import numpy as np

from clipdesk.core.vectors import _files as vectors_files


def save_as_hnswlib_did(folder: Path, labels: np.ndarray, data: np.ndarray) -> None:
    """A generation in format 1, written the way the hnswlib version saved one."""
    folder.mkdir(parents=True, exist_ok=True)
    number, dim = 3, data.shape[1]
    graph = hnswlib.Index(space="ip", dim=dim)
    graph.init_index(max_elements=2 * len(labels), ef_construction=200, M=16, random_seed=100)
    graph.add_items(data, labels.astype(np.uint64))
    graph.save_index(str(folder / f"graph-{number}.bin"))
    np.save(folder / f"vectors-{number}.npy", data, allow_pickle=False)
    np.save(folder / f"labels-{number}.npy", labels.astype(np.int64), allow_pickle=False)
    files = {}
    for kind, ext in (("graph", ".bin"), ("vectors", ".npy"), ("labels", ".npy")):
        path = folder / f"{kind}-{number}{ext}"
        stat = path.stat()
        files[kind] = {"name": path.name, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                       "sha256": vectors_files._sha256(path)}  # fmt: skip
    manifest = {
        "format": 1, "generation": number, "dim": dim, "count": len(labels), "space": "ip",
        "labels_digest": vectors_files._labels_digest(np.sort(labels)), "files": files,
        "params": {"m": 16, "ef_construction": 200}, "hnswlib": "0.8.0", "saved_at": 0.0,
    }  # fmt: skip
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1), "utf-8")
