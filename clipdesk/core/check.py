"""``clipdesk check``: is the database sound, does the index match it, does it match disk?

Checking changes nothing; ``repair=True`` fixes what it can (re-syncs the index from the
database, rescans the roots and embeds what is missing, deletes the text, faces, scenes
and tags no file holds any more) and then checks again. A damaged catalog is reported,
never crashed on, and a repair says what it cannot rebuild.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from clipdesk.core.catalog.health import UNREBUILDABLE, catalog_health, mend
from clipdesk.core.library import CheckReport
from clipdesk.core.scanner import root_available, scan_tree, waiting_in_new_roots

if TYPE_CHECKING:
    from clipdesk.core.library import Library

EXAMPLES = 3


def _examples(paths: list[str]) -> str:
    shown = ", ".join(paths[:EXAMPLES])
    return shown + (", ..." if len(paths) > EXAMPLES else "")


def disk_problems(library: Library) -> tuple[list[str], list[str]]:
    """Differences between the catalog and the files on disk, and notes on offline roots.

    A root that was added but never scanned is waiting to be indexed, as ``status``
    counts it, not a difference.
    """
    problems: list[str] = []
    notes: list[str] = []
    gone: list[str] = []
    changed: list[str] = []
    unknown: list[str] = []
    for root in library.catalog.roots():
        if root.last_scan_at is None:
            notes.append(f"root not indexed yet: {root.fspath}")
            continue
        known = library.catalog.files_of_root(root.id)
        if not root_available(root.path, bool(known)):
            notes.append(f"root offline: {root.fspath}")
            continue
        on_disk = {entry.path: entry for entry in scan_tree(root.path)}
        for path, record in known.items():
            entry = on_disk.get(path)
            if entry is None:
                gone.append(record.fspath)
            elif entry.size != record.size or entry.mtime_ns != record.mtime_ns:
                changed.append(record.fspath)
        unknown.extend(os.fsdecode(p) for p in on_disk if p not in known)
    if gone:
        problems.append(f"catalog: {len(gone)} files are gone from disk ({_examples(gone)})")
    if changed:
        problems.append(
            f"catalog: {len(changed)} files changed on disk since indexed ({_examples(changed)})"
        )
    if unknown:
        problems.append(
            f"catalog: {len(unknown)} files on disk are not in the catalog ({_examples(unknown)})"
        )
    return problems, notes


def check_library(library: Library, *, repair: bool = False) -> CheckReport:
    report = CheckReport(ok=True)
    health = catalog_health(library.catalog.engine)
    report.problems.extend(health.problems)
    if health.unreadable or health.missing_tables:
        report.ok = False
        report.notes.append("the index and disk are compared once the catalog is sound")
        if repair:
            if library.catalog.read_only:
                report.cannot_repair.append(_read_only(library))
                return report
            done, not_done = mend(library.catalog.engine, health)
            report.cannot_repair.extend(not_done)
            if done and not not_done:
                after = check_library(library, repair=True)
                after.repaired[:0] = done
                return after
            report.repaired.extend(done)
        return report
    dims = library.catalog.model_dims()
    current_key = library.catalog.get_meta("model_key")
    pending = waiting_in_new_roots(library.catalog.roots())
    if current_key and current_key in dims:
        _, problems = library.open_index(current_key, dims[current_key], repair=False, full=True)
        report.problems.extend(problems)
        pending += library.catalog.counts(current_key).pending
        orphans = library.catalog.orphan_embedding_count(current_key)
        if orphans:
            report.notes.append(f"{orphans} stored embeddings belong to no file any more")
    report.problems.extend(
        f"catalog: {count} {what} belong to no file any more"
        for what, count in library.catalog.orphan_rows().items()
    )
    if pending:  # the same number `clipdesk status` shows
        report.notes.append(f"{pending} files are waiting to be indexed")
    disk, notes = disk_problems(library)
    report.problems.extend(disk)
    report.notes.extend(notes)
    report.ok = not report.problems
    if repair and report.problems:
        if library.catalog.read_only:
            report.cannot_repair.append(_read_only(library))
            return report
        report.repaired.extend(report.problems)
        _repair(library)
        after = check_library(library, repair=False)
        after.repaired = report.repaired
        return after
    return report


def unopenable_report(reason: str, *, repair: bool) -> CheckReport:
    """The report on a library whose catalog cannot even be opened (damaged, foreign)."""
    report = CheckReport(ok=False, problems=[f"catalog: {reason}"])
    if repair:
        report.cannot_repair.append(UNREBUILDABLE)
    return report


def _read_only(library: Library) -> str:
    return f"nothing was repaired: the library {library.location} is read-only"


def _repair(library: Library) -> None:
    current_key = library.catalog.get_meta("model_key")
    dims = library.catalog.model_dims()
    if current_key and current_key in dims:
        library.repair_index(current_key, dims[current_key])
    for _ in library.index():
        pass
    library.remove_orphan_rows()
