"""One scan-diff-apply step and one set of counts for indexing and the watcher."""

from __future__ import annotations

import os
from dataclasses import fields

from test_watch_common import write_image

from clipdesk.core import indexer
from clipdesk.core.catalog import Catalog
from clipdesk.core.changes import ChangeCounts, IndexReport, record_scan
from clipdesk.core.scanner import diff_scan, scan_tree
from clipdesk.core.watch import ReconcileReport, WatchTotals


def test_record_scan_writes_the_diff_and_counts_it(tmp_path):
    photos = tmp_path / "photos"
    for i in range(3):
        write_image(photos / f"p{i}.png", i)
    catalog = Catalog.open(tmp_path / "catalog.db")
    try:
        root = catalog.add_root(photos)
        seen = {root.id: list(scan_tree(root.path))}
        report = IndexReport()
        record_scan(catalog, diff_scan(seen, {root.id: {}}), report, scanned_roots=[root.id])
        assert report.added == 3 and (report.changed, report.moved, report.removed) == (0, 0, 0)
        assert sorted(catalog.files_of_root(root.id)) == sorted(e.path for e in seen[root.id])

        os.rename(photos / "p0.png", photos / "moved.png")
        (photos / "p1.png").unlink()
        seen = {root.id: list(scan_tree(root.path))}
        again = ReconcileReport()
        diff = diff_scan(seen, {root.id: catalog.files_of_root(root.id)})
        record_scan(catalog, diff, again)
        # Files never read (still pending) are not followed as moves: new path, old gone.
        assert (again.added, again.moved, again.removed) == (1, 0, 2)
        assert len(catalog.files_of_root(root.id)) == 2
    finally:
        catalog.close()


def test_reports_and_totals_share_one_set_of_counts():
    assert indexer.IndexReport is IndexReport
    assert issubclass(ReconcileReport, IndexReport)
    names = [f.name for f in fields(ChangeCounts)]
    report = ReconcileReport(**{name: i + 1 for i, name in enumerate(names)})
    totals = WatchTotals()
    totals.add(report)
    totals.add(report)
    assert totals.looks == 2
    assert [getattr(totals, n) for n in names] == [2 * (i + 1) for i in range(len(names))]
