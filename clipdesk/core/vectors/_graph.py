"""The HNSW graph: usearch, holding each vector in float16 beside its links.

The graph only proposes candidates: every answer is scored again from the float32 dense
copy (``_search``), so float16's rounding (about 1e-3 on a cosine) never reaches a score
and hardly an order. Half-size vectors are what makes the graph about 1.2 KiB per
512-d photo instead of hnswlib's 2.2 (a float32 copy, a mutex, a level and a hash-map
entry per slot).

usearch refuses a key it already holds, so a changed vector is removed and added again;
removed slots are reused by later additions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from usearch.index import Index, MetricKind, ScalarKind

DTYPE = "f16"
METRIC = "ip"  # vectors are normalised: inner product is the cosine


@dataclass(frozen=True, slots=True)
class GraphParams:
    """Connectivity (HNSW's M) and the candidate lists when adding and searching."""

    m: int = 16
    ef_construction: int = 200
    ef_search: int = 256


def new_graph(dim: int, params: GraphParams) -> Index:
    return Index(
        ndim=dim,
        metric=METRIC,
        dtype=DTYPE,
        connectivity=params.m,
        expansion_add=params.ef_construction,
        expansion_search=params.ef_search,
    )


def build(dim: int, params: GraphParams, labels: np.ndarray, vectors: np.ndarray) -> Index:
    """A graph of these vectors (rows of ``vectors``, keyed by ``labels``)."""
    graph = new_graph(dim, params)
    if len(labels):
        add(graph, labels, vectors)
    return graph


def add(graph: Index, labels: np.ndarray, vectors: np.ndarray) -> None:
    """Add labels the graph does not hold (every core for a large batch)."""
    threads = 1 if len(labels) < 64 else 0
    graph.add(labels.astype(np.uint64), vectors, threads=threads)


def remove(graph: Index, labels: np.ndarray) -> None:
    if len(labels):
        graph.remove(labels.astype(np.uint64))


def slots(graph: Index) -> int:
    """Nodes in the graph, removed ones included (they stay until reused)."""
    return int(graph.stats.nodes)


def candidates(graph: Index, query: np.ndarray, count: int) -> np.ndarray:
    """Up to ``count`` labels near ``query``, nearest first (by the float16 copy)."""
    return graph.search(query, count, threads=1).keys.astype(np.int64)


def _text_path(path: Path) -> str | None:
    """``path`` as usearch takes it (text, UTF-8 on POSIX), or None when it cannot be:
    a folder named in other bytes (which Python keeps as surrogates)."""
    if os.name == "nt":
        return str(path)
    try:
        return os.fsencode(path).decode("utf-8")
    except UnicodeDecodeError:
        return None


def save(graph: Index, path: Path) -> None:
    text = _text_path(path)
    if text is not None:
        graph.save(text)
    else:  # through memory, which Python writes under any name
        with open(path, "wb") as fh:
            fh.write(graph.save())


def load(path: Path, dim: int, params: GraphParams) -> Index | None:
    """The saved graph, or None when the file is not a float16 inner-product graph of
    ``dim``. Connectivity is the file's; the candidate lists are ``params``'."""
    text = _text_path(path)
    graph = Index.restore(text if text is not None else path.read_bytes())
    if (
        graph is None
        or graph.ndim != dim
        or graph.dtype != ScalarKind.F16
        or graph.metric_kind != MetricKind.IP
    ):
        return None
    graph.expansion_add = params.ef_construction
    graph.expansion_search = params.ef_search
    return graph
