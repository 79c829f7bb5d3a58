"""An index makes every photo searchable before it reads their text and faces.

Reading text (OCR) and looking for faces cost many times what a photo's vector costs, so
an index run embeds every photo first and reads text and faces in a pass of its own
after. A user can search the whole library from the moment the first pass ends; a run
stopped during the second pass leaves it searchable, and the next run reads only what
is left, embedding nothing again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from clipdesk.core.indexer import READ_STAGE
from clipdesk.core.library import Library
from clipdesk.core.progress import CancelToken, Progress
from clipdesk.core.progress import run_to_end as run
from clipdesk.core.search import SearchQuery
from tests.cli_harness import run_cli
from tests.test_photo_text import PHOTOS, draw_photo


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, (name, lines) in enumerate(PHOTOS.items()):
        draw_photo(folder / name, lines, seed=i, size=(640, 480))
    return folder


def _names(library: Library, query: str) -> set[str]:
    return {Path(h.path).name for h in library.find(SearchQuery.from_text(query, k=50)).hits}


def test_every_photo_is_searchable_before_any_text_is_read(photos, tmp_path, tiny_shapes_installed):
    with Library.open(tmp_path / "lib", model=tiny_shapes_installed) as library:
        job = library.index([photos], workers=1, text=True, faces=False)
        stages: list[str] = []
        at_read: tuple[set[str], set[str], int] | None = None
        try:
            while True:
                step: Progress = next(job)
                stages.append(step.stage)
                if step.stage == READ_STAGE and at_read is None:
                    key = library.encoder.model_key
                    at_read = (
                        _names(library, "a photo"),
                        _names(library, "text:bakery"),
                        len(library.catalog.pending_files(key)),
                    )
        except StopIteration as stop:
            report = stop.value
        assert at_read is not None, stages
        searchable, bakery, unembedded = at_read
        assert searchable == set(PHOTOS) and unembedded == 0  # all embedded, and found
        assert bakery == set()  # and no text read yet
        assert stages.index("embed") < stages.index(READ_STAGE)
        # Each photo is counted once, though it was decoded in both passes.
        assert (report.decoded, report.encoded, report.reused) == (len(PHOTOS), len(PHOTOS), 0)
        assert _names(library, "text:bakery") == {"bakery.jpg"}


def test_a_run_stopped_while_reading_text_stays_searchable_and_the_next_reads_the_rest(
    photos, tmp_path, tiny_shapes_installed
):
    with Library.open(tmp_path / "lib", model=tiny_shapes_installed) as library:
        cancel = CancelToken()
        job = library.index(
            [photos], workers=1, text=True, faces=False, cancel=cancel, batch_size=1
        )
        try:
            for step in job:
                if step.stage == READ_STAGE and step.done >= 1:
                    cancel.cancel()
        finally:
            job.close()
        key = library.encoder.model_key
        assert library.catalog.pending_files(key) == []
        unread = library.catalog.pending_files(key, text=True)
        assert 0 < len(unread) < len(PHOTOS)
        assert _names(library, "a photo") == set(PHOTOS)

        report = run(library.index(workers=1, text=True, faces=False))
        assert report.encoded == 0 and report.decoded == len(unread)
        assert library.catalog.pending_files(key, text=True) == []
        assert _names(library, "text:bakery") == {"bakery.jpg"}
        assert _names(library, 'text:"sopa dia"') == {"menu.jpg"}


def test_clipdesk_index_says_when_the_photos_can_be_searched(photos, tmp_path, monkeypatch):
    monkeypatch.delenv("CLIPDESK_OCR", raising=False)
    common = ["--library", str(tmp_path / "lib"), "--model", "tiny-shapes"]
    done = run_cli([*common, "index", "--no-tags", "--no-faces", str(photos)])
    assert done.code == 0, done
    said = [line for line in done.err.splitlines() if "can be searched now" in line]
    assert len(said) == 1 and f"in {len(PHOTOS)} of them" in said[0], done.err
    again = run_cli([*common, "index", "--no-tags", "--no-faces"])  # nothing left to read
    assert again.code == 0 and "can be searched now" not in again.err, again.err


def test_both_passes_read_in_the_same_worker_processes(
    photos, tmp_path, tiny_shapes_installed, monkeypatch
):
    """Starting a decode worker costs an interpreter and the image readers' imports: the
    pass that reads text reuses the workers of the pass that embedded, and a run with
    nothing to read starts none."""
    from clipdesk.core import decode_pool

    pools: list[list[int]] = []  # the worker pids each pool ever had
    made = decode_pool.DecodePool.__init__
    start = decode_pool.DecodePool._start_worker

    def counted_init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        made(self, *args, **kwargs)
        pools.append([])
        self._pids = pools[-1]

    def counted_start(self):  # type: ignore[no-untyped-def]
        worker = start(self)
        self._pids.append(worker.process.pid)
        return worker

    monkeypatch.setattr(decode_pool.DecodePool, "__init__", counted_init)
    monkeypatch.setattr(decode_pool.DecodePool, "_start_worker", counted_start)
    with Library.open(tmp_path / "lib", model=tiny_shapes_installed) as library:
        stages = [p.stage for p in library.index([photos], workers=1, text=True, faces=False)]
        assert "embed" in stages and READ_STAGE in stages
        assert len(pools) == 1 and len(pools[0]) == 1, pools  # one pool, one worker
        assert _names(library, "text:bakery") == {"bakery.jpg"}  # and it read the text

        run(library.index(workers=1, text=True, faces=False))
        assert len(pools) == 1, "a run with nothing to read started workers"


def test_the_folder_watchers_look_makes_new_photos_searchable_before_reading_them(
    photos, tmp_path, tiny_shapes_installed, monkeypatch
):
    """A look by the folder watcher (``reconcile``) reads what it found as an index
    does: a camera's worth of new photos can be found long before their text is read."""
    monkeypatch.delenv("CLIPDESK_OCR", raising=False)  # the default: text is read
    with Library.open(tmp_path / "lib", model=tiny_shapes_installed) as library:
        library.add_root(photos)
        stages: list[str] = []
        at_read: tuple[set[str], set[str]] | None = None
        job = library.reconcile(workers=1)
        try:
            while True:
                step = next(job)
                stages.append(step.stage)
                if step.stage == READ_STAGE and at_read is None:
                    at_read = (_names(library, "a photo"), _names(library, "text:bakery"))
        except StopIteration as stop:
            report = stop.value
        assert at_read == (set(PHOTOS), set()), stages  # all found, no text read yet
        assert (report.added, report.decoded, report.encoded) == (len(PHOTOS),) * 3
        assert _names(library, "text:bakery") == {"bakery.jpg"}
