"""Indexing: scan roots, read new and changed files in worker processes, embed in batches.

``run_index`` is a generator: it yields :class:`Progress` and is the library's single
writer while it runs. Every batch is committed to SQLite in one transaction before its
vectors enter the HNSW index, so a run stopped at any point (cancel, crash, SIGKILL)
resumes where it stopped: files still marked pending are read again, and vectors the
index lacks are replayed from the database when the library is next opened.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from clipdesk.core.catalog import Catalog, DecodedFacts, RootRecord, StatEntry
from clipdesk.core.catalog.records import FileRecord, SceneRecord
from clipdesk.core.changes import IndexReport, record_scan
from clipdesk.core.local_reading import MEMORY_LIMIT_MB, LocalReadPool
from clipdesk.core.progress import CancelToken, Progress
from clipdesk.core.scanner import ScanDiff, diff_scan, root_available, scan_tree

if TYPE_CHECKING:
    from clipdesk.core.decode_pool import TaskFailure
    from clipdesk.core.decode_task import DecodeJob, DecodeOutput
    from clipdesk.core.encoder import Encoder
    from clipdesk.core.faces import FaceSink
    from clipdesk.core.faces.detect import FoundFace
    from clipdesk.core.places import PlaceNamer
    from clipdesk.core.vectors import VectorIndex

SAVE_INTERVAL_S = 30.0


class ReadPool(Protocol):
    """Where files are read: the local sandboxed :class:`DecodePool`, or a cluster's
    workers (``core/cluster``) whose outputs carry their vectors already."""

    def map_unordered(
        self, items: Iterable[DecodeJob]
    ) -> Iterator[tuple[DecodeJob, DecodeOutput | TaskFailure]]: ...


# Given the number of files about to be embedded, yields progress while it works and
# returns the encoder to use: the same model, perhaps on a faster backend.
Prepare = Callable[[int], Generator[Progress, None, "Encoder"]]


def default_decode_workers() -> int:
    """One decode process per core beyond the one the encoder keeps busy, but two on two
    cores: the encoder waits for each batch, and a single decoder leaves that time idle
    (measured with ``benchmarks/bench_indexing.py``: 16.9 photos/s with one, 24.9 with
    two, at the same CPU time per photo)."""
    cores = os.cpu_count() or 2
    return min(cores, max(2, cores - 1))


def scan_roots(
    catalog: Catalog,
    roots: Sequence[RootRecord],
    report: IndexReport,
    cancel: CancelToken,
) -> Generator[Progress, None, ScanDiff | None]:
    """Walk the roots and write what changed to the catalog; None when cancelled."""
    seen: dict[int, list[StatEntry]] = {}
    known = {}
    for root in roots:
        known_files = catalog.files_of_root(root.id)
        if not root_available(root.path, bool(known_files)):
            # An unplugged drive or unmounted share: keep its photos, show them offline.
            catalog.set_root_online(root.id, False)
            report.offline_roots.append(root.fspath)
            continue
        if not root.online:
            catalog.set_root_online(root.id, True)
        entries: list[StatEntry] = []
        for entry in scan_tree(root.path):
            entries.append(entry)
            if len(entries) % 500 == 0:
                yield Progress("scan", report.scanned + len(entries), None, root.fspath)
                if cancel.cancelled:
                    return None
        report.scanned += len(entries)
        seen[root.id] = entries
        known[root.id] = known_files
        yield Progress("scan", report.scanned, None, root.fspath)
        if cancel.cancelled:
            return None
    diff = diff_scan(seen, known)
    record_scan(catalog, diff, report, scanned_roots=seen)
    return diff


@dataclass
class _Batch:
    """One batch between decoding and the database: its vectors may still be computing."""

    facts: list[tuple[int, DecodedFacts]]
    skipped: list[tuple[int, str]]
    unread: list[tuple[int, str]]  # searchable photos whose text and faces failed
    new_fps: list[str]
    faces: list[tuple[str, tuple[FoundFace, ...]]]
    encoded: Future[np.ndarray] | np.ndarray | None = None
    ready: dict[str, np.ndarray] | None = None  # embedded by the workers already
    scenes: list[SceneRecord] = field(default_factory=list)
    new_scenes: int = 0  # scene vectors among new_fps
    new_videos: int = 0  # videos with new scene vectors (each counts as one file encoded)


class _BatchWriter:
    """Collects decoded files, encodes what is new, and commits each batch atomically.

    Encoding runs on one background thread while the caller keeps collecting the next
    batch from the decode workers: with the encoder in the caller's thread, the workers
    stall as soon as their result pipes fill, and decoding and encoding take turns
    instead of overlapping. The database and the index are still written only from the
    caller's thread, one batch at a time and in order.
    """

    def __init__(
        self,
        catalog: Catalog,
        vectors: VectorIndex,
        encoder: Encoder,
        report: IndexReport,
        batch_size: int,
        places: PlaceNamer,
        faces: FaceSink | None = None,
    ) -> None:
        # Reading photos (PIL, the place names, videos) is imported only once there is
        # something to read: an index run that finds nothing new never loads it.
        from clipdesk.core.places import named_places
        from clipdesk.core.video.indexing import scene_records

        self._named_places, self._scene_records = named_places, scene_records
        self.catalog = catalog
        self.places = places
        self.faces = faces
        self.vectors = vectors
        self.encoder = encoder
        self.report = report
        self.batch_size = batch_size
        self.decoded: list[DecodeOutput] = []
        self.skipped: list[tuple[int, str]] = []
        self.last_save = time.monotonic()
        self._inflight: _Batch | None = None
        self.read_ids: set[int] = set()  # the files decoded and recorded
        self._executor: ThreadPoolExecutor | None = None

    @property
    def full(self) -> bool:
        return len(self.decoded) + len(self.skipped) >= self.batch_size

    def add(self, output: DecodeOutput) -> None:
        if output.error is not None or output.facts is None:
            self.skipped.append((output.file_id, output.error or "unreadable image"))
        else:
            self.decoded.append(output)

    def skip(self, file_id: int, reason: str) -> None:
        self.skipped.append((file_id, reason))

    def flush(self) -> None:
        """Commit the batch being encoded, then start encoding the collected one."""
        self._commit()
        if not self.decoded and not self.skipped:
            return
        key = self.encoder.model_key
        facts: list[tuple[int, DecodedFacts]] = []
        pixels_by_fp: dict[str, np.ndarray] = {}
        ready: dict[str, np.ndarray] = {}
        found: dict[str, tuple[FoundFace, ...]] = {}
        scenes: list[SceneRecord] = []
        for out in self.decoded:
            assert out.facts is not None
            facts.append((out.file_id, out.facts))
            if out.faces is not None:
                found.setdefault(out.facts.fingerprint, out.faces)
            if out.vector is not None:
                ready.setdefault(out.facts.fingerprint, out.vector)
            elif out.scene_times is not None and out.pixels is not None:  # a video's scenes
                cut = self._scene_records(out.facts.fingerprint, out.scene_times)
                scenes.extend(cut)
                for scene, pixels in zip(cut, out.pixels, strict=True):
                    pixels_by_fp.setdefault(scene.scene_fp, pixels)
            elif out.pixels is not None:
                pixels_by_fp.setdefault(out.facts.fingerprint, out.pixels)
        facts = self._named_places(facts, self.places)
        # After the commit above, so a photo seen in the previous batch counts as known.
        known = self.catalog.embedding_ids_for([*pixels_by_fp, *ready], key)
        new_fps = [fp for fp in pixels_by_fp if fp not in known and fp not in ready]
        fresh = set(new_fps)
        new_scenes = [s for s in scenes if s.scene_fp in fresh]
        skipped, unread = self._split_failures()
        batch = _Batch(facts, skipped, unread, new_fps, list(found.items()), scenes=scenes)
        batch.ready = {fp: v for fp, v in ready.items() if fp not in known}
        batch.new_scenes = len(new_scenes)
        batch.new_videos = len({s.video_fp for s in new_scenes})
        if new_fps:
            pixels = np.stack([pixels_by_fp[fp] for fp in new_fps]).astype(np.float32, copy=False)
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="clipdesk-encode")
            batch.encoded = self._executor.submit(self.encoder.encode_image_batch, pixels)
        self._inflight = batch
        self.decoded.clear()
        self.skipped.clear()

    def _split_failures(self) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
        """The files that failed, as (skipped, unread): a photo search already finds
        (read before, with this model's vector) failed only to have its text and faces
        read, and stays searchable; any other leaves search until it changes."""
        if not self.skipped:
            return [], []
        ids = [file_id for file_id, _ in self.skipped]
        searchable = self.catalog.searchable_among(ids, self.encoder.model_key)
        skipped = [(i, reason) for i, reason in self.skipped if i not in searchable]
        unread = [
            (i, f"text and faces not read: {reason}")
            for i, reason in self.skipped
            if i in searchable
        ]
        return skipped, unread

    def finish(self) -> None:
        """Encode and commit everything collected, and stop the encoder thread."""
        try:
            self.flush()
            self._commit()
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
                self._executor = None

    def _commit(self) -> None:
        batch, self._inflight = self._inflight, None
        if batch is None:
            return
        new_vectors: dict[str, np.ndarray] = dict(batch.ready or {})
        if batch.encoded is not None:
            encoded = batch.encoded
            if isinstance(encoded, Future):
                encoded = encoded.result()
            new_vectors.update(zip(batch.new_fps, encoded, strict=True))
        created = self.catalog.record_results(
            self.encoder.model_key,
            decoded=batch.facts,
            skipped=batch.skipped,
            unread=batch.unread,
            new_vectors=new_vectors,
            scenes=batch.scenes,
        )
        if created:
            ids = np.array([i for i, _ in created], dtype=np.int64)
            self.vectors.add(ids, np.stack([v for _, v in created]))
        if self.faces is not None and batch.faces:
            # After the files are recorded: a run stopped in between looks again.
            self.report.faces += self.faces.record(batch.faces)
        self.report.decoded += len(batch.facts)
        self.read_ids.update(file_id for file_id, _ in batch.facts)
        photos_created = len(created) - batch.new_scenes
        self.report.encoded += photos_created + batch.new_videos  # a video is one file
        self.report.scenes_encoded += batch.new_scenes
        self.report.reused += len(batch.facts) - photos_created - batch.new_videos
        self.report.skipped += len(batch.skipped)
        self.report.unread += len(batch.unread)
        if time.monotonic() - self.last_save > SAVE_INTERVAL_S:
            self.save()

    def save(self) -> None:
        self.vectors.save()
        self.last_save = time.monotonic()


def _wants_read(record: FileRecord, done: set[str]) -> bool:
    """Whether a read photo still wants a read that ``done`` lists by fingerprint: not
    when that read already failed on it (it is tried again once the file changes)."""
    return record.skip_reason is None and record.fingerprint not in done


def embed_pending(
    catalog: Catalog,
    vectors: VectorIndex,
    encoder: Encoder,
    report: IndexReport,
    cancel: CancelToken,
    *,
    batch_size: int = 32,
    workers: int | None = None,
    decode_timeout_s: float = 60.0,
    memory_limit_mb: int | None = MEMORY_LIMIT_MB,
    decode: Callable[[DecodeJob], DecodeOutput] | None = None,
    pool: ReadPool | None = None,
    prepare: Prepare | None = None,
    faces: FaceSink | None = None,
    places: PlaceNamer | None = None,
    text: bool = False,
    stage: str = "embed",
) -> Generator[Progress, None, set[int]]:
    """Read, embed and store every file still pending for the encoder's model; returns
    the ids of the files read.

    ``decode`` (default: ``decode_task.decode_file``) runs in the worker processes (a
    picklable top-level function; tests hand in one that crashes or hangs on chosen
    files). A long-lived caller such as the folder
    watcher may pass its own ``pool`` (running ``decode``) to avoid starting workers for
    every small change; it is left open. ``prepare(count)``, once the number of files
    to embed is known, may swap in a faster encoder of the same model (see ``Prepare``).
    With ``faces``, photos not yet looked at for faces are pending too, and the workers
    look for faces in the image they decoded for the encoder; with ``text`` the same
    holds for reading their text (OCR). Progress is reported as ``stage``.
    """
    pending = catalog.pending_files(encoder.model_key, faces=faces is not None, text=text)
    scanned = faces.scanned() if faces is not None else set()
    read = catalog.text_read() if text else set()
    total = len(pending)
    yield Progress(stage, 0, total)
    if not pending or cancel.cancelled:
        return set()
    # What reads photos (decode processes, PIL, place names, videos) is imported only now
    # that there is something to read.
    from clipdesk.core.decode_pool import TaskFailure
    from clipdesk.core.places import GeoNamesPlaces
    from clipdesk.core.video.indexing import decode_job

    if prepare is not None:
        encoder = yield from prepare(total)
    writer = _BatchWriter(
        catalog, vectors, encoder, report, batch_size, places or GeoNamesPlaces(), faces
    )
    cfg = encoder.preprocess_cfg
    jobs: Iterable[DecodeJob] = (
        decode_job(
            f,
            cfg,
            decode_timeout_s,
            # A changed file still names what it was: its new content is not known yet.
            faces=faces is not None and (f.status == "pending" or _wants_read(f, scanned)),
            text=text and (f.status == "pending" or _wants_read(f, read)),
        )
        for f in pending
    )
    started = time.monotonic()
    done = 0
    try:
        with contextlib.ExitStack() as stack:
            if pool is None:
                pool = stack.enter_context(
                    LocalReadPool(
                        decode,
                        workers or default_decode_workers(),
                        decode_timeout_s,
                        memory_limit_mb,
                    )
                )
            results = stack.enter_context(contextlib.closing(pool.map_unordered(jobs)))
            for job, result in results:
                if isinstance(result, TaskFailure):
                    writer.skip(job.file_id, result.reason)
                else:
                    writer.add(result)
                done += 1
                if writer.full:
                    writer.flush()
                elapsed = time.monotonic() - started
                yield Progress(stage, done, total, rate=done / elapsed if elapsed else None)
                if cancel.cancelled:
                    report.cancelled = True
                    break
    finally:
        # Runs on cancel, on an error and when the consumer closes the generator: what
        # was already decoded is kept, and the index file is brought up to date.
        writer.finish()
        writer.save()
    return writer.read_ids


READ_STAGE = "read"  # the progress of the pass that reads text and looks for faces


@dataclass(frozen=True)
class Reading:
    """How a run reads its files, the same in both of its passes."""

    batch_size: int
    workers: int | None
    decode: Callable[[DecodeJob], DecodeOutput] | None
    decode_timeout_s: float
    pool: ReadPool | None

    def options(self) -> dict[str, Any]:
        """The fields as ``embed_pending``'s keyword arguments (not copied: a pool is live)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def read_pending(
    catalog: Catalog,
    vectors: VectorIndex,
    encoder: Encoder,
    report: IndexReport,
    cancel: CancelToken,
    faces: FaceSink | None,
    text: bool,
    reading: Reading,
    already: set[int],
) -> Generator[Progress, None, None]:
    """Read the text and look for the faces of every photo still waiting for them (the
    photos themselves already searchable), as ``READ_STAGE`` progress. The files of
    ``already`` (read for their vectors by this run) are counted once in ``report``."""
    counts = IndexReport()
    read = yield from embed_pending(
        catalog,
        vectors,
        encoder,
        counts,
        cancel,
        faces=faces,
        text=text,
        stage=READ_STAGE,
        **reading.options(),
    )
    again = len(read & already)
    report.decoded += counts.decoded - again
    report.reused += counts.reused - again
    report.encoded += counts.encoded  # a file that changed on disk in between
    report.scenes_encoded += counts.scenes_encoded
    report.skipped += counts.skipped
    report.unread += counts.unread
    report.faces += counts.faces
    report.cancelled = report.cancelled or counts.cancelled


