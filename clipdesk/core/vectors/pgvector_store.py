"""One model's vectors in PostgreSQL: a pgvector table with an HNSW index (cosine).

The catalog's ``embeddings.vector`` (float32 bytes) stays the truth, as in a folder
library; this table is the search structure built from it, inside the same database, so
every computer that opens the library searches the same graph and none keeps a copy.
The graph holds ``halfvec`` (16-bit floats: half the memory and disk of ``vector``, and
the largest dimension HNSW takes is 4,000 instead of 2,000); the candidates it finds are
scored again from the float32 truth, so a search's scores are exactly those of the
folder library and half precision can only cost recall (BENCHMARKS.md measures it).

A library of up to 20,000 photos, and an allowed set (a filter) of up to 20,000, is
searched exactly: PostgreSQL scans the rows (``ORDER BY distance + 0`` keeps the graph
out of it), as the folder library scans its dense copy. Larger ones are searched in the
graph, a filtered one with pgvector's iterative scan, which keeps walking until enough
allowed rows are found.

A filter reaches the table as SQL (:class:`AllowedQuery`): the catalog's select of the
allowed embeddings is a semi-join in the one statement that orders by distance, so the
allowed ids are never read out and sent back (at 1M photos, 50,000 ids sent with each
query cost most of a second; BENCHMARKS.md). See :meth:`PgVectorStore._within` for how
it chooses between the scan and the graph.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable

import numpy as np
from sqlalchemy import (
    Engine,
    Float,
    any_,
    bindparam,
    cast,
    column,
    exists,
    func,
    literal_column,
    select,
    table,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, BIGINT
from sqlalchemy.types import UserDefinedType

from clipdesk.core.vectors._dense import as_labels, as_vectors
from clipdesk.core.vectors.allowed_query import AllowedQuery

__all__ = ["EXACT_LIMIT", "PgVectorStore", "table_name"]

# Libraries and allowed sets up to this size are searched exactly (a scan, no graph).
EXACT_LIMIT = 20_000
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 128
MIN_EF_SEARCH = 200
# A filtered search's nearest allowed rows lie deeper in the graph's order (with 30%
# allowed, the 10th is about the 33rd overall), so its beam is wider: on 50k clustered
# vectors recall@10 rose from 0.78 (200) to 0.95 (800) with 30% allowed, 0.89 to 0.91
# with 5%, for 1.7x and 0.9x the time (BENCHMARKS.md).
FILTERED_EF_SEARCH = 800
# Candidates rescored from float32: this many times k (and at least 40).
OVERSAMPLE = 2
# pgvector's own default, set on each graph search so that what the fallback below
# relies on is stated here: an iterative scan visits at most this many rows.
MAX_SCAN_TUPLES = 20_000
COUNT_TTL_S = 5.0  # how long a row count is reused (this process's writes reset it)
_LOCK = 0x636C6970766563  # advisory lock for creating a model's table


def table_name(model_key: str) -> str:
    """A table name for one model's vectors (model keys hold characters SQL names do not)."""
    return "vectors_" + hashlib.sha1(model_key.encode()).hexdigest()[:16]


def _literal(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in vector.tolist()) + "]"


_IDS = bindparam("ids", type_=ARRAY(BIGINT))


class _HalfVec(UserDefinedType[str]):
    """pgvector's ``halfvec``, for a CAST in a SQLAlchemy expression."""

    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return "halfvec"


