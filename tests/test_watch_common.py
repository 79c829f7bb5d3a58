"""Helpers shared by the watcher, crash, fuzz and hostile-input tests (no tests here).

They use a small random-weight CLIP saved once per test session as an imported model:
the pipeline (decode workers, encoder, index) is the real one and costs the same, and
none of these tests depends on what the pictures show.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from clipdesk.core.catalog import Catalog
from clipdesk.core.library import CATALOG_FILE, Library
from clipdesk.core.scanner import scan_tree
from clipdesk.core.watch import LibraryWatcher, WatchSettings

MODEL = "rand-watch"

# Short delays, so the watcher tests do not wait on real-world debounce times. The files
# these tests write appear in one write (or one rename), so a short settle proves the same;
# the slow-copy test sets its own, longer one.
FAST = WatchSettings(
    debounce_s=0.1,
    max_delay_s=2.0,
    settle_s=0.4,
    root_check_s=0.5,
    poll_interval_s=0.5,
    workers=1,
    batch_size=8,
)


def settle(watcher: LibraryWatcher) -> None:
    assert watcher.wait_idle(60, quiet_s=0.3), watcher.status()


def save_model(models_dir: Path) -> Path:
    """Write the random model into ``models_dir`` (once; later calls reuse it)."""
    from clipdesk.core.models.testing import save_random_model, tiny_model_config

    folder = models_dir / MODEL
    if not (folder / "open_clip_model.safetensors").exists():
        save_random_model(folder, tiny_model_config(), name=MODEL, seed=5)
    return folder


class CountingEncoder:
    """The real encoder, counting the images it is asked to embed (a spy, not a mock)."""

    def __init__(self, encoder: object) -> None:
        self._encoder = encoder
        self.images = 0

    def encode_image_batch(self, batch: np.ndarray) -> np.ndarray:
        self.images += len(batch)
        return self._encoder.encode_image_batch(batch)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._encoder, name)


def open_library(directory: Path, encoder: object) -> Library:
    directory.mkdir(parents=True, exist_ok=True)
    catalog = Catalog.open(directory / CATALOG_FILE)
    return Library(directory, catalog, encoder=encoder)  # type: ignore[arg-type]


def write_image(path: Path, seed: int, size: tuple[int, int] = (48, 36)) -> Path:
    """A small distinct picture (PNG, JPEG... by suffix)."""
    rng = np.random.default_rng(seed)
    pixels = (rng.random((size[1], size[0], 3)) * 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def disk_images(*roots: Path | bytes) -> set[str]:
    out: set[str] = set()
    for root in roots:
        raw = root if isinstance(root, bytes) else os.fsencode(Path(root).resolve())
        out |= {os.fsdecode(e.path) for e in scan_tree(raw)}
    return out


def assert_agrees(library: Library, *online: Path | bytes, offline: int = 0) -> None:
    """``status`` and a search that asks for everything both match the files on disk."""
    disk = disk_images(*online)
    status = library.status()
    assert status["pending"] == 0, status
    assert status["offline"] == offline, status
    assert status["indexed"] + status["skipped"] == len(disk), (status, sorted(disk))
    indexed = {
        r.fspath
        for root in library.catalog.roots()
        if root.online
        for r in library.catalog.files_of_root(root.id).values()
        if r.status == "ok"
    }
    assert indexed <= disk, indexed - disk
    assert status["indexed"] == len(indexed)
    hits = [h.path for h in library.search("a picture", k=len(disk) + 50).hits]
    assert len(hits) == len(set(hits)), "a photo listed twice"
    assert set(hits) == indexed, set(hits) ^ indexed
    key = library.encoder.model_key
    assert len(library.catalog.embedding_ids(key)) == len(library.vectors)


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()
