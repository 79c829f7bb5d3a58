"""What a look at the disk changed: recorded in the catalog and counted the same way
by ``clipdesk index`` (whole roots) and the folder watcher (some folders).

The two differ in how they look, not in what they do with what they found, so the
step from a :class:`ScanDiff` to the catalog and the counts they report live here once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from clipdesk.core.catalog import Catalog
from clipdesk.core.scanner import ScanDiff

if TYPE_CHECKING:
    from clipdesk.core.tags.retag import RetagOutcome

__all__ = ["ChangeCounts", "IndexReport", "record_scan"]


@dataclass
class ChangeCounts:
    """Files that appeared, changed, moved or went, and the work they cost."""

    added: int = 0
    changed: int = 0
    moved: int = 0
    removed: int = 0
    decoded: int = 0
    encoded: int = 0  # files given new vectors: a video counts once, however many scenes
    reused: int = 0
    skipped: int = 0
    scenes_encoded: int = 0  # the videos' scenes among them, each with its own vector
    # Searchable photos whose text and faces could not be read (kept, reason recorded).
    unread: int = 0

    def add_counts(self, other: ChangeCounts) -> None:
        """Sum ``other``'s counts into these (a watcher's totals over its looks)."""
        for f in fields(ChangeCounts):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class IndexReport(ChangeCounts):
    """What one indexing run (or one look by the watcher) did."""

    scanned: int = 0
    faces: int = 0  # faces found in the photos read
    offline_roots: list[str] = field(default_factory=list)
    # Readers left out because their models are not installed: "ocr", "faces".
    models_missing: list[str] = field(default_factory=list)
    cancelled: bool = False
    elapsed_s: float = 0.0
    # The tagging pass that followed, when one was asked for and photos had changed.
    tagging: RetagOutcome | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, object]:
        """The counts ``clipdesk index --json`` prints (the tagging pass is reported apart)."""
        return {k: v for k, v in vars(self).items() if k != "tagging"}


def record_scan(
    catalog: Catalog, diff: ScanDiff, counts: ChangeCounts, scanned_roots: Iterable[int] = ()
) -> None:
    """Write ``diff`` to the catalog, mark ``scanned_roots`` (looked at whole) as
    scanned, and count the changes in ``counts``."""
    _apply_diff(catalog, diff)
    for root_id in scanned_roots:
        catalog.mark_root_scanned(root_id)
    counts.added += len(diff.added)
    counts.changed += len(diff.changed)
    counts.moved += len(diff.moved)
    counts.removed += len(diff.removed)


def _apply_diff(catalog: Catalog, diff: ScanDiff) -> None:
    by_root: dict[int, dict[str, list]] = {}

    def bucket(root_id: int) -> dict[str, list]:
        return by_root.setdefault(root_id, {"added": [], "moved": []})

    for root_id, entry in diff.added:
        bucket(root_id)["added"].append(entry)
    for file_id, root_id, entry in diff.moved:
        bucket(root_id)["moved"].append((file_id, entry))
    # Removals and changes name files by id, so any root's call can carry them.
    first = True
    for root_id, parts in by_root.items():
        catalog.apply_scan(
            root_id,
            added=parts["added"],
            moved=parts["moved"],
            changed=diff.changed if first else (),
            removed=diff.removed if first else (),
        )
        first = False
    if first and (diff.changed or diff.removed):
        catalog.apply_scan(0, changed=diff.changed, removed=diff.removed)
