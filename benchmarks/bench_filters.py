"""How long a search filter's allowed set takes to read from SQLite, at 100k photos.

A catalog of synthetic rows (ten years of photos in folders of 1,000, one in five a PNG,
one photo every 50 minutes) is built in a temporary folder; each filter's allowed set is
then read seven times and the median reported. This is the SQL half of a filtered
search; ``bench_search.py`` times the vector half and whole searches.

Run::

    .venv/bin/python benchmarks/bench_filters.py [--photos 100000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import benchlib  # noqa: F401  (puts the repository first on the path)
import numpy as np
from sqlalchemy import insert

from clipdesk.core.catalog import Catalog
from clipdesk.core.catalog.schema import embeddings, files
from clipdesk.core.search import Filters
from clipdesk.core.search.filters import conditions, excluded_bytes

T0 = 1_500_000_000  # the first photo's time, epoch seconds
STEP = 3000  # seconds between photos


def build(path: Path, n: int) -> Catalog:
    catalog = Catalog.open(path)
    root = catalog.add_root(b"/lib")
    now = time.time()
    rows, embs = [], []
    for i in range(1, n + 1):
        folder = b"/lib/y%d/f%04d" % ((i - 1) * 10 // n, (i - 1) // 1000)
        ext = ".png" if i % 5 == 0 else ".jpg"
        fp = f"{i:032x}"
        rows.append(
            {"root_id": root.id, "path": folder + b"/IMG_%06d%s" % (i, ext.encode()),
             "dir": folder, "ext": ext, "size": 1, "mtime_ns": (T0 + i * STEP) * 10**9,
             "inode": i, "fingerprint": fp, "status": "ok", "added_at": now, "updated_at": now}
        )  # fmt: skip
        embs.append(
            {"id": i, "fingerprint": fp, "model_key": "m", "vector": b"\0" * 16, "created_at": now}
        )
    with catalog.engine.begin() as conn:
        conn.execute(insert(files), rows)
        conn.execute(insert(embeddings), embs)
    catalog.refresh_statistics()  # as `clipdesk index` does at its end
    return catalog


def median_ms(call) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(7):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * sorted(times)[3]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=100_000)
    n = parser.parse_args().photos
    cases = {
        "--folder (1%)": Filters(folder="/lib/y0/f0000"),
        "--folder (10%)": Filters(folder="/lib/y0"),
        "--after (newest 10%)": Filters(after=T0 + 0.9 * n * STEP),
        "--after --before (1%)": Filters(after=T0 + 0.5 * n * STEP, before=T0 + 0.51 * n * STEP),
        "--type png (20%)": Filters(types=("png",)),
        "--type photo (100%)": Filters(types=("photo",)),
        "--type png --after --exclude (10%)": Filters(
            types=("png",), excluded=("/lib/y0",), after=T0 + 0.5 * n * STEP
        ),
    }
    with tempfile.TemporaryDirectory() as tmp:
        catalog = build(Path(tmp) / "catalog.db", n)
        print(f"{n:,} photos\n| filter | allowed | median ms |\n| --- | ---: | ---: |")
        for name, filters in cases.items():
            where = conditions(filters)
            allowed = catalog.allowed_embeddings("m", where)
            ms = median_ms(lambda w=where: catalog.allowed_embeddings("m", w))
            print(f"| {name} | {len(allowed):,} | {ms:.1f} |")
        for folder in ("/lib/y0", "/lib/y0/f0000"):
            filters = Filters(excluded=(folder,))
            gone = catalog.excluded_embeddings("m", excluded_bytes(filters))
            full = catalog.allowed_embeddings("m", conditions(filters))
            assert np.array_equal(np.setdiff1d(np.arange(1, n + 1), gone), full)
            ms = median_ms(lambda f=filters: catalog.excluded_embeddings("m", excluded_bytes(f)))
            whole = median_ms(lambda f=filters: catalog.allowed_embeddings("m", conditions(f)))
            print(
                f"| --exclude ({len(gone) / n:.0%}): what it takes away | {n - len(gone):,} "
                f"| {ms:.1f} (reading the allowed set: {whole:.1f}) |"
            )
        catalog.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
