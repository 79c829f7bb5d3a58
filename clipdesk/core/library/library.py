"""The Library facade: the one object the command line and the GUI hold.

It owns a store (a folder: SQLite and usearch; or a shared PostgreSQL database with
pgvector, see :mod:`clipdesk.core.stores`), one vector store for the model in use, and
that model's encoder, all passed in or opened lazily, so that tests can hand in small real parts and
``clipdesk status`` never has to load torch. The work itself lives beside it:
:class:`ModelVectors` (encoder and index together), :class:`LibraryJobs` (the writing
jobs), :class:`LibraryReader` (searches, status) and :mod:`.roots`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from clipdesk.core.catalog import Catalog, RootRecord
from clipdesk.core.lane import WriterLane
from clipdesk.core.library.jobs import LibraryJobs
from clipdesk.core.library.model_vectors import ModelVectors
from clipdesk.core.library.reading import LibraryReader, device_name
from clipdesk.core.library.roots import add_root, folder_path, mount_root, root_to_remove
from clipdesk.core.model_slot import ModelSlot
from clipdesk.core.progress import CancelToken, Progress
from clipdesk.core.search import Filters, SearchQuery, SearchResults
from clipdesk.core.stores import LibraryStore, open_store
from clipdesk.core.stores.folder import CATALOG_FILE, FolderStore

if TYPE_CHECKING:
    import numpy as np

    from clipdesk.core.decode_pool import DecodePool
    from clipdesk.core.encoder import Encoder
    from clipdesk.core.indexer import IndexReport, ReadPool
    from clipdesk.core.lane import JobHandle
    from clipdesk.core.people.service import PeopleService
    from clipdesk.core.tags.retag import RetagOutcome
    from clipdesk.core.tags.service import TagService
    from clipdesk.core.vectors import VectorIndex
    from clipdesk.core.watch.dirty import Scope
    from clipdesk.core.watch.reconcile import ReconcileReport
    from clipdesk.core.watch.stability import Stabilizer

__all__ = ["CATALOG_FILE", "Library"]


class Library:
    """A photo library: its roots, catalog, vectors and model.

    Every change goes through :attr:`writer` (the library's :class:`WriterLane`), one
    job at a time; reading methods run on the caller's thread and never wait for it.
    """

    def __init__(
        self,
        store: LibraryStore | str | os.PathLike[str],
        catalog: Catalog | None = None,
        *,
        model_name: str | None = None,
        device: str = "auto",
        encoder: Encoder | None = None,
        writer: WriterLane | None = None,
    ) -> None:
        """``store`` is a :class:`LibraryStore`, or a folder whose open ``catalog`` is
        handed in beside it (how tests build a folder library from parts)."""
        if isinstance(store, str | os.PathLike):
            if catalog is None:
                raise TypeError("a library folder needs its open catalog")
            store = FolderStore(Path(store), catalog)
        self.store = store
        self.catalog = catalog = store.catalog
        self.location = store.location
        self.model = ModelSlot(catalog, requested=model_name, device=device, encoder=encoder)
        self._vectors = ModelVectors(store, self.model)
        self.writer = writer or WriterLane(
            guard=store.guard, on_guard_acquired=self._vectors.catch_up
        )
        self._tags: TagService | None = None
        self._tags_lock = threading.Lock()  # held while the tag service is built, no more
        self._people: PeopleService | None = None
        self.jobs = LibraryJobs(
            store.excluded_folders(),
            catalog,
            self.model,
            self._vectors,
            self._tag_service,
            self._people_service,
        )
        self._reader = LibraryReader(
            catalog, self.model, self._vectors, self._tag_service, self._people_service
        )

    @classmethod
    def open(
        cls,
        directory: str | os.PathLike[str] | None = None,
        *,
        model: str | None = None,
        device: str = "auto",
        read_only: bool = False,
    ) -> Library:
        """Open the library in ``directory`` (a folder, or a ``postgresql://`` address),
        creating it if it is new.

        It is opened read-only when asked, or when clipdesk may not write there; refused
        (CatalogError, FolderError) when it is not a clipdesk library or is damaged, or
        its database server cannot be used.
        """
        return cls(open_store(directory, read_only=read_only), model_name=model, device=device)

    @property
    def directory(self) -> Path:
        """The library's folder; LibraryError for a library in a database."""
        return self.store.folder

    def close(self) -> None:
        """Stop the writer (a running job is closed, keeping what it finished), save an
        index repaired in memory if no other process is writing, close the catalog."""
        self.writer.close()
        self._vectors.close()
        self.store.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- model --------------------------------------------------------------------------

    @property
    def model_name(self) -> str:
        """The model asked for, else the one the library was built with, else the default."""
        return self.model.name

    @property
    def encoder(self) -> Encoder:
        return self.model.get()

    @property
    def device(self) -> str:
        return device_name(self.model)

    @property
    def vectors(self) -> VectorIndex:
        """The index for the current model, checked against the database on first use."""
        return self._vectors.index

    def searchable(self) -> tuple[Encoder, VectorIndex]:
        """The encoder and index of the model in use, taken together (a model switch
        replaces both at once)."""
        return self._vectors.searchable()

    def index_matches_catalog(self) -> bool:
        """Whether a search here finds what a process opening the library now would find
        (see :meth:`ModelVectors.matches_catalog`)."""
        return self._vectors.matches_catalog()

    def catch_up(self) -> JobHandle[None]:
        """Bring the index in step with what other processes wrote, on the writer lane:
        a long job's taking the write lock is when it catches up (after the other
        process's job ends)."""
        return self.writer.submit_call(lambda: None, long=True, name="catch up")

    def open_index(
        self, model_key: str, dim: int, *, repair: bool, full: bool = False
    ) -> tuple[VectorIndex, list[str]]:
        """Open one model's index and compare it with the database (see
        :meth:`ModelVectors.open_index`)."""
        return self._vectors.open_index(model_key, dim, repair=repair, full=full)

    def repair_index(self, model_key: str, dim: int) -> None:
        """Rebuild one model's index from the database and save it (on the writer)."""
        self.writer.call(
            lambda: self._vectors.repair(model_key, dim), long=True, name="repair the index"
        )

    def remove_orphan_rows(self) -> dict[str, int]:
        """Delete the text, faces, scenes and tags no file holds any more (``check
        --repair``), on the writer, in one transaction; what went, by kind."""
        return self.writer.call(
            self.catalog.delete_orphan_rows, long=True, name="remove what deleted photos left"
        )

    def remember_model(self) -> None:
        """Record the model in use as the library's model (done by every indexing job)."""
        self.jobs.remember_model()

    @property
    def tags(self) -> TagService:
        """The library's tags: vocabulary, tags on photos, teaching, the tagging job."""
        return self._tag_service()

    def _tag_service(self) -> TagService:
        with self._tags_lock:
            if self._tags is None:
                from clipdesk.core.tags.service import TagService
                from clipdesk.core.tags.store import TagStore

                store = TagStore(self.catalog.engine)
                self._tags = TagService(store, self.catalog, self.model, self.writer)
            return self._tags

    @property
    def people(self) -> PeopleService:
        """The library's people: faces found by indexing, grouped, and the user's word."""
        return self._people_service()

    def _people_service(self) -> PeopleService:
        with self._tags_lock:
            if self._people is None:
                from clipdesk.core.people.service import PeopleService
                from clipdesk.core.people.store import PeopleStore

                store = PeopleStore(self.catalog.engine)
                self._people = PeopleService(store, self.catalog, self.writer)
            return self._people

    def set_read_text(self, on: bool) -> None:
        """Keep whether index runs read text in photos (on the writer): the folder
        watcher and the command line follow it; ``index --no-ocr`` still skips a run."""
        from clipdesk.core.ocr import TEXT_SETTING

        value = "on" if on else "off"
        self.writer.call(
            lambda: self.catalog.set_meta(TEXT_SETTING, value), guarded=True, name="text setting"
        )

    # -- roots --------------------------------------------------------------------------

    def roots(self) -> list[RootRecord]:
        return self.catalog.roots()

    def add_root(self, folder: str | os.PathLike[str]) -> RootRecord:
        """Add a folder to watch (on the writer); one inside a root adds nothing new."""
        path = folder_path(folder)
        return self.writer.call(
            lambda: add_root(self.catalog, path), long=True, name="add a folder"
        )

    def mount_root(self, root: str, folder: str | os.PathLike[str] | None) -> RootRecord:
        """Where this computer sees a root (its id or path): ``folder``, or with None the
        path the library stores it at (clipdesk.core.mounts)."""
        return self.writer.call(lambda: mount_root(self.catalog, root, folder), name="mount")

    def remove_root(self, folder: str | os.PathLike[str]) -> None:
        root = root_to_remove(self.catalog, folder)
        self.writer.call(
            lambda: self.catalog.remove_root(root.id), long=True, name="remove a folder"
        )

    # -- writing jobs, run on the writer lane -------------------------------------------

    def index(
        self,
        folders: Sequence[str | os.PathLike[str]] = (),
        *,
        cancel: CancelToken | None = None,
        workers: int | None = None,
        batch_size: int = 32,
        retag: bool = False,
        faces: bool | None = None,
        text: bool | None = None,
        pool: ReadPool | None = None,
    ) -> Generator[Progress, None, IndexReport]:
        """Add ``folders`` as roots (if any) and index every root on the writer; yields
        progress. With ``retag``, photos are tagged again if any came, changed or went.
        ``faces`` (default: the library's setting) looks for faces in the photos read;
        ``text`` (default: on unless ``CLIPDESK_OCR=0``) reads the text in them. ``pool``
        reads (and may embed) the files elsewhere, e.g. on a Ray cluster."""
        job = self.index_job(
            folders,
            cancel=cancel,
            workers=workers,
            batch_size=batch_size,
            retag=retag,
            faces=faces,
            text=text,
            pool=pool,
        )
        return self.writer.run(job, cancel=cancel, name="index")

    def index_job(
        self,
        folders: Sequence[str | os.PathLike[str]] = (),
        *,
        cancel: CancelToken | None = None,
        workers: int | None = None,
        batch_size: int = 32,
        retag: bool = False,
        faces: bool | None = None,
        text: bool | None = None,
        pool: ReadPool | None = None,
    ) -> Generator[Progress, None, IndexReport]:
        """The indexing job itself, to hand to :meth:`WriterLane.submit`."""
        cancel = cancel or CancelToken()
        return self.jobs.index(
            folders,
            cancel=cancel,
            workers=workers,
            batch_size=batch_size,
            retag=retag,
            faces=faces,
            text=text,
            pool=pool,
        )

    def retag(
        self, *, cancel: CancelToken | None = None
    ) -> Generator[Progress, None, RetagOutcome | None]:
        """Tag the library again if photos came, changed or went since it was tagged
        (or it never was); None when nothing had to be done."""
        return self.writer.run(self.retag_job(cancel=cancel), cancel=cancel, name="tag")

    def retag_job(
        self, *, cancel: CancelToken | None = None
    ) -> Generator[Progress, None, RetagOutcome | None]:
        return self.jobs.retag(cancel or CancelToken())

    def reconcile(
        self,
        scopes: Sequence[Scope | str | os.PathLike[str]] = (),
        *,
        stability: Stabilizer | None = None,
        cancel: CancelToken | None = None,
        workers: int | None = None,
        batch_size: int = 32,
        pool: DecodePool | None = None,
        retag: bool = False,
    ) -> Generator[Progress, None, ReconcileReport]:
        """Compare some folders (default: every root) with the catalog, then read what
        changed: searchable first, text and faces after (as an index does).

        Unlike :meth:`index` this looks only where it is told (the folder watcher passes
        the folders events named; a plain folder means it and everything below it), still
        recognising moves from anywhere; with ``stability`` a file is read only once it
        has stopped changing. With ``retag``, photos are tagged again if any changed.
        """
        job = self.jobs.reconcile(
            scopes,
            stability=stability,
            cancel=cancel or CancelToken(),
            workers=workers,
            batch_size=batch_size,
            pool=pool,
            retag=retag,
        )
        return self.writer.run(job, cancel=cancel, name="look at folders")

    def switch_model(
        self,
        name: str,
        *,
        cancel: CancelToken | None = None,
        workers: int | None = None,
        retag: bool = False,
    ) -> Generator[Progress, None, bool]:
        """Re-embed the library with another model, then make it the library's model.

        Until every photo has a vector for the new model, searches keep using the old
        one: the two models' vectors live in separate indexes and are never mixed, and
        the switch of encoder and index is one step. A cancelled switch keeps what it
        embedded; running it again resumes. Returns True when the switch completed.
        The new model is loaded on the caller's thread, not the writer's.
        """
        new_encoder = self.model.load_other(name)
        job = self.switch_model_job(new_encoder, cancel=cancel, workers=workers, retag=retag)
        return (yield from self.writer.run(job, cancel=cancel, name="switch model"))

    def switch_model_job(
        self,
        new_encoder: Encoder,
        *,
        cancel: CancelToken | None = None,
        workers: int | None = None,
        retag: bool = False,
    ) -> Generator[Progress, None, bool]:
        """The switch itself, for :meth:`WriterLane.submit`, with the new model loaded."""
        return self.jobs.switch_model(
            new_encoder, cancel=cancel or CancelToken(), workers=workers, retag=retag
        )

    # -- reading, on the caller's thread ------------------------------------------------

    def find(self, query: SearchQuery) -> SearchResults:
        """The one search: text, image, negatives and filters in one query object.

        Filters are an allowed set in SQL, so ``query.k`` results come back whenever
        that many photos pass them. A query with only a tag lists the tag's photos.
        """
        return self._reader.find(query)

    def search(
        self,
        text: str = "",
        *,
        image: str | os.PathLike[str] | None = None,
        k: int = 20,
        folder: str | os.PathLike[str] | None = None,
        tag: str | None = None,
        filters: Filters | None = None,
        all_scenes: bool = False,
    ) -> SearchResults:
        """Photos matching a text, an image, or both; ``-word`` lowers matches of word.

        With ``tag``, only photos carrying that tag; with no text or image, all of them.
        ``filters`` adds dates, types and excluded folders (its folder and tag are
        replaced by ``folder`` and ``tag`` when those are given). A video comes once, at
        its best scene (``SearchHit.time``), or once per scene with ``all_scenes``.
        """
        return self._reader.search(
            text, image=image, k=k, folder=folder, tag=tag, filters=filters, all_scenes=all_scenes
        )

    def similar(
        self,
        image: str | os.PathLike[str],
        *,
        k: int = 20,
        folder: str | os.PathLike[str] | None = None,
        filters: Filters | None = None,
        all_scenes: bool = False,
    ) -> SearchResults:
        """Photos that look like ``image`` (in the library or not); itself first. A video
        of the library stands for its scenes (their mean vector)."""
        results = self.search(
            "", image=image, k=k, folder=folder, filters=filters, all_scenes=all_scenes
        )
        results.query = os.fspath(image)
        return results

    def image_vector(
        self, image: str | os.PathLike[str], *, encoder: Encoder | None = None
    ) -> np.ndarray:
        """The embedding of an image file: stored if the library has it, else computed."""
        return self._reader.image_vector(image, encoder=encoder)

    def status(self) -> dict[str, object]:
        """Counts of files on disk by state, as ``clipdesk status --json`` prints them."""
        return self._reader.status()
