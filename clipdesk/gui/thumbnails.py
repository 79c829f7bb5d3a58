"""Thumbnails: an on-disk cache built in the background, loaded for visible items only.

The cache key is the photo's path, size and modification time plus the thumbnail size,
so an edited photo gets a new thumbnail and stale ones simply age out. A video's
thumbnail is one frame, named by a key with its time (``media_keys.py``). Reading and
scaling happen in a small thread pool of its own (so thumbnails never wait behind an
indexing job); the GUI thread only receives finished ``QImage`` objects via a signal.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QIODevice,
    QObject,
    QRunnable,
    QSize,
    Qt,
    QThreadPool,
    Signal,
)
from PySide6.QtGui import QImage, QImageReader

from clipdesk.core import paths
from clipdesk.core.files import atomic_write
from clipdesk.gui.media_keys import split_key

THUMB_QUALITY = 85
MEMORY_BYTES = 96 * 1024 * 1024  # decoded thumbnails kept in memory
IDLE_S = 0.5  # how long an idle loader thread waits for work before it ends


def thumbnail_dir() -> Path:
    return paths.cache_dir() / "thumbnails"


class ThumbnailCache:
    """Thumbnails as small JPEG files under the cache dir, keyed by path+size+mtime."""

    def __init__(self, directory: Path | None = None, size: int = 256) -> None:
        self.directory = directory or thumbnail_dir()
        self.size = size

    def key(self, source: str) -> str | None:
        """The cache key for ``source`` (a path, or a video's path and time) as it is now
        on disk; None if it cannot be read."""
        path, at = split_key(source)
        try:
            st = os.stat(path)
        except OSError:
            return None
        raw = f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0{self.size}\0{at}".encode(
            "utf-8", "surrogateescape"
        )
        return hashlib.sha1(raw).hexdigest()

    def file_for(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.jpg"

    def load(self, path: str, fit: int | None = None) -> QImage:
        """The thumbnail of ``path`` (made and stored if missing), scaled to fit a
        ``fit``-pixel square while decoding; raises OSError/ValueError.

        Decoding goes through ``QImageReader.read``, which releases the GIL, so loading
        thumbnails in worker threads does not hold up the GUI thread.
        """
        key = self.key(path)
        if key is None:
            raise OSError("file not found")
        cached = self.file_for(key)
        if cached.exists():
            image = _read(QImageReader(str(cached)), fit)
            if not image.isNull():
                return image
        data = self._make(path)
        self._store(cached, data)
        buffer = QBuffer()
        buffer.setData(QByteArray(data))
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        image = _read(QImageReader(buffer, b"jpeg"), fit)
        if image.isNull():
            raise ValueError("thumbnail could not be decoded")
        return image

    def _make(self, source: str) -> bytes:
        from clipdesk.core.errors import ImageReadError
        from clipdesk.core.imageio import read_image
        from clipdesk.core.mediatypes import is_video_path
        from clipdesk.core.video.frames import frame_at

        path, at = split_key(source)
        try:
            if is_video_path(path):
                image = frame_at(path, at or 0.0, self.size)
            else:
                image = read_image(Path(path), target_size=self.size).image
        except ImageReadError as exc:
            raise ValueError(str(exc)) from exc
        image.thumbnail((self.size, self.size))
        out = io.BytesIO()
        image.convert("RGB").save(out, "JPEG", quality=THUMB_QUALITY)
        return out.getvalue()

    def _store(self, target: Path, data: bytes) -> None:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(target, data, durable=False)
        except OSError:
            pass  # a read-only or full cache only costs speed

    def usage_bytes(self) -> int:
        total = 0
        for file in self.directory.rglob("*.jpg"):
            try:
                total += file.stat().st_size
            except OSError:
                continue
        return total

    def prune(self, max_bytes: int) -> int:
        """Delete the least recently written thumbnails until under ``max_bytes``."""
        entries = []
        for file in self.directory.rglob("*.jpg"):
            try:
                st = file.stat()
            except OSError:
                continue
            entries.append((st.st_mtime, st.st_size, file))
        total = sum(size for _, size, _ in entries)
        removed = 0
        for _, size, file in sorted(entries):
            if total <= max_bytes:
                break
            try:
                file.unlink()
            except OSError:
                continue
            total -= size
            removed += 1
        return removed

    def clear(self) -> None:
        self.prune(0)


def _read(reader: QImageReader, fit: int | None) -> QImage:
    if fit:
        size = reader.size()
        if size.isValid() and (size.width() > fit or size.height() > fit):
            reader.setScaledSize(size.scaled(QSize(fit, fit), Qt.AspectRatioMode.KeepAspectRatio))
    return reader.read()


class _Signals(QObject):
    ready = Signal(object, QImage)  # object: a str with surrogates survives
    failed = Signal(object, str)


class _Worker(QRunnable):
    """Takes the newest request off the loader's stack until none is left."""

    def __init__(self, loader: ThumbnailLoader) -> None:
        super().__init__()
        self._loader = loader

    def run(self) -> None:
        loader = self._loader
        while True:
            job = loader._take()
            if job is None:
                return
            path, fit = job
            try:
                image = loader.cache.load(path, fit)
            except (OSError, ValueError) as exc:
                loader._signals.failed.emit(path, str(exc) or type(exc).__name__)
            else:
                loader._signals.ready.emit(path, image)


class ThumbnailLoader(QObject):
    """Loads thumbnails in the background and keeps the recent ones in memory.

    Requests go on a stack: the newest (what the user looks at now) is served first,
    and ``reset`` drops every waiting request when the results change. Images come
    scaled to ``display_size`` so the grid draws them without scaling.
    """

    ready = Signal(object)  # the path, as the str it was asked for (any bytes)
    failed = Signal(object, str)

    def __init__(
        self,
        cache: ThumbnailCache | None = None,
        threads: int = 2,
        display_size: int = 160,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.cache = cache or ThumbnailCache()
        self.display_size = display_size
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max(1, threads))
        self._threads = max(1, threads)
        self._signals = _Signals()
        self._signals.ready.connect(self._on_ready)
        self._signals.failed.connect(self._on_failed)
        self._images: OrderedDict[str, QImage] = OrderedDict()
        self._bytes = 0
        self._errors: dict[str, str] = {}
        self._waiting: list[str] = []  # a stack: newest last
        self._queued: set[str] = set()  # waiting or being loaded
        self._workers = 0
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._stopping = False

    def image(self, path: str) -> QImage | None:
        image = self._images.get(path)
        if image is not None:
            self._images.move_to_end(path)
        return image

    def error(self, path: str) -> str | None:
        return self._errors.get(path)

    def request(self, path: str) -> None:
        """Queue ``path`` unless it is loaded, failed or already queued."""
        if path in self._images or path in self._errors:
            return
        with self._lock:
            if path in self._queued:
                return
            self._queued.add(path)
            self._waiting.append(path)
            self._wake.notify()
            start = self._workers < self._threads and self._workers < len(self._waiting)
            if start:
                self._workers += 1
        if start:
            self.pool.start(_Worker(self))

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queued)

    def set_display_size(self, size: int) -> None:
        """Thumbnails at another size: forget the ones in memory."""
        if size != self.display_size:
            self.display_size = size
            self.reset()
            self._images.clear()
            self._bytes = 0

    def reset(self) -> None:
        """Drop waiting requests (results changed); finished images stay cached."""
        with self._lock:
            for path in self._waiting:
                self._queued.discard(path)
            self._waiting.clear()

    def shutdown(self, msecs: int = 10_000) -> bool:
        with self._lock:
            self._stopping = True
            self._wake.notify_all()
        self.reset()
        return self.pool.waitForDone(msecs)

    def _take(self) -> tuple[str, int] | None:
        """The newest request; a worker idles briefly before it ends, since starting
        a new one costs more than waiting for the next scroll step."""
        with self._lock:
            if not self._waiting and not self._stopping:
                self._wake.wait(IDLE_S)
            if not self._waiting or self._stopping:
                self._workers -= 1
                return None
            return self._waiting.pop(), self.display_size

    def _on_ready(self, path: str, image: QImage) -> None:
        with self._lock:
            self._queued.discard(path)
        old = self._images.pop(path, None)
        if old is not None:
            self._bytes -= old.sizeInBytes()
        self._images[path] = image
        self._bytes += image.sizeInBytes()
        while self._bytes > MEMORY_BYTES and len(self._images) > 1:
            _, dropped = self._images.popitem(last=False)
            self._bytes -= dropped.sizeInBytes()
        self.ready.emit(path)

    def _on_failed(self, path: str, reason: str) -> None:
        with self._lock:
            self._queued.discard(path)
        self._errors[path] = reason
        self.failed.emit(path, reason)
