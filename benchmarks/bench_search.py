"""Search latency and HNSW recall at 10k, 100k and 1M photos.

Two levels, each measured in this run:

- **index**: ``VectorIndex.query`` with clustered synthetic vectors and queries
  (``vectors_data.py``): p50 / p99 latency, recall@10 against exact search for several
  ``ef`` values (the graph's M and ef_construction are clipdesk's defaults), and the
  same for searches restricted to a folder (1%, 10%, 30% of the library);
- **library**: ``Library.search`` end to end on a library of that many photos: the text
  is tokenised and encoded by the default model's architecture (random weights, same
  compute), the index searched, the files looked up in SQLite; also folder-filtered
  text queries and image queries (a photo already in the library, and a new file).

Run::

    .venv/bin/python benchmarks/bench_search.py            # 10k, 100k, 1M
    .venv/bin/python benchmarks/bench_search.py --quick    # 10k and 100k, fewer queries

The 1M index takes a long time to build on 2 cores; it is built once and kept.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import benchlib
import numpy as np
import vectors_data as vd
from benchlib import percentile, table, use_bench_dirs

from clipdesk.core.vectors import FILTERED_EXACT_SHARE, OVERSAMPLE
from clipdesk.core.vectors._search import exact

TEXTS = [
    "a dog on the beach",
    "birthday cake with candles",
    "snowy mountains at sunrise",
    "my red bicycle",
    "people dancing at a wedding",
    "a cat sleeping on a sofa",
    "receipts and invoices",
    "sunset over the sea",
    "a plate of pasta",
    "children playing football in the park",
]


def ms(values: list[float]) -> tuple[float, float]:
    return 1000 * percentile(values, 50), 1000 * percentile(values, 99)


def exact_top(index, q: np.ndarray, k: int, rows: np.ndarray | None = None) -> set[int]:
    return {label for label, _ in exact(index._dense, q, k, rows)}


def index_level(size: int, n_queries: int, efs: list[int]) -> tuple[list[list[object]], dict]:
    index = vd.ensure_index(size)
    queries = vd.queries(n_queries)
    rows: list[list[object]] = []
    out: dict[str, object] = {"m": index.m, "ef_construction": index.ef_construction}
    truth = [exact_top(index, q, 10) for q in queries]
    default_ef = index.ef_search
    for ef in sorted({*efs, default_ef}):
        index._graph.set_ef(ef)
        index.ef_search = ef
        lat, hits = [], 0
        for q, true in zip(queries, truth, strict=True):
            start = time.perf_counter()
            found = index.query(q, 20)  # rank() asks for k + 10
            lat.append(time.perf_counter() - start)
            hits += len({label for label, _ in found[:10]} & true)
        p50, p99 = ms(lat)
        recall = hits / (10 * len(queries))
        mark = " (default)" if ef == default_ef else ""
        rows.append([f"{size:,}", f"ef={ef}{mark}", f"{p50:.2f}", f"{p99:.2f}", f"{recall:.4f}"])
        out[f"ef{ef}"] = {"p50_ms": p50, "p99_ms": p99, "recall@10": recall}
    index._graph.set_ef(default_ef)
    index.ef_search = default_ef
    for share in (0.01, 0.10, 0.30):
        n_allowed = max(10, int(size * share))
        allowed = np.arange(1, n_allowed + 1, dtype=np.int64)  # one folder = a label range
        found_rows = index._dense.find(allowed)[1]
        lat, hits = [], 0
        for q in queries[: max(10, n_queries // 4)]:
            start = time.perf_counter()
            found = index.query(q, 20, allowed=allowed)
            lat.append(time.perf_counter() - start)
            hits += len({label for label, _ in found[:10]} & exact_top(index, q, 10, found_rows))
        p50, p99 = ms(lat)
        recall = hits / (10 * len(lat))
        wide = OVERSAMPLE * 20 / (n_allowed / size) + 20
        how = (
            "exact"
            if n_allowed <= FILTERED_EXACT_SHARE * index.exact_limit
            else ("wide HNSW, then filtered" if wide <= index.ef_search // 2 else "filtered HNSW")
        )
        rows.append(
            [
                f"{size:,}",
                f"folder {share:.0%} ({how})",
                f"{p50:.2f}",
                f"{p99:.2f}",
                f"{recall:.4f}",
            ]
        )
        out[f"folder{share}"] = {"p50_ms": p50, "p99_ms": p99, "recall@10": recall}
    return rows, out


def library_level(size: int, encoder, n_queries: int, photo: Path) -> tuple[list, dict]:
    from clipdesk.core.catalog import Catalog
    from clipdesk.core.library import CATALOG_FILE, Library
    from clipdesk.core.search import Filters

    path = vd.ensure_library(size, encoder)
    catalog = Catalog.open(path / CATALOG_FILE)
    library = Library(path, catalog, encoder=encoder)
    started = time.perf_counter()
    library.search(TEXTS[0], k=20)  # opens and checks the index against the database
    first = time.perf_counter() - started
    texts = [f"{TEXTS[i % len(TEXTS)]} {i}" for i in range(n_queries)]  # no cache hits
    rows, out = [], {"first_search_s": first}

    def measure(name: str, call, items) -> None:
        lat = []
        for item in items:
            start = time.perf_counter()
            results = call(item)
            lat.append(time.perf_counter() - start)
            assert results.hits, name
        p50, p99 = ms(lat)
        rows.append([f"{size:,}", name, f"{p50:.1f}", f"{p99:.1f}"])
        out[name] = {"p50_ms": p50, "p99_ms": p99}

    measure("text query", lambda t: library.search(t, k=20), texts)
    encode = []
    for t in texts[:20]:
        start = time.perf_counter()
        encoder.encode_texts([t])
        encode.append(time.perf_counter() - start)
    rows.append([f"{size:,}", "  of which text encoding", *(f"{v:.1f}" for v in ms(encode))])
    root = vd.LIBRARY_ROOT.decode()
    measure(
        "text query, one folder (1,000)",
        lambda t: library.search(t, k=20, folder=f"{root}/y0/f0000"),
        texts[: max(10, n_queries // 4)],
    )
    measure(
        f"text query, folder of {size // 10:,} (10%)",
        lambda t: library.search(t, k=20, folder=f"{root}/y0"),
        texts[: max(10, n_queries // 4)],
    )
    measure(
        f"text query, a folder of {size // 10:,} excluded",
        lambda t: library.search(t, k=20, filters=Filters(excluded=(f"{root}/y0",))),
        texts[: max(10, n_queries // 4)],
    )
    measure(
        "text query, --type jpeg --after 1970 (every photo passes)",
        lambda t: library.search(t, k=20, filters=Filters(types=("jpeg",), after=0.0)),
        texts[: max(10, n_queries // 4)],
    )
    measure(
        "text query with a -negative",
        lambda t: library.search(f"{t} -people", k=20),
        texts[: max(10, n_queries // 4)],
    )
    stored = [f"{root}/y0/f0000/IMG_{i:06d}.jpg" for i in range(1, 21)]
    measure("image query, photo in library", lambda p: library.search("", image=p), stored)
    measure("image query, new 12-MP photo", lambda p: library.search("", image=p), [photo] * 5)
    library.close()
    return rows, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k, fewer queries")
    parser.add_argument("--sizes", type=int, nargs="*", help="library sizes")
    parser.add_argument("--no-library", action="store_true", help="index level only")
    args = parser.parse_args()
    sizes = args.sizes or ([10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000])
    n_queries = 50 if args.quick else 200
    info = benchlib.print_conditions("search benchmark")
    results: dict[str, object] = {"conditions": info}
    index_rows, lib_rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        use_bench_dirs(Path(tmp))
        encoder = None
        if not args.no_library:
            from photos import ensure_photos

            from clipdesk.core.encoder import load_encoder

            name = benchlib.ensure_random_model()
            encoder = load_encoder(name, device="cpu", backend="onnx")
            print(f"encoder: {encoder!r}")
            photo = ensure_photos(benchlib.bench_dir() / "photos-12mp", 300)[-1]
        for size in sizes:
            print(f"{size:,} vectors:", flush=True)
            rows, out = index_level(size, n_queries, [16, 32, 64, 128])
            index_rows += rows
            results[f"index_{size}"] = out
            for r in rows:
                print("  " + " | ".join(r), flush=True)
            if encoder is not None:
                rows, out = library_level(size, encoder, n_queries, photo)
                lib_rows += rows
                results[f"library_{size}"] = out
                print(f"  first search (opens the index): {out['first_search_s']:.2f} s")
                for r in rows:
                    print("  " + " | ".join(r), flush=True)
    print()
    print("VectorIndex.query, k=20, clustered synthetic vectors (dim 512):")
    print(table(["vectors", "search", "p50 ms", "p99 ms", "recall@10"], index_rows))
    if lib_rows:
        print()
        print("Library.search end to end (default model architecture):")
        print(table(["photos", "query", "p50 ms", "p99 ms"], lib_rows))
    benchlib.save_results("search", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
