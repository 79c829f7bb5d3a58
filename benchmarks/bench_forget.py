"""Removing photos: what deleting their text and faces with them costs.

A SQLite catalog of N photos, each with text read in it (FTS5 entry included), one face
and its record of a look for faces, is copied twice; one scan then removes half of
the photos from each copy: once as clipdesk does it (``orphans.let_go`` in the same
transaction), once with that step left out (the files alone, as before), which is the
baseline. Then ``remove_root`` of the other half, and the ``clipdesk check`` count of
rows no file holds (``orphan_rows``) over the whole library.

Run::

    nice -n 19 .venv/bin/python benchmarks/bench_forget.py [--photos 20000] [--runs 3]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from benchlib import median, table

from clipdesk.core.catalog import Catalog, DecodedFacts, StatEntry, _indexing, _roots
from clipdesk.core.catalog.records import PhotoText, TextLine
from clipdesk.core.faces.detect import FoundFace
from clipdesk.core.people.store import PeopleStore

BOX = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))


def build(path: Path, photos: int) -> None:
    catalog = Catalog.open(path)
    root = catalog.add_root(b"/p")
    entries = [StatEntry(b"/p/%08d.jpg" % i, 1, 1, i) for i in range(photos)]
    catalog.apply_scan(root.id, added=entries)
    ids = {f.path: f.id for f in catalog.files_of_root(root.id).values()}
    rng = np.random.default_rng(0)
    store = PeopleStore(catalog.engine)
    for start in range(0, photos, 1000):
        chunk = entries[start : start + 1000]
        decoded = []
        found = []
        for entry in chunk:
            fp = f"{entry.inode:032x}"
            words = PhotoText((TextLine(f"shop {entry.inode} open", 0.9, BOX),), 10, 10)
            decoded.append((ids[entry.path], DecodedFacts(fp, 10, 10, text=words)))
            vector = rng.normal(size=128).astype(np.float32)
            found.append((fp, (FoundFace((0.1, 0.1, 0.3, 0.3), 0.9, vector),)))
        catalog.record_results("m", decoded=decoded)
        store.record(found, "hog")
    catalog.close()


def timed(action) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def measure(path: Path, *, let_go: bool) -> tuple[float, float, float]:
    """Seconds for a scan removing half the photos, then removing the root (the other
    half), then counting the rows no file holds; ``let_go=False`` is the baseline."""
    catalog = Catalog.open(path)
    root = catalog.roots()[0]
    files = sorted(catalog.files_of_root(root.id).values(), key=lambda f: f.path)
    half = [f.id for f in files[: len(files) // 2]]
    saved = _indexing.let_go, _roots.let_go
    if not let_go:
        _indexing.let_go = _roots.let_go = lambda conn, fps: 0
    try:
        scan = timed(lambda: catalog.apply_scan(root.id, removed=half))
        whole = timed(lambda: catalog.remove_root(root.id))
    finally:
        _indexing.let_go, _roots.let_go = saved
    count = timed(catalog.orphan_rows)
    catalog.close()
    return scan, whole, count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "template.db"
        print(f"building {args.photos} photos with text and a face each ...")
        build(template, args.photos)
        figures: dict[bool, list[tuple[float, float, float]]] = {False: [], True: []}
        for run in range(args.runs):
            for let_go in (False, True):  # interleaved: load hits both alike
                path = Path(tmp) / f"{let_go}-{run}.db"
                shutil.copy(template, path)
                figures[let_go].append(measure(path, let_go=let_go))
        rows = []
        steps = ("a scan removes half", "remove_root (the other half)", "check's count after")
        for i, step in enumerate(steps):
            base = median([f[i] for f in figures[False]])
            ours = median([f[i] for f in figures[True]])
            rows.append(
                [step, f"{base * 1000:.0f} ms", f"{ours * 1000:.0f} ms", f"{ours / base:.2f}x"]
            )
        print(table(["step", "files only (baseline)", "files, text and faces", "ratio"], rows))


if __name__ == "__main__":
    main()
