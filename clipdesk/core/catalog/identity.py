"""Is this file a clipdesk catalog? Decided by reading it, before anything writes to it.

A library is recognised by its own marker: Alembic's version table at a revision this
clipdesk knows, plus a row in ``meta`` naming clipdesk. Catalogs made before the marker
existed are recognised by clipdesk's own tables at a known revision, and stamped when they
are next opened for writing. Anything else (another program's SQLite file, a file that is
not SQLite at all, a damaged or truncated catalog, an empty catalog beside saved vectors)
is refused with one line, and the files are left exactly as they were.

Only SQLite's read-only modes are used here, so that looking can never change a file.
"""

from __future__ import annotations

import enum
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from clipdesk.core.errors import CatalogError

MARKER_KEY = "application"
MARKER_VALUE = "clipdesk"
LIBRARY_ID_KEY = "library_id"  # the meta key of ``Catalog.library_id``
VERSION_TABLE = "alembic_version"
# The tables of the first schema: a catalog from before the marker has all of them.
CORE_TABLES = frozenset({"roots", "files", "embeddings", "models", "meta"})
SQLITE_HEADER = b"SQLite format 3\x00"
_HEADER_SIZE = 100


class State(enum.Enum):
    NEW = "new"  # nothing there yet: create it
    CURRENT = "current"  # marked, at the head revision
    OLDER = "older"  # marked, at an older known revision: migrate it
    UNMARKED = "unmarked"  # clipdesk's tables at a known revision, no marker yet: stamp it


@dataclass(frozen=True)
class Identity:
    state: State
    revision: str | None = None


def read_only_uri(path: Path, *, immutable: bool) -> str:
    """An SQLite URI that opens ``path`` without ever writing to it.

    ``immutable`` is needed where SQLite could not even create its shared-memory file
    (a folder nobody may write to); it also makes SQLite ignore a write-ahead log.
    """
    uri = f"file:{quote(os.fspath(path))}?mode=ro"
    return uri + ("&immutable=1" if immutable else "")


def writable(path: Path) -> bool:
    """Whether clipdesk may write the catalog at ``path`` (and the files beside it)."""
    folder = path.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    return not path.exists() or os.access(path, os.W_OK)


def holds_library_data(folder: Path) -> bool:
    """Whether ``folder`` holds what only a library that was used has: saved vectors."""
    vectors = folder / "vectors"
    try:
        return vectors.is_dir() and any(vectors.iterdir())
    except OSError:
        return True  # cannot tell: assume there is something to lose


def identify(path: Path, known_revisions: Iterable[str], head: str) -> Identity:
    """What the catalog at ``path`` is; raises CatalogError for anything to refuse."""
    header = _read_header(path)
    if not header:
        return _empty(path, "is empty" if path.exists() else "is missing")
    if not header.startswith(SQLITE_HEADER) or len(header) < _HEADER_SIZE:
        raise CatalogError(
            f"{path} is damaged or is not a clipdesk catalog (it is not an SQLite database); "
            "nothing was changed"
        )
    _check_length(path, header)
    tables, revision, marked = _read_identity(path)
    if not tables:
        return _empty(path, "holds no tables")
    known = set(known_revisions)
    if revision is None:
        raise _foreign(path, "it has no clipdesk schema version")
    if revision not in known:
        if marked:
            raise CatalogError(
                f"{path} was written by a newer clipdesk (schema {revision}); "
                "upgrade clipdesk to open it"
            )
        raise _foreign(path, f"its schema version {revision!r} is not one of clipdesk's")
    if marked:
        return Identity(State.CURRENT if revision == head else State.OLDER, revision)
    if not tables >= CORE_TABLES:
        missing = ", ".join(sorted(CORE_TABLES - tables))
        raise _foreign(path, f"it lacks clipdesk's tables ({missing})")
    return Identity(State.UNMARKED, revision)


def _foreign(path: Path, why: str) -> CatalogError:
    return CatalogError(
        f"{path} is not a clipdesk library ({why}); refusing to write to it. "
        "Point --library at another folder"
    )


def _empty(path: Path, what: str) -> Identity:
    if holds_library_data(path.parent) or _has_wal(path):
        raise CatalogError(
            f"{path} {what} but the library holds saved vectors or a database log: the "
            "catalog is damaged or lost. Nothing was changed; restore catalog.db from a "
            "backup, or move the library folder away and index again"
        )
    return Identity(State.NEW)


def _read_header(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(_HEADER_SIZE)
    except FileNotFoundError:
        return b""
    except IsADirectoryError:
        raise CatalogError(f"{path} is a folder, not a catalog file") from None
    except OSError as exc:
        raise CatalogError(f"cannot read {path}: {exc.strerror or exc}") from None


def _check_length(path: Path, header: bytes) -> None:
    """A file shorter than its header says was truncated (the header's page count is
    valid when its 'version valid for' number matches the change counter)."""
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    counter, valid_for = header[24:28], header[92:96]
    if counter != valid_for or not pages or not page_size:
        return
    size = path.stat().st_size
    if size < pages * page_size and not _has_wal(path):
        raise CatalogError(
            f"{path} is damaged: it is truncated ({size:,} of {pages * page_size:,} bytes). "
            "Nothing was changed; `clipdesk check` says more"
        )


def _has_wal(path: Path) -> bool:
    wal = path.with_name(path.name + "-wal")
    try:
        return wal.stat().st_size > 0
    except OSError:
        return False


def _read_identity(path: Path) -> tuple[set[str], str | None, bool]:
    """Tables, Alembic revision and whether clipdesk's marker row is there."""
    # Without a write-ahead log nobody has the catalog open, and ``immutable`` reads it
    # without creating SQLite's side files; with one, its content must be read too.
    immutable = not _has_wal(path) or not os.access(path.parent, os.W_OK | os.X_OK)
    try:
        conn = sqlite3.connect(read_only_uri(path, immutable=immutable), uri=True)
    except sqlite3.Error as exc:
        raise CatalogError(f"{path} cannot be opened: {exc}") from None
    try:
        tables = {
            name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        revision = None
        if VERSION_TABLE in tables:
            row = conn.execute(f"SELECT version_num FROM {VERSION_TABLE} LIMIT 1").fetchone()
            revision = row[0] if row else None
        marked = False
        if "meta" in tables:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (MARKER_KEY,)).fetchone()
            marked = bool(row) and row[0] == MARKER_VALUE
        return tables, revision, marked
    except sqlite3.Error as exc:
        raise CatalogError(
            f"{path} is damaged or is not a clipdesk catalog ({exc}); nothing was changed"
        ) from None
    finally:
        conn.close()
