"""Comparing some folders (not whole roots) with the catalog and recording the changes.

The watcher calls this for the folders where events said something happened; start-up,
periodic and after-overflow looks pass whole roots. Moves are recognised by inode, size
and modification time, both inside the folders looked at and from anywhere else in the
catalog (the old path must be gone), so a rename or a move costs no reading and no
encoding. Roots that disappeared are marked offline, never emptied.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass, field

from clipdesk.core.catalog import Catalog, FileRecord, RootRecord, StatEntry
from clipdesk.core.changes import IndexReport, record_scan
from clipdesk.core.progress import CancelToken, Progress
from clipdesk.core.scanner import IGNORED_DIR_NAMES, ScanDiff, diff_scan, root_available, scan_tree
from clipdesk.core.watch.dirty import Scope, collapse, is_below
from clipdesk.core.watch.stability import Stabilizer

_GONE = frozenset({os.strerror(errno.ENOENT), os.strerror(errno.ENOTDIR)})


@dataclass
class ReconcileReport(IndexReport):
    """An :class:`IndexReport` plus what a watcher needs to know to look again."""

    unsettled: dict[bytes, float] = field(default_factory=dict)  # folder -> wait (s)
    online_roots: list[str] = field(default_factory=list)
    folder_errors: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        out: dict[str, object] = {
            k: getattr(self, k)
            for k in ("added", "changed", "moved", "removed", "decoded", "encoded", "skipped")
        }
        if self.scenes_encoded:
            out["scenes_encoded"] = self.scenes_encoded
        if self.offline_roots:
            out["offline_roots"] = self.offline_roots
        if self.online_roots:
            out["online_roots"] = self.online_roots
        if self.unsettled:
            out["unsettled_folders"] = len(self.unsettled)
        if self.folder_errors:
            out["folder_errors"] = [f"{p}: {why}" for p, why in self.folder_errors]
        if self.tagging is not None and self.tagging.report is not None:
            out["tagged_photos"] = self.tagging.report.photos
        if self.tagging is not None and self.tagging.error is not None:
            out["tagging_error"] = self.tagging.error
        return out


def root_of(path: bytes, roots: Iterable[RootRecord]) -> RootRecord | None:
    """The root holding ``path`` (the innermost, should roots ever nest)."""
    best = None
    for root in roots:
        if (path == root.path or is_below(path, root.path)) and (
            best is None or len(root.path) > len(best.path)
        ):
            best = root
    return best


def _ignored(path: bytes, root: bytes, exclude: Sequence[bytes]) -> bool:
    if any(path == ex or is_below(path, ex) for ex in exclude):
        return True
    relative = path[len(root) :].strip(os.sep.encode())
    return any(part in IGNORED_DIR_NAMES for part in relative.split(os.sep.encode()))


def is_available(catalog: Catalog, root: RootRecord) -> bool:
    """Whether a root can be looked at (see :func:`root_available`)."""
    if not root_available(root.path, has_files=False):
        return False
    if root_available(root.path, has_files=True):
        return True
    return not catalog.has_files(root.id)  # empty: online only if it always was


def _set_online(catalog: Catalog, root: RootRecord, online: bool, report: ReconcileReport) -> None:
    if root.online != online:
        catalog.set_root_online(root.id, online)
        (report.online_roots if online else report.offline_roots).append(root.fspath)


def _scan_scope(
    catalog: Catalog, scope: Scope, exclude: Sequence[bytes], report: ReconcileReport
) -> tuple[list[StatEntry], dict[bytes, FileRecord]]:
    errors: list[tuple[bytes, str]] = []
    entries = [
        e
        for e in scan_tree(
            scope.directory,
            recursive=scope.recursive,
            on_error=lambda p, why: errors.append((p, why)),
        )
        if not any(e.path == ex or is_below(e.path, ex) for ex in exclude)
    ]
    if scope.recursive:
        known = catalog.files_below(scope.directory)
    else:
        known = catalog.files_in_dir(scope.directory)
    for path, why in errors:
        if not os.path.isdir(path):
            if why not in _GONE:  # e.g. a path longer than the system allows
                report.folder_errors.append((os.fsdecode(path), why))
            continue  # gone (its files were deleted) or a file that cannot be looked at
        # A folder that exists but cannot be listed (permissions, a flaky share): its
        # files are kept as they are, never taken for deleted.
        report.folder_errors.append((os.fsdecode(path), why))
        for known_path in list(known):
            if os.path.dirname(known_path) == path or (
                scope.recursive and is_below(known_path, path)
            ):
                del known[known_path]
    return entries, known


def _moves_from_elsewhere(catalog: Catalog, diff: ScanDiff) -> None:
    """Turn files that appeared into moves of catalogued files whose old path is gone."""
    if not diff.added:
        return
    identities = {(e.inode, e.size, e.mtime_ns) for _, e in diff.added}
    candidates = catalog.files_by_identity(identities)
    if not candidates:
        return
    online = {r.id for r in catalog.roots() if r.online}
    taken = set(diff.removed) | {file_id for file_id, _, _ in diff.moved}
    still_added: list[tuple[int, StatEntry]] = []
    for root_id, entry in diff.added:
        match = next(
            (
                r
                for r in candidates.get((entry.inode, entry.size, entry.mtime_ns), [])
                if r.id not in taken
                and r.status != "pending"
                and r.root_id in online
                and not os.path.lexists(r.path)
            ),
            None,
        )
        if match is None:
            still_added.append((root_id, entry))
        else:
            taken.add(match.id)
            diff.moved.append((match.id, root_id, entry))
    diff.added = still_added


def _hold_unsettled(
    diff: ScanDiff,
    stability: Stabilizer,
    report: ReconcileReport,
    known: dict[int, dict[bytes, FileRecord]],
) -> None:
    def later(path: bytes, wait: float) -> bool:
        if wait > 0:
            folder = os.path.dirname(path)
            report.unsettled[folder] = max(report.unsettled.get(folder, 0.0), wait)
        return wait == 0

    diff.added = [(r, e) for r, e in diff.added if later(e.path, stability.wait_s(e))]
    diff.changed = [(f, e) for f, e in diff.changed if later(e.path, stability.wait_s(e))]
    path_of = {r.id: r.path for records in known.values() for r in records.values()}
    diff.removed = [f for f in diff.removed if later(path_of[f], stability.gone_wait_s(path_of[f]))]


def reconcile_scopes(
    catalog: Catalog,
    scopes: Sequence[Scope],
    report: ReconcileReport,
    *,
    stability: Stabilizer | None = None,
    exclude: Sequence[bytes] = (),
    cancel: CancelToken | None = None,
) -> Generator[Progress, None, bool]:
    """Record in the catalog how ``scopes`` differ from it; False when cancelled.

    Files that are new, changed or missing but not settled yet (see ``stability``) are
    left as they are and their folders listed in ``report.unsettled``, so that the caller
    looks again later.
    """
    cancel = cancel or CancelToken()
    roots = catalog.roots()
    by_root: dict[int, list[Scope]] = {}
    root_by_id = {r.id: r for r in roots}
    for scope in collapse(list(scopes)):
        root = root_of(scope.directory, roots)
        if root is not None and not _ignored(scope.directory, root.path, exclude):
            by_root.setdefault(root.id, []).append(scope)
    seen: dict[int, list[StatEntry]] = {}
    known: dict[int, dict[bytes, FileRecord]] = {}
    whole_roots: list[int] = []
    emptied: list[RootRecord] = []  # unmounted, or every photo moved away? see below
    for root_id, root_scopes in by_root.items():
        root = root_by_id[root_id]
        if not root_available(root.path, has_files=False):
            _set_online(catalog, root, False, report)
            continue
        if not root_available(root.path, has_files=True) and catalog.has_files(root.id):
            emptied.append(root)
            root_scopes = [Scope(root.path, recursive=True)]
        elif not root.online:
            _set_online(catalog, root, True, report)
            root_scopes = [Scope(root.path, recursive=True)]  # back: look at all of it
        seen[root_id], known[root_id] = [], {}
        for scope in root_scopes:
            entries, records = _scan_scope(catalog, scope, exclude, report)
            seen[root_id].extend(entries)
            known[root_id].update(records)
            report.scanned += len(entries)
            if scope.recursive and scope.directory == root.path:
                whole_roots.append(root_id)
            yield Progress("scan", report.scanned, None, os.fsdecode(scope.directory))
            if cancel.cancelled:
                return False
    diff = diff_scan(seen, known)
    _moves_from_elsewhere(catalog, diff)
    if stability is not None:
        _hold_unsettled(diff, stability, report, known)
    for root in emptied:
        # A root that became empty keeps its photos (shown offline) unless every one of
        # them turned up elsewhere: an empty mount point must not read as "all deleted".
        ids = {r.id for r in known[root.id].values()}
        kept = [file_id for file_id in diff.removed if file_id not in ids]
        _set_online(catalog, root, len(kept) == len(diff.removed), report)
        diff.removed = kept
    record_scan(catalog, diff, report, scanned_roots=whole_roots)
    return True