def embed_then_read(
    catalog: Catalog,
    vectors: VectorIndex,
    encoder: Encoder,
    report: IndexReport,
    cancel: CancelToken,
    *,
    batch_size: int = 32,
    workers: int | None = None,
    decode: Callable[[DecodeJob], DecodeOutput] | None = None,
    decode_timeout_s: float = 60.0,
    pool: ReadPool | None = None,
    prepare: Prepare | None = None,
    faces: FaceSink | None = None,
    text: bool = False,
) -> Generator[Progress, None, None]:
    """Read every pending file in two passes, in ``pool`` or in decode processes of its
    own shared by both: every photo is made searchable first (stage ``embed``); reading
    text and looking for faces cost several times more per photo, so they come after,
    in a pass of their own (``READ_STAGE``; the files are decoded again, which costs
    little beside them). Stopped in between, the library is searchable and the next run
    reads the rest. An index run and the folder watcher's looks both read this way."""
    with contextlib.ExitStack() as stack:
        if pool is None:  # started when a pass first has a file to read
            workers = workers or default_decode_workers()
            pool = stack.enter_context(LocalReadPool(decode, workers, decode_timeout_s))
        reading = Reading(batch_size, workers, decode, decode_timeout_s, pool)
        embedded = yield from embed_pending(
            catalog, vectors, encoder, report, cancel, prepare=prepare, **reading.options()
        )
        if (faces is not None or text) and not cancel.cancelled:
            yield from read_pending(
                catalog, vectors, encoder, report, cancel, faces, text, reading, embedded
            )


