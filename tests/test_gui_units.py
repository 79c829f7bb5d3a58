"""The GUI's small parts: cut-off, settings file, filters, progress text, thumbnails."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from PIL import Image

from clipdesk.core.catalog import FileRecord
from clipdesk.core.progress import Progress
from clipdesk.core.search import Filters, SearchHit
from clipdesk.gui.cutoff import adaptive_cutoff, next_step
from clipdesk.gui.jobs import SearchRequest, watch_activity
from clipdesk.gui.settings import (
    SETTINGS_VERSION,
    Settings,
    SettingsError,
    load_settings,
    save_settings,
    settings_path,
)
from clipdesk.gui.side_panel import progress_text
from clipdesk.gui.status_bar import format_progress


def hit(path: str, score: float = 0.5) -> SearchHit:
    record = FileRecord(1, 1, os.fsencode(path), 1000, 1_600_000_000 * 10**9, 1, None, "indexed")
    return SearchHit(path, score, record)


# -- adaptive cut-off -------------------------------------------------------------------


def test_cutoff_stops_where_scores_fall_well_below_the_best():
    relevant = [0.34, 0.33, 0.33, 0.32, 0.32, 0.31, 0.31, 0.30]
    noise = [0.21, 0.20, 0.20, 0.19, 0.19, 0.18] * 5
    assert adaptive_cutoff(relevant + noise) == len(relevant)


def test_cutoff_is_relative_not_a_fixed_threshold():
    # The same shape of scores shifted down (another model) cuts at the same place.
    scores = [0.9, 0.88, 0.87, 0.86, 0.85, 0.84, 0.83, 0.6, 0.58, 0.57, 0.55, 0.5]
    shifted = [s - 0.6 for s in scores]
    assert adaptive_cutoff(scores) == adaptive_cutoff(shifted) == 7


def test_cutoff_is_not_dragged_down_by_a_few_very_weak_results():
    relevant = [0.60, 0.59, 0.58, 0.57, 0.56, 0.55, 0.54, 0.53]
    scores = relevant + [0.30] * 30 + [-0.5, -0.55, -0.6]
    assert adaptive_cutoff(scores) == len(relevant)


def test_cutoff_ignores_the_query_image_itself():
    # similar(): the photo itself scores 1.0 and must not make the rest look irrelevant.
    scores = [1.0, 0.82, 0.81, 0.80, 0.80, 0.79, 0.78, 0.77, 0.6, 0.59, 0.58, 0.57]
    assert adaptive_cutoff(scores) == 8


def test_cutoff_keeps_everything_when_scores_are_flat_and_a_minimum_otherwise():
    assert adaptive_cutoff([0.3] * 50) == 50
    assert adaptive_cutoff([0.9] + [0.1] * 40) == 6
    assert adaptive_cutoff([0.5, 0.4]) == 2


def test_show_more_step_grows_and_stops_at_the_end():
    assert next_step(8, 200) == 32
    assert next_step(100, 150) == 150


# -- settings ---------------------------------------------------------------------------


def test_settings_round_trip_with_a_version(tmp_path: Path):
    path = tmp_path / "s.json"
    saved = Settings(model="tiny-shapes", cpu_share=0.5, excluded_folders=["/x"])
    save_settings(saved, path)
    data = json.loads(path.read_text())
    assert data["version"] == SETTINGS_VERSION
    assert load_settings(path) == saved


def test_settings_default_location_is_the_config_dir(isolated_dirs):
    save_settings(Settings(device="cpu"))
    assert settings_path().parent == isolated_dirs / "config"
    assert load_settings().device == "cpu"


def test_bad_or_newer_settings_fall_back_to_defaults_and_are_not_overwritten(tmp_path: Path):
    path = tmp_path / "s.json"
    path.write_text("{not json")
    assert load_settings(path) == Settings()
    path.write_text(json.dumps({"version": 1, "cpu_share": "lots", "device": "quantum"}))
    loaded = load_settings(path)
    assert loaded.cpu_share == Settings().cpu_share and loaded.device == "auto"
    path.write_text(json.dumps({"version": SETTINGS_VERSION + 1, "model": "future"}))
    newer = load_settings(path)
    assert newer.model is None
    with pytest.raises(SettingsError):
        save_settings(newer, path)
    assert json.loads(path.read_text())["model"] == "future"


def test_cpu_share_gives_decode_workers():
    assert Settings(cpu_share=1.0).decode_workers(8) == 7
    assert Settings(cpu_share=0.5).decode_workers(8) == 3
    assert Settings(cpu_share=0.1).decode_workers(2) == 1


# -- filters and status text ------------------------------------------------------------


def test_request_hands_every_filter_to_the_core_query(tmp_path: Path):
    """The window filters nothing itself: each filter travels in the query to SQL."""
    day = 86400.0
    request = SearchRequest(
        text="a red circle -square",
        k=50,
        folder=str(tmp_path),
        types=("jpeg",),
        date_from=10 * day,
        date_to=20 * day,
        excluded=(str(tmp_path / "private"),),
        tag="red",
    )
    query = request.to_query()
    assert (query.text, query.negatives, query.k) == ("a red circle", ("square",), 50)
    assert query.filters == Filters(
        folder=str(tmp_path),
        excluded=(str(tmp_path / "private"),),
        after=10 * day,
        before=20 * day,
        types=("jpeg",),
        tag="red",
    )
    assert SearchRequest().empty and not SearchRequest(image="/a.jpg").empty


def test_the_watchers_activity_says_when_it_reads_text_and_faces():
    assert watch_activity(Progress("scan", 0, None)) == "Looking for new and changed photos…"
    assert watch_activity(Progress("embed", 3, 40)) == "Reading new and changed photos… 3 / 40"
    assert watch_activity(Progress("read", 5, 1200)) == "Reading text and faces… 5 / 1,200"


def test_progress_text_has_counts_rate_and_time_left():
    text = format_progress(Progress("embed", 500, 2000, rate=50.0))
    assert "500 / 2,000" in text and "50.0 photos/s" in text and "about 30 s left" in text
    assert "files found" in format_progress(Progress("scan", 120, None))
    assert format_progress(Progress("done", 3, 3, "cancelled")) == "Indexing cancelled"
    # Once every photo is searchable, the second pass says what it is still doing.
    reading = format_progress(Progress("read", 4, 10, rate=2.0))
    assert reading.startswith("Reading text and faces 4 / 10") and "about 3 s left" in reading
    assert "searchable" in progress_text(Progress("read", 4, 10))


# -- thumbnails -------------------------------------------------------------------------


def test_thumbnail_cache_builds_once_and_follows_edits(qapp, tmp_path: Path):
    from clipdesk.gui.thumbnails import ThumbnailCache

    photo = tmp_path / "p.jpg"
    Image.new("RGB", (800, 400), (200, 30, 30)).save(photo)
    cache = ThumbnailCache(tmp_path / "thumbs", size=128)
    image = cache.load(str(photo))
    assert (image.width(), image.height()) == (128, 64)
    files = list((tmp_path / "thumbs").rglob("*.jpg"))
    assert len(files) == 1
    key = cache.key(str(photo))
    cache.load(str(photo))
    assert len(list((tmp_path / "thumbs").rglob("*.jpg"))) == 1  # reused
    Image.new("RGB", (300, 600), (30, 30, 200)).save(photo)
    os.utime(photo, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert cache.key(str(photo)) != key
    edited = cache.load(str(photo))
    assert (edited.width(), edited.height()) == (64, 128)
    assert cache.prune(0) == 2 and cache.usage_bytes() == 0


def test_thumbnail_cache_reports_unreadable_files(qapp, tmp_path: Path):
    from clipdesk.gui.thumbnails import ThumbnailCache

    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image at all")
    cache = ThumbnailCache(tmp_path / "thumbs")
    with pytest.raises(ValueError):
        cache.load(str(bad))
    with pytest.raises(OSError):
        cache.load(str(tmp_path / "missing.jpg"))


def test_installed_qt_binding_does_not_lose_references_on_emit(qapp):
    from clipdesk.gui.compat import signal_emit_leaks

    assert not signal_emit_leaks(64)


def test_grid_with_100k_results_only_touches_the_visible_rows(qtbot, tmp_path: Path):
    from clipdesk.gui.results_model import ResultsModel
    from clipdesk.gui.results_view import ResultsView
    from clipdesk.gui.thumbnails import ThumbnailCache, ThumbnailLoader

    loader = ThumbnailLoader(ThumbnailCache(tmp_path / "thumbs"))
    requested: list[str] = []
    real_request = loader.request
    loader.request = lambda path: (requested.append(path), real_request(path))  # type: ignore[method-assign]
    model = ResultsModel(loader)
    view = ResultsView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(900, 700)
    view.show()
    n = 100_000
    model.set_hits([hit(str(tmp_path / f"{i}.jpg"), 1 - i / n) for i in range(n)], cutoff=False)
    assert model.rowCount() == n
    qtbot.waitUntil(lambda: len(view.visible_rows()) > 0)
    view.viewport().repaint()
    visible = view.visible_rows()
    assert 0 < len(visible) < 100
    assert set(requested) <= {str(tmp_path / f"{i}.jpg") for i in visible}
    requested.clear()
    # The layout runs in batches between events; once it reaches the end, jump half-way.
    qtbot.waitUntil(lambda: view.visualRect(model.index(n - 1)).isValid(), timeout=30_000)
    view.scrollTo(model.index(n // 2))
    view.viewport().repaint()
    visible = view.visible_rows()
    assert visible.start > 1000 and n // 2 in visible
    assert requested and len(set(requested)) <= len(visible)
    assert loader.shutdown()


def test_the_window_hears_when_a_looks_new_photos_can_be_searched(qapp):
    """The watcher embeds new photos first and reads their text and faces after: when
    the reading starts, the window is told the library changed (and searches again)."""
    from clipdesk.core.watch.events import WatchEvent, WatchEventKind
    from clipdesk.gui.folder_watch import FolderWatch

    watch = FolderWatch(enabled=False)
    updates: list[object] = []
    activity: list[str] = []
    watch.updated.connect(updates.append)
    watch.activity.connect(activity.append)
    steps = [Progress("embed", 0, 20), Progress("embed", 20, 20), Progress("read", 0, 0)]
    steps.append(Progress("read", 0, 20))  # (a look with nothing to read says 0 of 0)
    for step in steps:
        watch._on_event(WatchEvent(WatchEventKind.PROGRESS, progress=step))
    assert updates == [None]  # once, when the reading of text and faces starts
    watch._on_event(WatchEvent(WatchEventKind.PROGRESS, progress=Progress("read", 5, 20)))
    assert updates == [None] and activity[-1] == "Reading text and faces… 5 / 20"
