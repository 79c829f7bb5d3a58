"""Thumbnails: an on-disk cache built in the background, loaded for visible items only.

The cache key is the photo's path, size and modification time plus the thumbnail size,
so an edited photo gets a new thumbnail and stale ones simply age out. Reading and
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

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage

from clipdesk.core import paths

THUMB_QUALITY = 85
MEMORY_ITEMS = 3000


def thumbnail_dir() -> Path:
    return paths.cache_dir() / "thumbnails"


class ThumbnailCache:
    """Thumbnails as small JPEG files under the cache dir, keyed by path+size+mtime."""

    def __init__(self, directory: Path | None = None, size: int = 256) -> None:
        self.directory = directory or thumbnail_dir()
        self.size = size

    def key(self, path: str) -> str | None:
        """The cache key for ``path`` as it is now on disk; None if it cannot be read."""
        try:
            st = os.stat(path)
        except OSError:
            return None
        raw = f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0{self.size}".encode(
            "utf-8", "surrogateescape"
        )
        return hashlib.sha1(raw).hexdigest()

    def file_for(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.jpg"

    def load(self, path: str) -> QImage:
        """The thumbnail of ``path``, made and stored if missing; raises OSError/ValueError."""
        key = self.key(path)
        if key is None:
            raise OSError("file not found")
        cached = self.file_for(key)
        if cached.exists():
            image = QImage(str(cached))
            if not image.isNull():
                return image
        data = self._make(path)
        self._store(cached, data)
        image = QImage.fromData(data, "JPEG")
        if image.isNull():
            raise ValueError("thumbnail could not be decoded")
        return image

    def _make(self, path: str) -> bytes:
        from clipdesk.core.imageio import ImageReadError, read_image

        try:
            decoded = read_image(Path(path), target_size=self.size)
        except ImageReadError as exc:
            raise ValueError(str(exc)) from exc
        image = decoded.image
        image.thumbnail((self.size, self.size))
        out = io.BytesIO()
        image.convert("RGB").save(out, "JPEG", quality=THUMB_QUALITY)
        return out.getvalue()

    def _store(self, target: Path, data: bytes) -> None:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{threading.get_ident()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, target)
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


class _Signals(QObject):
    ready = Signal(str, QImage)
    failed = Signal(str, str)


class _LoadTask(QRunnable):
    def __init__(self, loader: ThumbnailLoader, path: str, generation: int) -> None:
        super().__init__()
        self._loader = loader
        self._path = path
        self._generation = generation

    def run(self) -> None:
        loader = self._loader
        if self._generation != loader._generation:  # the view moved on: skip it
            loader._forget(self._path)
            return
        try:
            image = loader.cache.load(self._path)
        except (OSError, ValueError) as exc:
            loader._signals.failed.emit(self._path, str(exc) or type(exc).__name__)
        else:
            loader._signals.ready.emit(self._path, image)


class ThumbnailLoader(QObject):
    """Asks for thumbnails in the background and keeps the recent ones in memory.

    Newer requests run first (the items the user is looking at now), and ``reset``
    drops every queued request when the results change.
    """

    ready = Signal(str)
    failed = Signal(str, str)

    def __init__(
        self, cache: ThumbnailCache | None = None, threads: int = 2, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.cache = cache or ThumbnailCache()
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max(1, threads))
        self._signals = _Signals()
        self._signals.ready.connect(self._on_ready)
        self._signals.failed.connect(self._on_failed)
        self._images: OrderedDict[str, QImage] = OrderedDict()
        self._errors: dict[str, str] = {}
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._generation = 0
        self._priority = 0

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
            if path in self._pending:
                return
            self._pending.add(path)
        self._priority = min(self._priority + 1, 2**30)
        self.pool.start(_LoadTask(self, path, self._generation), self._priority)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def reset(self) -> None:
        """Drop queued requests (results changed); finished images stay cached."""
        self._generation += 1
        self.pool.clear()
        with self._lock:
            self._pending.clear()
        self._priority = 0

    def shutdown(self, msecs: int = 10_000) -> bool:
        self.reset()
        return self.pool.waitForDone(msecs)

    def _forget(self, path: str) -> None:
        with self._lock:
            self._pending.discard(path)

    def _on_ready(self, path: str, image: QImage) -> None:
        self._forget(path)
        self._images[path] = image
        while len(self._images) > MEMORY_ITEMS:
            self._images.popitem(last=False)
        self.ready.emit(path)

    def _on_failed(self, path: str, reason: str) -> None:
        self._forget(path)
        self._errors[path] = reason
        self.failed.emit(path, reason)
