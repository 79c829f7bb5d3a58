"""The Library: the one object the command line and the GUI talk to.

It owns a catalog (SQLite), one vector index for the model in use, and that model's
encoder, all passed in or opened lazily, so that tests can hand in small real parts and
``clipdesk status`` never has to load torch.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from clipdesk.core import paths
from clipdesk.core.catalog import Catalog, RootRecord
from clipdesk.core.catalog.catalog import path_bytes
from clipdesk.core.errors import LibraryError
from clipdesk.core.files import safe_file_name
from clipdesk.core.indexer import IndexReport, run_index
from clipdesk.core.lane import WriterLane
from clipdesk.core.model_slot import ModelSlot
from clipdesk.core.progress import CancelToken, Progress
from clipdesk.core.scanner import waiting_in_new_roots
from clipdesk.core.search import Filters, SearchParts, SearchQuery, SearchResults, search
from clipdesk.core.write_lock import FileWriteGuard

if TYPE_CHECKING:
    from clipdesk.core.decode_pool import DecodePool
    from clipdesk.core.encoder import Encoder
    from clipdesk.core.tags.retag import RetagOutcome
    from clipdesk.core.tags.service import TagService
    from clipdesk.core.vectors import VectorIndex
    from clipdesk.core.watch.dirty import Scope
    from clipdesk.core.watch.reconcile import ReconcileReport
    from clipdesk.core.watch.stability import Stabilizer

CATALOG_FILE = "catalog.db"
EXPORT_POLL_S = 0.2  # a step of the job while the model is exported for ONNX Runtime
T = TypeVar("T")


@dataclass
class CheckReport:
    ok: bool
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    cannot_repair: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"ok": self.ok, "problems": self.problems}
        if self.notes:
            out["notes"] = self.notes
        if self.repaired:
            out["repaired"] = self.repaired
        if self.cannot_repair:
            out["cannot_repair"] = self.cannot_repair
        return out


def index_dir_name(model_key: str) -> str:
    """A file-system-safe folder name for one model's index."""
    return safe_file_name(model_key)