def run_index(
    catalog: Catalog,
    vectors: VectorIndex,
    encoder: Encoder,
    roots: Sequence[RootRecord],
    *,
    cancel: CancelToken | None = None,
    batch_size: int = 32,
    workers: int | None = None,
    decode: Callable[[DecodeJob], DecodeOutput] | None = None,
    decode_timeout_s: float = 60.0,
    prepare: Prepare | None = None,
    faces: FaceSink | None = None,
    text: bool = False,
    pool: ReadPool | None = None,
) -> Generator[Progress, None, IndexReport]:
    """Bring the catalog and the index up to date with the roots on disk (reading the
    files in ``pool`` when one is given: e.g. Ray workers that embed them too)."""
    cancel = cancel or CancelToken()
    report = IndexReport()
    started = time.monotonic()
    diff = yield from scan_roots(catalog, roots, report, cancel)
    if diff is None:
        report.cancelled = True
    else:
        yield from embed_then_read(
            catalog,
            vectors,
            encoder,
            report,
            cancel,
            batch_size=batch_size,
            workers=workers,
            decode=decode,
            decode_timeout_s=decode_timeout_s,
            pool=pool,
            prepare=prepare,
            faces=faces,
            text=text,
        )
        if report.added or report.removed or not catalog.has_statistics():
            catalog.refresh_statistics()  # the tables changed size: let the planner know
    report.cancelled = report.cancelled or cancel.cancelled
    report.elapsed_s = time.monotonic() - started
    yield Progress("done", report.decoded, report.decoded, "cancelled" if report.cancelled else "")
    return report