class PgVectorStore:
    """A :class:`clipdesk.core.vectors.store.VectorStore` over a pgvector table."""

    filters_in_sql = True  # the table sits beside the catalog: filters join it in SQL

    def __init__(self, engine: Engine, model_key: str, dim: int) -> None:
        self.engine = engine
        self.model_key = model_key
        self.dim = int(dim)
        self.table = table_name(model_key)
        self.problem: str | None = None
        self._count: tuple[float, int] | None = None  # (when, rows)

    @classmethod
    def open(cls, engine: Engine, model_key: str, dim: int) -> PgVectorStore:
        """The model's table, made with its HNSW index the first time (one computer
        makes it; the others wait on an advisory lock and find it made)."""
        store = cls(engine, model_key, dim)
        t = store.table
        with engine.connect() as conn:  # made already: nothing to write (a read-only library)
            if conn.execute(text(f"SELECT to_regclass('{t}_hnsw')")).scalar() is not None:
                return store
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
            conn.execute(
                text(
                    f"CREATE TABLE IF NOT EXISTS {t} ("
                    " id bigint PRIMARY KEY REFERENCES embeddings(id) ON DELETE CASCADE,"
                    f" v halfvec({store.dim}) NOT NULL)"
                )
            )
            conn.execute(
                text(
                    f"CREATE INDEX IF NOT EXISTS {t}_hnsw ON {t} USING hnsw "
                    f"(v halfvec_cosine_ops) WITH (m = {HNSW_M}, "
                    f"ef_construction = {HNSW_EF_CONSTRUCTION})"
                )
            )
        return store

    # -- changes ------------------------------------------------------------------------

    def add(self, labels: np.ndarray, vectors: np.ndarray) -> None:
        """Store vectors under their embedding ids; ids already there are left alone."""
        labels = as_labels(labels)
        vectors = as_vectors(vectors, len(labels), self.dim)
        if not len(labels):
            return
        self._count = None
        rows = [{"i": int(i), "v": _literal(v)} for i, v in zip(labels, vectors, strict=True)]
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    f"INSERT INTO {self.table} (id, v) VALUES (:i, CAST(:v AS halfvec)) "
                    "ON CONFLICT (id) DO NOTHING"
                ),
                rows,
            )

    def remove(self, labels: Iterable[int] | np.ndarray) -> int:
        ids = [int(i) for i in as_labels(labels)]
        if not ids:
            return 0
        self._count = None
        with self.engine.begin() as conn:
            result = conn.execute(
                text(f"DELETE FROM {self.table} WHERE id = ANY(:ids)").bindparams(_IDS),
                {"ids": ids},
            )
        return int(result.rowcount or 0)

    def sync(
        self,
        labels: Iterable[int] | np.ndarray,
        fetch: Callable[[np.ndarray], np.ndarray],
        *,
        batch_size: int = 4096,
    ) -> int:
        """Make the table hold exactly ``labels`` (the catalog's ids for this model);
        returns how many rows were added. Rows whose embedding went are gone already
        (ON DELETE CASCADE); a process that died between committing an embedding and its
        row here left one missing, which this adds."""
        want = np.unique(as_labels(labels))
        have = self.labels()
        extra = np.setdiff1d(have, want, assume_unique=True)
        missing = np.setdiff1d(want, have, assume_unique=True)
        if len(extra):
            self.remove(extra)
        for start in range(0, len(missing), batch_size):
            chunk = missing[start : start + batch_size]
            self.add(chunk, fetch(chunk))
        return len(missing)

    def save(self) -> None:
        """Nothing to do: every change is committed as it is made."""

    @property
    def unsaved(self) -> bool:
        return False

    def verify(self) -> str | None:
        """Nothing to hash: PostgreSQL checks its own pages."""
        return None

    # -- reading ------------------------------------------------------------------------

    def __len__(self) -> int:
        """Rows in the table (counted again after this process writes, or after a few
        seconds for other computers' writes: a count of 1M rows takes tens of ms)."""
        now = time.monotonic()
        if self._count is None or now - self._count[0] > COUNT_TTL_S:
            with self.engine.connect() as conn:
                rows = int(conn.execute(text(f"SELECT count(*) FROM {self.table}")).scalar() or 0)
            self._count = (now, rows)
        return self._count[1]

    def __contains__(self, label: object) -> bool:
        if not isinstance(label, int | np.integer) or label < 0:
            return False
        with self.engine.connect() as conn:
            sql = text(f"SELECT 1 FROM {self.table} WHERE id = :i")
            return conn.execute(sql, {"i": int(label)}).first() is not None

    def labels(self) -> np.ndarray:
        """The stored ids, sorted."""
        with self.engine.connect() as conn:
            ids = conn.execute(text(f"SELECT id FROM {self.table} ORDER BY id")).scalars()
            return np.fromiter(ids, dtype=np.int64)

    def get_vectors(self, labels: Iterable[int] | np.ndarray) -> np.ndarray:
        """The float32 vectors (normalised) of these ids, from the catalog's truth."""
        labels = as_labels(labels)
        found = self._float_vectors(labels)
        missing = [int(i) for i in labels if int(i) not in found]
        if missing:
            raise KeyError(f"labels not in the index: {missing[:5]}")
        return (
            np.stack([found[int(i)] for i in labels])
            if len(labels)
            else np.empty((0, self.dim), np.float32)
        )

    def _float_vectors(self, labels: np.ndarray) -> dict[int, np.ndarray]:
        sql = text(
            f"SELECT e.id, e.vector FROM embeddings e JOIN {self.table} t ON t.id = e.id "
            "WHERE e.id = ANY(:ids)"
        ).bindparams(_IDS)
        with self.engine.connect() as conn:
            rows = conn.execute(sql, {"ids": [int(i) for i in labels]}).all()
        out: dict[int, np.ndarray] = {}
        for i, blob in rows:
            v = np.frombuffer(blob, dtype=np.float32)
            norm = float(np.linalg.norm(v))
            out[int(i)] = v / norm if norm > 0 else v
        return out

    def query(
        self,
        vector: np.ndarray,
        k: int,
        *,
        allowed: AllowedQuery | np.ndarray | set[int] | Iterable[int] | None = None,
    ) -> list[tuple[int, float]]:
        """The ``k`` nearest ids with their cosine scores, best first."""
        query = as_vectors(np.asarray(vector, np.float32).reshape(1, -1), 1, self.dim)[0]
        if k <= 0:
            return []
        n = max(k * OVERSAMPLE, 40)
        if isinstance(allowed, AllowedQuery):
            return self._rescored(query, self._within(query, n, allowed), k)
        ids: list[int] | None = None
        if allowed is not None:
            ids = [int(i) for i in np.unique(as_labels(allowed))]
            if not ids:
                return []
        exact = len(ids) <= EXACT_LIMIT if ids is not None else len(self) <= EXACT_LIMIT
        candidates = self._candidates(query, n, ids, exact=exact)
        return self._rescored(query, candidates, k)

    def _within(self, query: np.ndarray, n: int, allowed: AllowedQuery) -> np.ndarray:
        """The ``n`` nearest allowed ids, the filter joined in SQL.

        Exact where the id array was: a set of at most EXACT_LIMIT is scanned. Its size
        is not known without reading it, so one statement reads at most EXACT_LIMIT + 1
        of its ids inside the server and, when that was all of them, scans just those
        rows (:meth:`_scanned_if_small`). A larger set costs that bounded read (tens of
        ms at 1M photos; reading all its ids cost seconds) and is searched in the
        graph; an iterative scan stops after MAX_SCAN_TUPLES rows, so when the graph
        returns fewer than ``n`` (allowed photos far from the query) the set is scanned
        after all, and the answer holds every allowed photo it should. Going to the
        graph first, with no bounded read, would give a 1% filter at 1M photos the
        graph's approximate answer where the id array gave an exact one.
        """
        if len(self) > EXACT_LIMIT:
            small = self._scanned_if_small(query, n, allowed)
            if small is not None:
                return small
            found = self._nearest(query, n, allowed, exact=False)
            if len(found) >= n:
                return found
        return self._nearest(query, n, allowed, exact=True)

    def _scanned_if_small(
        self, query: np.ndarray, n: int, allowed: AllowedQuery
    ) -> np.ndarray | None:
        """The ``n`` nearest of a set of at most EXACT_LIMIT ids, by a scan; None when
        the set is larger (remembered for the rest of the search). One statement: the
        first EXACT_LIMIT + 1 ids are read once (a CTE), counted, and only when they
        are all the set are their rows fetched by key and sorted by distance."""
        key = f"{self.table}:large"
        if allowed.notes.get(key):
            return None
        rows = self._members(allowed) if allowed.denied else allowed.select
        first = rows.limit(EXACT_LIMIT + 1).cte("first")
        size = select(func.count().label("size")).select_from(first).cte("size")
        ids = cast(select(func.array_agg(first.c.id)).scalar_subquery(), ARRAY(BIGINT))
        t = self._table()
        found = (
            select(t.c.id)
            .where(size.c.size <= EXACT_LIMIT, t.c.id == any_(ids))
            .order_by(self._distance(query) + 0)
            .limit(n)
            .lateral("found")
        )
        sql = select(size.c.size, found.c.id).select_from(size.outerjoin(found, true()))
        with self.engine.connect() as conn:
            answer = conn.execute(sql).all()
        if not answer or answer[0][0] > EXACT_LIMIT:
            allowed.notes[key] = True
            return None
        return np.array([i for _, i in answer if i is not None], dtype=np.int64)

    def _table(self):  # type: ignore[no-untyped-def]
        return table(self.table, column("id", BIGINT), column("v"))

    def _distance(self, query: np.ndarray):  # type: ignore[no-untyped-def]
        q = cast(bindparam("q", _literal(query)), _HalfVec())
        return column("v").op("<=>", return_type=Float)(q)

    def _members(self, allowed: AllowedQuery, *, per_row: bool = False):  # type: ignore[no-untyped-def]
        """This table's ids in the allowed set, in one of two forms.

        By default the set is read once inside the server into an array, and the rows
        fetched by their key: the id array's plan, without the array's round trip (a
        semi-join measured 5x slower for a scan of 1,000 rows: PostgreSQL hashed the
        set and read the whole table). ``per_row`` checks each row where it is met,
        by its key instead (a correlated EXISTS; ``OFFSET 0`` keeps the planner from
        turning it into a join): the graph walks in distance order and looks up only
        the rows it visits, where reading the set first would read all of a 30%
        filter's rows. Denied ids (excluded folders) are few: a hashed NOT IN.
        """
        t = self._table()
        rows = allowed.select.subquery()
        if per_row:
            probe = select(rows.c.id).where(rows.c.id == t.c.id).offset(literal_column("0"))
            inside = ~exists(probe) if allowed.denied else exists(probe)
        elif allowed.denied:
            inside = t.c.id.not_in(allowed.select)
        else:
            ids = select(func.array_agg(rows.c.id)).scalar_subquery()
            inside = t.c.id == any_(cast(ids, ARRAY(BIGINT)))  # one array, made once
        return select(t.c.id).where(inside)

    def _nearest(
        self, query: np.ndarray, n: int, allowed: AllowedQuery, *, exact: bool
    ) -> np.ndarray:
        """One statement: the allowed rows nearest ``query``, by a scan or the graph."""
        distance = self._distance(query)
        order = distance + 0 if exact else distance
        sql = self._members(allowed, per_row=not exact).order_by(order).limit(n)
        with self.engine.begin() as conn:
            if not exact:
                self._graph_settings(conn, max(FILTERED_EF_SEARCH, n))
            return np.fromiter(conn.execute(sql).scalars(), dtype=np.int64)

    @staticmethod
    def _graph_settings(conn, ef: int) -> None:  # type: ignore[no-untyped-def]
        conn.execute(text(f"SET LOCAL hnsw.ef_search = {max(MIN_EF_SEARCH, ef)}"))
        conn.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
        conn.execute(text(f"SET LOCAL hnsw.max_scan_tuples = {MAX_SCAN_TUPLES}"))

    def _candidates(
        self, query: np.ndarray, n: int, ids: list[int] | None, *, exact: bool
    ) -> np.ndarray:
        """The ``n`` nearest ids by halfvec distance: by a scan (``exact``) or the graph."""
        where = "WHERE id = ANY(:ids)" if ids is not None else ""
        distance = "(v <=> CAST(:q AS halfvec))" + (" + 0" if exact else "")
        sql = text(f"SELECT id FROM {self.table} {where} ORDER BY {distance} LIMIT :n")
        params: dict[str, object] = {"q": _literal(query), "n": n}
        if ids is not None:
            sql = sql.bindparams(_IDS)
            params["ids"] = ids
        with self.engine.begin() as conn:
            if not exact:
                self._graph_settings(conn, n)
            return np.fromiter(conn.execute(sql, params).scalars(), dtype=np.int64)

    def _rescored(
        self, query: np.ndarray, candidates: np.ndarray, k: int
    ) -> list[tuple[int, float]]:
        if not len(candidates):
            return []
        found = self._float_vectors(candidates)
        if not found:
            return []
        labels = np.fromiter(found.keys(), dtype=np.int64, count=len(found))
        scores = np.stack(list(found.values())) @ query
        order = np.lexsort((labels, -scores))[:k]
        return [(int(labels[i]), float(scores[i])) for i in order]
