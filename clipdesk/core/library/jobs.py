"""The library's long writing jobs: index, reconcile, model switch and re-tag.

Each is a generator yielding :class:`Progress`, handed to the writer lane by the
library (or submitted by the window), so that one owner runs every write in order and a
cancel takes effect at the next yield. A job never takes a lock across a yield; the
encoder and index it writes to are taken from :class:`ModelVectors`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from clipdesk.core.catalog.catalog import path_bytes
from clipdesk.core.library.roots import add_root
from clipdesk.core.progress import CancelToken, Progress

if TYPE_CHECKING:
    from clipdesk.core.catalog import Catalog
    from clipdesk.core.decode_pool import DecodePool
    from clipdesk.core.encoder import Encoder
    from clipdesk.core.faces import FaceSink
    from clipdesk.core.indexer import IndexReport, ReadPool
    from clipdesk.core.library.model_vectors import ModelVectors
    from clipdesk.core.model_slot import ModelSlot
    from clipdesk.core.people.service import PeopleService
    from clipdesk.core.tags.retag import RetagOutcome
    from clipdesk.core.tags.service import TagService
    from clipdesk.core.watch.dirty import Scope
    from clipdesk.core.watch.reconcile import ReconcileReport
    from clipdesk.core.watch.stability import Stabilizer

__all__ = ["EXPORT_POLL_S", "LibraryJobs"]

EXPORT_POLL_S = 0.2  # a step of the job while the model is exported for ONNX Runtime


class LibraryJobs:
    """The writing jobs of one library (see the module docstring)."""

    def __init__(
        self,
        excluded: list[bytes],
        catalog: Catalog,
        model: ModelSlot,
        vectors: ModelVectors,
        tags: Callable[[], TagService],
        people: Callable[[], PeopleService],
    ) -> None:
        self._excluded = excluded  # the library's own folder: never photos
        self._catalog = catalog
        self._model = model
        self._vectors = vectors
        self._tags = tags  # the tag service is built on first use
        self._people = people  # so is the people service

    def remember_model(self) -> None:
        """Record the model in use as the library's model, before vectors are written."""
        encoder = self._model.get()
        self._catalog.register_model(encoder.model_key, encoder.spec.name, encoder.dim)
        if self._catalog.get_meta("model_key") != encoder.model_key:
            self._catalog.set_meta("model_name", encoder.spec.name)
            self._catalog.set_meta("model_key", encoder.model_key)

    def index(
        self,
        folders: Sequence[str | os.PathLike[str]],
        *,
        cancel: CancelToken,
        workers: int | None,
        batch_size: int,
        retag: bool,
        faces: bool | None = None,
        text: bool | None = None,
        pool: ReadPool | None = None,
    ) -> Generator[Progress, None, IndexReport]:
        """Add ``folders`` as roots, then index every root (looking for faces as
        ``face_sink`` decides, reading text as ``ocr.text_wanted`` does; reading files in
        ``pool`` when given)."""
        from clipdesk.core.indexer import run_index

        for folder in folders:
            add_root(self._catalog, folder)
        self.remember_model()
        missing: list[str] = []
        sink = self.face_sink(faces, missing)
        read_text = self.text_reading(text, missing)
        report = yield from run_index(
            self._catalog,
            self._vectors.index,
            self._model.get(),
            self._catalog.roots(),
            cancel=cancel,
            workers=workers,
            batch_size=batch_size,
            prepare=self.faster_encoder if pool is None else None,
            faces=sink,
            text=read_text,
            pool=pool,
        )
        report.models_missing = missing
        if retag and not report.cancelled:
            report.tagging = yield from self.retag(cancel)
        return report

    def face_sink(self, faces: bool | None, missing: list[str]) -> FaceSink | None:
        """Where a run's faces go, or None when it looks for none: as asked (``True``
        also turns the library's own setting back on), else the library's setting (off
        after ``people forget-all``), else the default (on; ``CLIPDESK_FACES=0`` turns
        it off). Without the face models (the installer leaves them out) a run asked
        for faces fails; otherwise it goes on without them and adds "faces" to
        ``missing``, and a later run looks at its photos."""
        from clipdesk.core.errors import ReaderModelsMissing
        from clipdesk.core.faces import faces_wanted
        from clipdesk.core.faces.models import models_installed
        from clipdesk.core.models.readers import FACES
        from clipdesk.core.people.service import FACES_SETTING

        people = self._people()
        setting = people.faces_on()
        if faces and setting is False:
            self._catalog.set_meta(FACES_SETTING, "on")
        if not faces_wanted(faces if faces is not None else setting):
            return None
        if not models_installed():
            if faces:
                raise ReaderModelsMissing(FACES.hint())
            missing.append(FACES.key)
            return None
        return people

    def text_reading(self, text: bool | None, missing: list[str]) -> bool:
        """Whether a run reads text in photos, as ``ocr.text_wanted`` says; without the
        OCR models, as :meth:`face_sink` does without the face models."""
        from clipdesk.core.errors import ReaderModelsMissing
        from clipdesk.core.models.readers import OCR, missing_files
        from clipdesk.core.ocr import TEXT_SETTING, text_wanted

        if not text_wanted(text, self._catalog.get_meta(TEXT_SETTING)):
            return False
        if missing_files(OCR):
            if text:
                raise ReaderModelsMissing(OCR.hint())
            missing.append(OCR.key)
            return False
        return True

    def reconcile(
        self,
        scopes: Sequence[Scope | str | os.PathLike[str]],
        *,
        stability: Stabilizer | None,
        cancel: CancelToken,
        workers: int | None,
        batch_size: int,
        pool: DecodePool | None,
        retag: bool,
    ) -> Generator[Progress, None, ReconcileReport]:
        """Compare some folders (default: every root) with the catalog, then read what
        changed as an index does: searchable first, text and faces after."""
        from clipdesk.core.indexer import embed_then_read
        from clipdesk.core.watch.dirty import Scope
        from clipdesk.core.watch.reconcile import ReconcileReport, reconcile_scopes

        started = time.monotonic()
        self.remember_model()
        report = ReconcileReport()
        wanted = [
            s if isinstance(s, Scope) else Scope(path_bytes(os.path.abspath(s)), True)
            for s in scopes
        ] or [Scope(r.path, recursive=True) for r in self._catalog.roots()]
        exclude = list(self._excluded)
        done = yield from reconcile_scopes(
            self._catalog, wanted, report, stability=stability, exclude=exclude, cancel=cancel
        )
        if done:
            missing: list[str] = []
            yield from embed_then_read(
                self._catalog,
                self._vectors.index,
                self._model.get(),
                report,
                cancel,
                batch_size=batch_size,
                workers=workers,
                pool=pool,
                prepare=self.faster_encoder,  # a big burst is worth the ONNX export
                faces=self.face_sink(None, missing),
                text=self.text_reading(None, missing),
            )
            report.models_missing = missing
        report.cancelled = cancel.cancelled
        if retag and not report.cancelled:
            report.tagging = yield from self.retag(cancel)
        report.elapsed_s = time.monotonic() - started
        return report

    def switch_model(
        self,
        new_encoder: Encoder,
        *,
        cancel: CancelToken,
        workers: int | None,
        retag: bool,
    ) -> Generator[Progress, None, bool]:
        """Embed every photo with ``new_encoder`` in its own index, then change over in
        one step; True when the switch completed (a cancelled one keeps its vectors)."""
        from clipdesk.core.indexer import IndexReport, embed_pending

        key = new_encoder.model_key
        self._catalog.register_model(key, new_encoder.spec.name, new_encoder.dim)
        new_vectors, _ = self._vectors.open_index(key, new_encoder.dim, repair=True)
        report = IndexReport()
        yield from embed_pending(
            self._catalog, new_vectors, new_encoder, report, cancel, workers=workers
        )
        new_vectors.save()
        if cancel.cancelled or self._catalog.counts(key).pending:
            return False
        self._vectors.switch_to(new_encoder, new_vectors)
        self._catalog.set_meta("model_name", new_encoder.spec.name)
        self._catalog.set_meta("model_key", key)
        if retag:
            yield from self.retag(cancel)
        return True

    def retag(self, cancel: CancelToken) -> Generator[Progress, None, RetagOutcome | None]:
        """Tag the library again if photos came, changed or went since it was tagged."""
        from clipdesk.core.tags.retag import retag_if_stale

        return (yield from retag_if_stale(self._tags(), cancel))

    def faster_encoder(self, count: int) -> Generator[Progress, None, Encoder]:
        """Before embedding ``count`` files on a CPU: the model on ONNX Runtime (exported
        and checked once, about a minute; then several times faster per photo)."""
        from clipdesk.core.encoder import faster_encoder, worth_a_faster_encoder

        encoder = self._model.get()
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
        self._vectors.use_encoder(faster)
        return faster