class Library:
    """A photo library: its roots, catalog, vectors and model.

    Every change goes through :attr:`writer` (the library's :class:`WriterLane`), one
    job at a time; reading methods run on the caller's thread and never wait for it.
    """

    def __init__(
        self,
        directory: Path,
        catalog: Catalog,
        *,
        model_name: str | None = None,
        device: str = "auto",
        encoder: Encoder | None = None,
        writer: WriterLane | None = None,
    ) -> None:
        self.directory = directory
        self.catalog = catalog
        self.model = ModelSlot(catalog, requested=model_name, device=device, encoder=encoder)
        self._guard = FileWriteGuard(directory)
        self.writer = writer or WriterLane(guard=self._guard, on_guard_acquired=self._catch_up)
        self._vectors: VectorIndex | None = None
        self._vectors_key: str | None = None
        self._tags: TagService | None = None
        # Guards lazy loading and the model switch's swap of encoder and index: held for
        # moments, never across a job's yield, so searches never wait for the writer.
        self._init_lock = threading.RLock()

    @classmethod
    def open(
        cls,
        directory: str | os.PathLike[str] | None = None,
        *,
        model: str | None = None,
        device: str = "auto",
        read_only: bool = False,
    ) -> Library:
        """Open the library in ``directory``, creating it if it is new.

        It is opened read-only when asked, or when clipdesk may not write there; refused
        (CatalogError, FolderError) when it is not a clipdesk library or is damaged.
        """
        path = paths.ensure_folder(paths.library_dir(directory), "library folder")
        catalog = Catalog.open(path / CATALOG_FILE, read_only=read_only)
        return cls(path, catalog, model_name=model, device=device)

    def close(self) -> None:
        """Stop the writer (a running job is closed, keeping what it finished), save an
        index repaired in memory if no other process is writing, close the catalog."""
        self.writer.close()
        vectors = self._vectors
        if vectors is not None:
            self._save_if_free(vectors)
        self.catalog.close()

    def _save_if_free(self, index: VectorIndex) -> None:
        """Save ``index`` unless another process is writing this library (it keeps the
        index in step itself) or the library is read-only."""
        if self.catalog.read_only:  # a read-only library is mended in memory only
            return
        with contextlib.suppress(OSError, LibraryError):
            if self._guard.try_acquire():
                try:
                    index.save()
                finally:
                    self._guard.release()

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
        loaded = self.model.loaded
        if loaded is not None:
            return loaded.device
        from clipdesk.core.onnx_backend import accelerator_present

        requested = self.model.device_request
        if (requested or "auto").lower() in ("auto", "cpu") and not accelerator_present():
            return "cpu"  # known without importing torch (seconds the window would wait)
        from clipdesk.core.encoder import select_device

        return select_device(requested)

    @property
    def vectors(self) -> VectorIndex:
        """The index for the current model, checked against the database on first use."""
        with self._init_lock:
            if self._vectors is None:
                encoder = self.encoder
                index, problems = self.open_index(encoder.model_key, encoder.dim, repair=True)
                if problems:
                    self._save_if_free(index)
                self._vectors, self._vectors_key = index, encoder.model_key
            return self._vectors

    def searchable(self) -> tuple[Encoder, VectorIndex]:
        """The encoder and index of the model in use, taken together: a model switch
        replaces both at once, and a search must not query one model's index with the
        other's vectors."""
        with self._init_lock:
            return self.encoder, self.vectors

    def open_index(
        self, model_key: str, dim: int, *, repair: bool
    ) -> tuple[VectorIndex, list[str]]:
        """Open one model's index from disk and compare it with the database.

        With ``repair`` it is refilled from the database in memory; the caller saves it
        (never while another process writes the library: see :meth:`_save_if_free`).
        """
        from clipdesk.core.vectors import VectorIndex

        directory = self.directory / "vectors" / index_dir_name(model_key)
        index = VectorIndex.open(directory, dim)
        problems: list[str] = []
        if index.problem:
            problems.append(f"index: {index.problem}")
        db_labels = self.catalog.embedding_ids(model_key)
        in_index = index.labels()
        missing = np.setdiff1d(db_labels, in_index)
        extra = np.setdiff1d(in_index, db_labels)
        if len(missing):
            problems.append(f"index: {len(missing)} vectors in the database are missing")
        if len(extra):
            problems.append(f"index: {len(extra)} vectors are not in the database")
        if repair and (len(missing) or len(extra) or index.problem):
            index.sync(db_labels, lambda ids: self.catalog.vectors(ids, dim))
        return index, problems

    def repair_index(self, model_key: str, dim: int) -> None:
        """Rebuild one model's index from the database and save it (on the writer)."""

        def repair() -> None:
            index, _ = self.open_index(model_key, dim, repair=True)
            index.save()
            with self._init_lock:
                if self._vectors_key == model_key:
                    self._vectors = index

        self.writer.call(repair, long=True, name="repair the index")

    def _catch_up(self) -> None:
        """On taking the inter-process write lock: add what another process wrote."""
        with self._init_lock:
            vectors, key = self._vectors, self._vectors_key
        if vectors is None or key is None:
            return
        dim = vectors.dim
        vectors.sync(self.catalog.embedding_ids(key), lambda ids: self.catalog.vectors(ids, dim))

    def _remember_model(self) -> None:
        encoder = self.encoder
        self.catalog.register_model(encoder.model_key, encoder.spec.name, encoder.dim)
        if self.catalog.get_meta("model_key") != encoder.model_key:
            self.catalog.set_meta("model_name", encoder.spec.name)
            self.catalog.set_meta("model_key", encoder.model_key)

    @property
    def tags(self) -> TagService:
        """The library's tags: vocabulary, tags on photos, teaching, the tagging job."""
        with self._init_lock:
            if self._tags is None:
                from clipdesk.core.tags.service import TagService
                from clipdesk.core.tags.store import TagStore

                store = TagStore(self.catalog.engine)
                self._tags = TagService(store, self.catalog, self.model, self.writer)
            return self._tags

    # -- roots and indexing -------------------------------------------------------------

    def roots(self) -> list[RootRecord]:
        return self.catalog.roots()

    def add_root(self, folder: str | os.PathLike[str]) -> RootRecord:
        """Add a folder to watch; a folder inside an existing root adds nothing new.

        Roots change in the long jobs' order: a root merged in the middle of a scan
        would pull its files from under it.
        """
        path = Path(folder).expanduser()
        if not path.is_dir():
            raise LibraryError(f"not a folder: {path}")
        return self.writer.call(lambda: self._add_root(path), long=True, name="add a folder")

    def _add_root(self, folder: str | os.PathLike[str]) -> RootRecord:
        path = Path(folder).expanduser()
        if not path.is_dir():
            raise LibraryError(f"not a folder: {path}")
        resolved = os.fsencode(path.resolve())
        sep = os.sep.encode()
        for root in self.catalog.roots():
            if resolved == root.path or resolved.startswith(root.path.rstrip(sep) + sep):
                return root
        new_root = self.catalog.add_root(resolved)
        for root in self.catalog.roots():
            if root.id != new_root.id and root.path.startswith(resolved.rstrip(sep) + sep):
                self.catalog.merge_root_into(root.id, new_root.id)
        return new_root

    def remove_root(self, folder: str | os.PathLike[str]) -> None:
        root = self.catalog.root_by_path(os.fsencode(Path(folder).expanduser().resolve()))
        if root is None:
            raise LibraryError(f"not a root of this library: {folder}")
        self.writer.call(
            lambda: self.catalog.remove_root(root.id), long=True, name="remove a folder"
        )

    def index(
        self,
        folders: Sequence[str | os.PathLike[str]] = (),
        *,
        cancel: CancelToken | None = None,
        workers: int | None = None,
        batch_size: int = 32,
        retag: bool = False,
    ) -> Generator[Progress, None, IndexReport]:
        """Add ``folders`` as roots (if any) and index every root on the writer; yields
        progress. With ``retag``, photos are tagged again if any came, changed or went."""
        job = self.index_job(
            folders, cancel=cancel, workers=workers, batch_size=batch_size, retag=retag
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
    ) -> Generator[Progress, None, IndexReport]:
        """The indexing job itself, to hand to :meth:`WriterLane.submit`."""
        cancel = cancel or CancelToken()
        for folder in folders:
            self._add_root(folder)
        self._remember_model()
        report = yield from run_index(
            self.catalog,
            self.vectors,
            self.encoder,
            self.catalog.roots(),
            cancel=cancel,
            workers=workers,
            batch_size=batch_size,
            prepare=self._faster_encoder,
        )
        if retag and not report.cancelled:
            report.tagging = yield from self._retag(cancel)
        return report

    def retag(
        self, *, cancel: CancelToken | None = None
    ) -> Generator[Progress, None, RetagOutcome | None]:
        """Tag the library again if photos came, changed or went since it was tagged
        (or it never was); None when nothing had to be done."""
        return self.writer.run(self.retag_job(cancel=cancel), cancel=cancel, name="tag")

    def retag_job(
        self, *, cancel: CancelToken | None = None
    ) -> Generator[Progress, None, RetagOutcome | None]:
        return (yield from self._retag(cancel or CancelToken()))

    def _retag(self, cancel: CancelToken) -> Generator[Progress, None, RetagOutcome | None]:
        from clipdesk.core.tags.retag import retag_if_stale

        return (yield from retag_if_stale(self.tags, cancel))

    def _faster_encoder(self, count: int) -> Generator[Progress, None, Encoder]:
        """Before embedding ``count`` files on a CPU: the model on ONNX Runtime (exported
        and checked once, about a minute; then several times faster per photo)."""
        from clipdesk.core.encoder import faster_encoder, worth_a_faster_encoder

        encoder = self.encoder
        if not worth_a_faster_encoder(encoder, count):
            return encoder
        note = Progress("embed", 0, count, "preparing the model for this computer (once)")
        yield note
        # The export writes nothing of the library: it runs beside the writer lane, which
        # keeps stepping this job (and running edits between its steps) meanwhile.
        with ThreadPoolExecutor(1, thread_name_prefix="clipdesk-export") as pool:
            pending = pool.submit(faster_encoder, encoder, isolated=True)
            while True:
                try:
                    faster = pending.result(timeout=EXPORT_POLL_S)
                    break
                except TimeoutError:
                    yield note
        with self._init_lock:
            self.model.use(faster)
        return faster

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
        """Compare some folders (default: every root) with the catalog, then embed.

        Unlike :meth:`index` this looks only where it is told (the folder watcher passes
        the folders events named; a plain folder means it and everything below it), still
        recognising moves from anywhere; with ``stability`` a file is read only once it
        has stopped changing. With ``retag``, photos are tagged again if any changed.
        """
        job = self._reconcile_job(
            scopes, stability, cancel or CancelToken(), workers, batch_size, pool, retag
        )
        return self.writer.run(job, cancel=cancel, name="look at folders")

    def _reconcile_job(
        self,
        scopes: Sequence[Scope | str | os.PathLike[str]],
        stability: Stabilizer | None,
        cancel: CancelToken,
        workers: int | None,
        batch_size: int,
        pool: DecodePool | None,
        retag: bool,
    ) -> Generator[Progress, None, ReconcileReport]:
        from clipdesk.core.indexer import embed_pending
        from clipdesk.core.watch.dirty import Scope
        from clipdesk.core.watch.reconcile import ReconcileReport, reconcile_scopes

        started = time.monotonic()
        self._remember_model()
        report = ReconcileReport()
        wanted = [
            s if isinstance(s, Scope) else Scope(path_bytes(os.path.abspath(s)), True)
            for s in scopes
        ] or [Scope(r.path, recursive=True) for r in self.catalog.roots()]
        exclude = [os.fsencode(os.path.realpath(self.directory))]
        done = yield from reconcile_scopes(
            self.catalog, wanted, report, stability=stability, exclude=exclude, cancel=cancel
        )
        if done:
            yield from embed_pending(
                self.catalog,
                self.vectors,
                self.encoder,
                report,
                cancel,
                batch_size=batch_size,
                workers=workers,
                pool=pool,
                prepare=self._faster_encoder,  # a big burst is worth the ONNX export
            )
        report.cancelled = cancel.cancelled
        if retag and not report.cancelled:
            report.tagging = yield from self._retag(cancel)
        report.elapsed_s = time.monotonic() - started
        return report

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
        from clipdesk.core.indexer import IndexReport, embed_pending

        cancel = cancel or CancelToken()
        key = new_encoder.model_key
        self.catalog.register_model(key, new_encoder.spec.name, new_encoder.dim)
        new_vectors, _ = self.open_index(key, new_encoder.dim, repair=True)
        report = IndexReport()
        yield from embed_pending(
            self.catalog, new_vectors, new_encoder, report, cancel, workers=workers
        )
        new_vectors.save()
        if cancel.cancelled or self.catalog.counts(key).pending:
            return False
        with self._init_lock:
            self.model.use(new_encoder)
            self._vectors, self._vectors_key = new_vectors, key
        self.catalog.set_meta("model_name", new_encoder.spec.name)
        self.catalog.set_meta("model_key", key)
        if retag:
            yield from self._retag(cancel)
        return True

    # -- search -------------------------------------------------------------------------

    def _check_searchable(self, encoder: Encoder, vectors: VectorIndex) -> None:
        if len(vectors) == 0:
            known = self.catalog.model_keys()
            if known and encoder.model_key not in known:
                raise LibraryError(
                    f"this library was indexed with another model ({', '.join(known)}); "
                    f"run `clipdesk index` to embed it with {encoder.model_key}"
                )

    def find(self, query: SearchQuery) -> SearchResults:
        """The one search: text, image, negatives and filters in one query object.

        Filters are an allowed set in SQL, so ``query.k`` results come back whenever
        that many photos pass them. A query with only a tag lists the tag's photos.
        """
        if query.filters.tag is not None:
            self.tags.tag(query.filters.tag)  # an unknown tag is an error, not "none"
        taken: list[tuple[Encoder, VectorIndex]] = []

        def current() -> tuple[Encoder, VectorIndex]:
            """The model's encoder and index, taken together once (a model switch swaps
            both at once) and only when needed (a tag's list loads no model)."""
            if not taken:
                taken.append(self.searchable())
            return taken[0]

        if query.has_vector:
            self._check_searchable(*current())
        parts = SearchParts(
            catalog=self.catalog,
            model_name=self.model_name,
            vectors=lambda: current()[1],
            encoder=lambda: current()[0],
            image_vector=lambda image: self.image_vector(image, encoder=current()[0]),
        )
        return search(query, parts)

    def search(
        self,
        text: str = "",
        *,
        image: str | os.PathLike[str] | None = None,
        k: int = 20,
        folder: str | os.PathLike[str] | None = None,
        tag: str | None = None,
        filters: Filters | None = None,
    ) -> SearchResults:
        """Photos matching a text, an image, or both; ``-word`` lowers matches of word.

        With ``tag``, only photos carrying that tag; with no text or image, all of them.
        ``filters`` adds dates, types and excluded folders (its folder and tag are
        replaced by ``folder`` and ``tag`` when those are given).
        """
        base = filters or Filters()
        base = replace(
            base,
            folder=os.fspath(folder) if folder else base.folder,
            tag=tag if tag is not None else base.tag,
        )
        results = self.find(SearchQuery.from_text(text, image=image, k=k, filters=base))
        results.query = text
        return results

    def similar(
        self,
        image: str | os.PathLike[str],
        *,
        k: int = 20,
        folder: str | os.PathLike[str] | None = None,
        filters: Filters | None = None,
    ) -> SearchResults:
        """Photos that look like ``image`` (in the library or not); itself first."""
        results = self.search("", image=image, k=k, folder=folder, filters=filters)
        results.query = os.fspath(image)
        return results

    def image_vector(
        self, image: str | os.PathLike[str], *, encoder: Encoder | None = None
    ) -> np.ndarray:
        """The embedding of an image file: stored if the library has it, else computed."""
        encoder = encoder or self.encoder
        path = Path(image).expanduser().resolve()
        stored = self.catalog.vector_for_file(path_bytes(path), encoder.model_key)
        if stored is not None:
            return stored
        from clipdesk.core.errors import ImageReadError
        from clipdesk.core.imageio import read_image

        try:
            decoded = read_image(path, target_size=encoder.preprocess_cfg.size)
        except ImageReadError as exc:
            raise LibraryError(f"cannot read {path}: {exc}") from exc
        except FileNotFoundError as exc:
            raise LibraryError(f"no such file: {path}") from exc
        return encoder.encode_images([decoded.image])[0]

    # -- reporting ----------------------------------------------------------------------

    def status(self) -> dict[str, object]:
        """Counts of files on disk by state, as ``clipdesk status --json`` prints them."""
        key = self.model.model_key() or ""
        counts = self.catalog.counts(key)
        roots = self.catalog.roots()
        return {
            "indexed": counts.indexed,
            "pending": counts.pending + waiting_in_new_roots(roots),
            "skipped": counts.skipped,
            "offline": counts.offline,
            "model": self.model_name,
            "device": self.device,
            "roots": [
                {"path": r.fspath, "online": r.online, "last_scan_at": r.last_scan_at}
                for r in roots
            ],
            "skipped_files": [
                {"path": f.fspath, "reason": f.skip_reason} for f in self.catalog.skipped_files()
            ],
        }
