"""Filtered searches on a shared library: the filter is SQL inside the vector query.

On PostgreSQL a search's filters reach pgvector as the catalog's select itself, in the
statement that orders by distance (``PgVectorStore._within``), never as an array of
ids read out and sent back. The same photos give the same top k as the folder library
for every kind of filter, on both of the store's ways (a scan of a small set, the
graph's iterative scan), and a filter so selective that the graph finds too few still
returns every allowed photo, the true best ones.
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import event
from test_search_filters import brute_force

from clipdesk.core.library import Library
from clipdesk.core.progress import run_to_end
from clipdesk.core.search import Filters
from clipdesk.core.vectors import pgvector_store

K = 10


class Statements:
    """Every statement a library's engine runs, and whether one was handed a list (an
    array of ids, as ``WHERE id = ANY(:ids)`` binds one)."""

    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self.engine = engine
        self.run: list[str] = []
        self.with_arrays: list[str] = []
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn, _cursor, statement, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        self.run.append(statement)
        rows = parameters if isinstance(parameters, list) else [parameters]
        for row in rows:
            values = row.values() if isinstance(row, dict) else (row or ())
            if any(isinstance(v, list | tuple | np.ndarray) for v in values):
                self.with_arrays.append(statement)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


def _top(library: Library, text: str, filters: Filters) -> list[tuple[str, float]]:
    return [(h.path, round(h.score, 4)) for h in library.search(text, k=K, filters=filters).hits]


def _record_ways(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bool, int]]:
    """Each vector query the store makes within a filter: (a scan?, rows found)."""
    ways: list[tuple[bool, int]] = []
    nearest = pgvector_store.PgVectorStore._nearest

    def recorded(self, query, n, allowed, *, exact):  # type: ignore[no-untyped-def]
        found = nearest(self, query, n, allowed, exact=exact)
        ways.append((exact, len(found)))
        return found

    monkeypatch.setattr(pgvector_store.PgVectorStore, "_nearest", recorded)
    return ways


def test_filtered_searches_on_postgres_equal_the_folder_library(
    pg_url: str, sample_library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = Library.open(sample_library.copy(tmp_path / "lib"), model="tiny-shapes")
    shared = Library.open(pg_url, model="tiny-shapes")
    try:
        run_to_end(shared.index([sample_library.photos], workers=1))
        run_to_end(shared.tags.run())
        holiday = os.fspath(sample_library.photos / "holiday")
        tag = next(t for t in local.tags.list_tags() if 3 <= t.count <= 30).name
        times = sorted(os.stat(r.path).st_mtime for r in sample_library.records)
        filters = {
            "folder": Filters(folder=holiday),
            "tag": Filters(tag=tag),
            "date": Filters(after=statistics.median(times)),
            # Between two photos' times: at a photo's own time, SQLite's float division
            # of its mtime_ns and PostgreSQL's numeric one may round either side of it.
            "folder and date": Filters(folder=holiday, after=sum(times[9:11]) / 2),
            "excluded folder only": Filters(excluded=(holiday,)),
        }
        # A very selective filter: the three photos least like the query, tagged by
        # hand in both libraries.
        text = "a red circle"
        far = [h.path for h in local.search(text, k=40).hits][-3:]
        for library in (shared, local):
            library.tags.add_tag("far away", custom=True)
            library.tags.confirm("far away", far)
        filters["very selective"] = Filters(tag="far away")
        ways = _record_ways(monkeypatch)
        seen = Statements(shared.catalog.engine)
        try:
            # The library is small enough to be scanned; then, as a large one is,
            # first read up to a limit (20 of 40: a small set is scanned, a large one
            # goes to the graph); then every set counts as large.
            for exact_limit in (pgvector_store.EXACT_LIMIT, 20, 0):
                monkeypatch.setattr(pgvector_store, "EXACT_LIMIT", exact_limit)
                for name, chosen in filters.items():
                    for text in ("a red circle", "stripes"):
                        ours = _top(shared, text, chosen)
                        assert ours == _top(local, text, chosen), (name, exact_limit, text)
                        assert ours, name
        finally:
            seen.close()
        # Exactly the three, the true best, in both ways; in the graph's way the graph
        # found fewer than the candidates wanted, so the store scanned the set after.
        expected_ways = {
            pgvector_store.EXACT_LIMIT: [(True, 3)],  # a small library: scanned
            20: [],  # the bounded read found the whole set and scanned it, one statement
            0: [(False, 3), (True, 3)],
        }
        for exact_limit, expected in expected_ways.items():
            monkeypatch.setattr(pgvector_store, "EXACT_LIMIT", exact_limit)
            ways.clear()
            hits = [
                h.path for h in shared.search(text, k=K, filters=filters["very selective"]).hits
            ]
            assert hits == brute_force(shared, set(far), text, K) and len(hits) == min(K, 3)
            assert ways == expected, exact_limit
        searched = [s for s in seen.run if "ORDER BY" in s and "<=>" in s]
        assert searched  # the vector queries ran through this engine
        assert not [s for s in seen.with_arrays if "<=>" in s]  # no id array sent back
    finally:
        shared.close()
        local.close()
