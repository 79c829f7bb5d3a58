"""Walking photo folders and comparing what is on disk with what the catalog knows.

Paths are handled as bytes throughout so that file names which are not valid UTF-8 are
found, stored and shown again without loss.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from clipdesk.core import mediatypes
from clipdesk.core.catalog.records import FileRecord, RootRecord, StatEntry

# Folders that hold caches or system files, never a user's photos.
IGNORED_DIR_NAMES = frozenset(
    {b"@eaDir", b".thumbnails", b".cache", b".Trash", b".Trashes", b"$RECYCLE.BIN", b".git"}
)


# What a library indexes whatever decoders are installed: photos, RAW files, videos.
_ALWAYS_INDEXED = frozenset(
    os.fsencode(ext)
    for ext in mediatypes.PHOTO_EXTENSIONS + mediatypes.RAW_EXTENSIONS + mediatypes.VIDEO_EXTENSIONS
)
_OPTIONAL = frozenset(os.fsencode(ext) for ext in mediatypes.OPTIONAL_PHOTO_EXTENSIONS)


def _is_image_name(name: bytes) -> bool:
    """A photo's name (RAW included) or a video's: what a library indexes. Only a name
    whose decoder may be missing (HEIF, AVIF) asks the image readers, so a look at a
    folder of the usual files does not import them (and Pillow)."""
    ext = os.path.splitext(name)[1].lower()
    if ext in _ALWAYS_INDEXED:
        return True
    if ext not in _OPTIONAL:
        return False
    from clipdesk.core.imageio import is_image_path

    return is_image_path(os.fsdecode(name))


def scan_tree(
    root: bytes,
    *,
    is_image: Callable[[bytes], bool] = _is_image_name,
    on_error: Callable[[bytes, str], None] | None = None,
    recursive: bool = True,
) -> Iterator[StatEntry]:
    """Yield every image file below ``root`` (only those directly in it if not ``recursive``).

    Symbolic links to files are followed, links to folders are not (so link loops cannot
    trap the walk). Anything else with an image name is listed, even if it is not a
    regular file, so that the reader records why it cannot be indexed. A folder that
    cannot be listed is reported through ``on_error``.
    """
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            with os.scandir(directory) as entries:
                children = list(entries)
        except OSError as exc:
            if on_error is not None:
                on_error(directory, exc.strerror or str(exc))
            if exc.errno == errno.ENAMETOOLONG and directory != root:
                # Deeper than the system lets any program name: listed like a file that
                # cannot be read, so that it is recorded as skipped, with the reason.
                yield StatEntry(directory, 0, 0, 0)
            continue
        for entry in children:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if recursive and entry.name not in IGNORED_DIR_NAMES:
                        stack.append(entry.path)
                    continue
            except OSError:
                pass
            if not is_image(entry.name):
                continue
            try:
                info = entry.stat(follow_symlinks=True)
            except OSError:
                # A dangling link or a link loop: still listed, so that reading it records
                # why it was skipped instead of the file silently vanishing.
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError as exc:
                    if on_error is not None:
                        on_error(entry.path, exc.strerror or str(exc))
                    continue
            if stat.S_ISDIR(info.st_mode):
                continue  # a link to a folder: never followed, so loops cannot trap us
            if not stat.S_ISREG(info.st_mode) or info.st_size == 0:
                # A device, fifo, socket, or an empty or /proc file: its time says nothing
                # (for /proc/self/mem it differs in every process that looks), so only a
                # size appearing counts as a change.
                yield StatEntry(entry.path, info.st_size, 0, info.st_ino)
                continue
            yield StatEntry(entry.path, info.st_size, info.st_mtime_ns, info.st_ino)


def root_available(path: bytes, has_files: bool) -> bool:
    """Whether a root can be scanned now.

    An unplugged drive or an unmounted share often leaves its mount point behind as an
    empty folder; scanning that would look as if every photo had been deleted, so a
    root that is known to hold files and is now empty counts as offline.
    """
    if not os.path.isdir(path):
        return False
    if not has_files:
        return True
    try:
        with os.scandir(path) as entries:
            return any(True for _ in entries)
    except OSError:
        return False


@dataclass
class ScanDiff:
    """How one or more roots on disk differ from the catalog."""

    added: list[tuple[int, StatEntry]] = field(default_factory=list)
    changed: list[tuple[int, StatEntry]] = field(default_factory=list)
    moved: list[tuple[int, int, StatEntry]] = field(default_factory=list)  # file, root, entry
    removed: list[int] = field(default_factory=list)
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.moved or self.removed)


def diff_scan(
    seen: dict[int, list[StatEntry]], known: dict[int, dict[bytes, FileRecord]]
) -> ScanDiff:
    """Compare scans of several roots (root id -> entries) with the catalog's files.

    A file that vanished from one path while a file with the same inode, size and
    modification time appeared at another (in any of the scanned roots) was moved.
    """
    diff = ScanDiff()
    new_by_identity: dict[tuple[int, int, int], tuple[int, StatEntry]] = {}
    gone: list[FileRecord] = []
    for root_id, entries in seen.items():
        catalog_files = known.get(root_id, {})
        on_disk = set()
        for entry in entries:
            on_disk.add(entry.path)
            record = catalog_files.get(entry.path)
            if record is None:
                new_by_identity[(entry.inode, entry.size, entry.mtime_ns)] = (root_id, entry)
            elif record.size != entry.size or record.mtime_ns != entry.mtime_ns:
                diff.changed.append((record.id, entry))
            else:
                diff.unchanged += 1
        gone.extend(r for path, r in catalog_files.items() if path not in on_disk)
    for record in gone:
        match = new_by_identity.pop((record.inode, record.size, record.mtime_ns), None)
        if match is not None and record.status != "pending":
            root_id, entry = match
            diff.moved.append((record.id, root_id, entry))
        else:
            if match is not None:
                new_by_identity[(record.inode, record.size, record.mtime_ns)] = match
            diff.removed.append(record.id)
    diff.added = sorted(new_by_identity.values(), key=lambda item: item[1].path)
    return diff


def waiting_in_new_roots(roots: Iterable[RootRecord]) -> int:
    """Photos in roots that were added but never scanned: waiting to be indexed.

    The catalog knows nothing of them yet, so ``status`` and ``check`` both count them
    from disk, and agree on what is pending.
    """
    return sum(
        sum(1 for _ in scan_tree(root.path))
        for root in roots
        if root.last_scan_at is None and os.path.isdir(root.path)
    )
