"""The quick search: a plain search of a settled folder library, answered without
opening the whole library.

A warm ``clipdesk search`` spends most of its time importing: SQLAlchemy alone is a
third of it. A plain search (text, no filters, no image) of a folder library whose index
agrees with its catalog needs none of it: the catalog is read through Python's own
``sqlite3`` (:class:`QuickCatalog`, running the catalog's own compiled statements),
and the answer comes from the one search (:func:`search`), as the library's would.

With ``update`` (``search --update``) it answers only when an index would find nothing
to do: no other process writing, every root online and scanned, the same files on disk
as in the catalog, nothing waiting to be embedded or read, the tags current. Whenever
anything is otherwise (or cannot be read), it returns None and the caller opens the
library, which does the work and answers. It never writes.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from clipdesk.core import paths
from clipdesk.core.errors import CatalogError, LibraryError

if TYPE_CHECKING:
    from clipdesk.core.catalog.quick_read import QuickCatalog
    from clipdesk.core.search.query import SearchQuery
    from clipdesk.core.search.results import SearchResults

__all__ = ["quick_search"]


def quick_search(
    location: str | os.PathLike[str] | None,
    query: SearchQuery,
    *,
    model: str | None = None,
    update: bool = False,
) -> SearchResults | None:
    """The answer to ``query`` in the library at ``location`` (``--library``), or None
    where only the whole library can give it (see the module docstring)."""
    if not _plain(query):
        return None
    try:
        where = paths.library_location(location)
    except (ValueError, RuntimeError, OSError):  # the library says what is wrong with it
        return None
    if not isinstance(where, Path):
        return None  # a shared library in PostgreSQL
    from clipdesk.core.stores.folder import CATALOG_FILE

    database = where / CATALOG_FILE
    if not _current(database):
        return None
    from clipdesk.core.catalog.quick_read import QuickCatalog

    try:
        with QuickCatalog.open(database) as catalog:
            return _answer(catalog, where, query, model=model, update=update)
    except (sqlite3.Error, OSError, CatalogError, LibraryError):
        return None  # the library opens, says what is wrong, or mends it


def _plain(query: SearchQuery) -> bool:
    return (
        bool(query.text.strip())
        and query.image is None
        and not query.filters.active
        and query.sort == "relevance"
    )


def _current(database: Path) -> bool:
    """A catalog at the current schema (an older one is upgraded by the library)."""
    from clipdesk.core.catalog.identity import State, identify
    from clipdesk.core.catalog.revisions import revisions

    if not database.is_file() or not os.access(database.parent, os.W_OK):
        return False  # a read-only library: the library says so and searches it as it is
    try:
        return identify(database, *revisions()).state is State.CURRENT
    except CatalogError:
        return False


def _answer(
    catalog: QuickCatalog, folder: Path, query: SearchQuery, *, model: str | None, update: bool
) -> SearchResults | None:
    from clipdesk.core.catalog.identity import LIBRARY_ID_KEY
    from clipdesk.core.model_slot import ModelSlot

    library_id = catalog.get_meta(LIBRARY_ID_KEY)
    if library_id is not None:
        from clipdesk.core.mounts import mounts_of

        if mounts_of(library_id):
            return None  # its roots are seen elsewhere on this computer: paths translate
    if update and not _idle(folder):
        return None
    slot = ModelSlot(catalog, requested=model)  # type: ignore[arg-type]
    # Settled for the library's own model, asked before any model loads.
    key = slot.model_key() if update else None
    if update and (
        key is None or slot.name != catalog.get_meta("model_name") or not _settled(catalog, key)
    ):
        return None
    encoder = slot.get()
    if key is not None and encoder.model_key != key:
        return None  # the model's files changed since the library's last index
    index = _agreeing_index(catalog, folder, encoder.model_key, encoder.dim)
    if index is None:
        return None
    from clipdesk.core.search.engine import SearchParts, search

    parts = SearchParts(
        catalog=catalog,  # type: ignore[arg-type]
        model_name=slot.name,
        vectors=lambda: index,
        encoder=lambda: encoder,
        image_vector=_no_image,
    )
    return search(query, parts)


def _idle(folder: Path) -> bool:
    """No other process is writing the library (an index may be under way)."""
    from clipdesk.core.write_lock import FileWriteGuard

    guard = FileWriteGuard(folder)
    if not guard.try_acquire():
        return False
    guard.release()
    return True


def _settled(catalog: QuickCatalog, model_key: str) -> bool:
    """An index now would find nothing to do: the scan finds no change, nothing waits to
    be embedded or read, and the tags are current."""
    from clipdesk.core.scanner import diff_scan, root_available, scan_tree

    seen, known = {}, {}
    for root in catalog.roots():
        if not root.online or root.last_scan_at is None:
            return False
        files = catalog.files_of_root(root.id)
        if not root_available(root.path, bool(files)):
            return False
        seen[root.id] = list(scan_tree(root.path))
        known[root.id] = files
    if not diff_scan(seen, known).empty:
        return False
    faces, text = _default_reads(catalog)
    waits = catalog.waits_for_indexing(model_key, faces=faces, text=text)
    return not waits and not catalog.tags_stale(model_key)


def _default_reads(catalog: QuickCatalog) -> tuple[bool, bool]:
    """Whether an index run without ``--faces``/``--ocr`` looks for faces and reads text
    (``LibraryJobs.face_sink`` and ``text_reading``): the library's settings, the
    environment, and the reader models being installed."""
    from clipdesk.core.faces import FACES_SETTING, faces_setting, faces_wanted
    from clipdesk.core.faces.models import models_installed
    from clipdesk.core.models.readers import OCR, missing_files
    from clipdesk.core.ocr import TEXT_SETTING, text_wanted

    setting = faces_setting(catalog.get_meta(FACES_SETTING))
    faces = faces_wanted(setting) and models_installed()
    text = text_wanted(None, catalog.get_meta(TEXT_SETTING)) and not missing_files(OCR)
    return faces, text


def _agreeing_index(catalog: QuickCatalog, folder: Path, model_key: str, dim: int) -> object:
    """The model's saved index if it holds exactly the catalog's vectors (None: the
    library mends it)."""
    from clipdesk.core.stores.folder import index_dir_name
    from clipdesk.core.vectors import VectorIndex

    index = VectorIndex.open(folder / "vectors" / index_dir_name(model_key), dim)
    if index.problem or index.unsaved or len(index) == 0:
        return None
    in_catalog = catalog.embedding_ids(model_key)
    if not np.array_equal(np.sort(index.labels()), np.sort(in_catalog)):
        return None
    return index


def _no_image(image: str) -> np.ndarray:
    raise LibraryError("the quick search takes no image")  # _plain() keeps images out
