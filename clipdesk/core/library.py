"""The Library: the one object the command line and the GUI talk to.

It owns a catalog (SQLite), one vector index for the model in use, and that model's
encoder, all passed in or opened lazily, so that tests can hand in small real parts and
``clipdesk status`` never has to load torch.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Generator, Sequence
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
from clipdesk.core.progress import CancelToken, Progress
from clipdesk.core.scanner import waiting_in_new_roots
from clipdesk.core.search import Filters, SearchParts, SearchQuery, SearchResults, search

if TYPE_CHECKING:
    from clipdesk.core.decode_pool import DecodePool
    from clipdesk.core.encoder import Encoder
    from clipdesk.core.tags.service import TagService
    from clipdesk.core.vectors import VectorIndex
    from clipdesk.core.watch.dirty import Scope
    from clipdesk.core.watch.reconcile import ReconcileReport
    from clipdesk.core.watch.stability import Stabilizer

CATALOG_FILE = "catalog.db"
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
    """A photo library: its roots, catalog, vectors and model."""

    def __init__(
        self,
        directory: Path,
        catalog: Catalog,
        *,
        model_name: str | None = None,
        device: str = "auto",
        encoder: Encoder | None = None,
    ) -> None:
        self.directory = directory
        self.catalog = catalog
        self._requested_model = model_name
        self._device = device
        self._encoder = encoder
        self._vectors: VectorIndex | None = None
        self._tags: TagService | None = None
        # The writer lock is held by whoever changes the catalog or the index (one writer
        # at a time); the init lock only guards lazy loading, so searches can run while
        # an index job holds the writer lock.
        self._lock = threading.RLock()
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
        with self._lock:
            if self._vectors is not None and not self.catalog.read_only:
                self._vectors.save()
            self.catalog.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- model --------------------------------------------------------------------------

    @property
    def model_name(self) -> str:
        """The model asked for, else the one the library was built with, else the default."""
        if self._encoder is not None:
            return self._encoder.spec.name
        name = self._requested_model or os.environ.get("CLIPDESK_MODEL")
        name = name or self.catalog.get_meta("model_name")
        if name:
            return name
        from clipdesk.core.models.registry import resolve_model

        return resolve_model(None).name

    @property
    def encoder(self) -> Encoder:
        with self._init_lock:
            if self._encoder is None:
                from clipdesk.core.encoder import load_encoder

                try:
                    self._encoder = load_encoder(self.model_name, device=self._device)
                except Exception as exc:  # missing weights, unknown name, bad file
                    raise LibraryError(f"cannot load model {self.model_name!r}: {exc}") from exc
            return self._encoder

    @property
    def device(self) -> str:
        if self._encoder is not None:
            return self._encoder.device
        from clipdesk.core.onnx_backend import accelerator_present

        if (self._device or "auto").lower() in ("auto", "cpu") and not accelerator_present():
            return "cpu"  # known without importing torch (seconds the window would wait)
        from clipdesk.core.encoder import select_device

        return select_device(self._device)

    @property
    def vectors(self) -> VectorIndex:
        """The index for the current model, checked against the database on first use."""
        with self._init_lock:
            if self._vectors is None:
                self._vectors = self._open_vectors(repair=True)[0]
            return self._vectors

    def _open_vectors(
        self, *, repair: bool, model_key: str | None = None, dim: int | None = None
    ) -> tuple[VectorIndex, list[str]]:
        """Open one model's index and compare it with the database, repairing if asked."""
        from clipdesk.core.vectors import VectorIndex

        if model_key is None or dim is None:
            model_key, dim = self.encoder.model_key, self.encoder.dim
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
            if not self.catalog.read_only:  # a read-only library is mended in memory only
                index.save()
        return index, problems

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

                self._tags = TagService(self)
            return self._tags

    # -- roots and indexing -------------------------------------------------------------

    def roots(self) -> list[RootRecord]:
        return self.catalog.roots()

    def add_root(self, folder: str | os.PathLike[str]) -> RootRecord:
        """Add a folder to watch; a folder inside an existing root adds nothing new."""
        path = Path(folder).expanduser()
        if not path.is_dir():
            raise LibraryError(f"not a folder: {path}")
        resolved = os.fsencode(path.resolve())
        sep = os.sep.encode()
        with self._lock:
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
        with self._lock:
            self.catalog.remove_root(root.id)

    def writing(self, job: Generator[Progress, None, T]) -> Generator[Progress, None, T]:
        """Run ``job`` as the library's one writer: it waits for an index run to finish,
        and index runs wait for it."""
        with self._lock:
            return (yield from job)

    def index(
        self,
        folders: Sequence[str | os.PathLike[str]] = (),
        *,
        cancel: CancelToken | None = None,
        workers: int | None = None,
        batch_size: int = 32,
    ) -> Generator[Progress, None, IndexReport]:
        """Add ``folders`` as roots (if any) and index every root; yields progress."""
        with self._lock:
            for folder in folders:
                self.add_root(folder)
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
            return report

    def _faster_encoder(self, count: int) -> Generator[Progress, None, Encoder]:
        """Before embedding ``count`` files on a CPU: the model on ONNX Runtime (exported
        and checked once, about a minute; then several times faster per photo)."""
        from clipdesk.core.encoder import faster_encoder, worth_a_faster_encoder

        encoder = self.encoder
        if not worth_a_faster_encoder(encoder, count):
            return encoder
        yield Progress("embed", 0, count, "preparing the model for this computer (once)")
        faster = faster_encoder(encoder, isolated=True)  # the window stays responsive
        with self._init_lock:
            self._encoder = faster
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
    ) -> Generator[Progress, None, ReconcileReport]:
        """Compare some folders (default: every root) with the catalog, then embed.

        Unlike :meth:`index` this looks only where it is told (the folder watcher passes
        the folders events named; a plain folder means it and everything below it), still
        recognising moves from anywhere; with ``stability`` a file is read only once it
        has stopped changing.
        """
        from clipdesk.core.indexer import embed_pending
        from clipdesk.core.watch.dirty import Scope
        from clipdesk.core.watch.reconcile import ReconcileReport, reconcile_scopes

        cancel = cancel or CancelToken()
        started = time.monotonic()
        with self._lock:
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
            report.elapsed_s = time.monotonic() - started
            return report

    def switch_model(
        self,
        name: str,
        *,
        cancel: CancelToken | None = None,
        workers: int | None = None,
    ) -> Generator[Progress, None, bool]:
        """Re-embed the library with another model, then make it the library's model.

        Until every photo has a vector for the new model, searches keep using the old
        one: the two models' vectors live in separate indexes and are never mixed. A
        cancelled switch keeps what it embedded; running it again resumes. Returns True
        when the switch completed.
        """
        from clipdesk.core.encoder import load_encoder
        from clipdesk.core.indexer import IndexReport, embed_pending

        cancel = cancel or CancelToken()
        try:
            new_encoder = load_encoder(name, device=self._device)
        except Exception as exc:
            raise LibraryError(f"cannot load model {name!r}: {exc}") from exc
        with self._lock:
            self.catalog.register_model(
                new_encoder.model_key, new_encoder.spec.name, new_encoder.dim
            )
            new_vectors, _ = self._open_vectors(
                repair=True, model_key=new_encoder.model_key, dim=new_encoder.dim
            )
            report = IndexReport()
            yield from embed_pending(
                self.catalog, new_vectors, new_encoder, report, cancel, workers=workers
            )
            if cancel.cancelled or self.catalog.counts(new_encoder.model_key).pending:
                return False
            with self._init_lock:
                self._encoder, self._vectors = new_encoder, new_vectors
                self._requested_model = new_encoder.spec.name
                self.catalog.set_meta("model_name", new_encoder.spec.name)
                self.catalog.set_meta("model_key", new_encoder.model_key)
            return True

    # -- search -------------------------------------------------------------------------

    def _check_searchable(self) -> None:
        if len(self.vectors) == 0:
            known = self.catalog.model_keys()
            if known and self.encoder.model_key not in known:
                raise LibraryError(
                    f"this library was indexed with another model ({', '.join(known)}); "
                    f"run `clipdesk index` to embed it with {self.encoder.model_key}"
                )

    def find(self, query: SearchQuery) -> SearchResults:
        """The one search: text, image, negatives and filters in one query object.

        Filters are an allowed set in SQL, so ``query.k`` results come back whenever
        that many photos pass them. A query with only a tag lists the tag's photos.
        """
        if query.filters.tag is not None:
            self.tags.tag(query.filters.tag)  # an unknown tag is an error, not "none"
        if query.has_vector:
            self._check_searchable()
        parts = SearchParts(
            catalog=self.catalog,
            model_name=self.model_name,
            vectors=lambda: self.vectors,
            encoder=lambda: self.encoder,
            image_vector=self.image_vector,
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

    def image_vector(self, image: str | os.PathLike[str]) -> np.ndarray:
        """The embedding of an image file: stored if the library has it, else computed."""
        path = Path(image).expanduser().resolve()
        stored = self.catalog.vector_for_file(path_bytes(path), self.encoder.model_key)
        if stored is not None:
            return stored
        from clipdesk.core.errors import ImageReadError
        from clipdesk.core.imageio import read_image

        try:
            decoded = read_image(path, target_size=self.encoder.preprocess_cfg.size)
        except ImageReadError as exc:
            raise LibraryError(f"cannot read {path}: {exc}") from exc
        except FileNotFoundError as exc:
            raise LibraryError(f"no such file: {path}") from exc
        return self.encoder.encode_images([decoded.image])[0]

    # -- reporting ----------------------------------------------------------------------

    def status(self) -> dict[str, object]:
        """Counts of files on disk by state, as ``clipdesk status --json`` prints them."""
        key = self.catalog.get_meta("model_key") or ""
        if self._encoder is not None:
            key = self._encoder.model_key
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
