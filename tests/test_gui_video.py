"""The window's videos: a result shows its best scene's frame with a play mark and the
time; opening plays it from that second; the detail view lists its scenes as frames."""

from __future__ import annotations

import os

import numpy as np
import pytest
import video_samples as vs

from clipdesk.core.library import Library
from clipdesk.core.progress import run_to_end as run

SCENES = [("circle", "red"), ("square", "blue"), ("star", "green")]
COLOURS = [(1, 0, 0), (0, 0, 1), (0, 1, 0)]  # the dominant channel of each scene's shape


@pytest.fixture(scope="module")
def video_library(tmp_path_factory: pytest.TempPathFactory, tiny_shapes_installed: str):
    base = tmp_path_factory.mktemp("gui-video")
    (base / "videos").mkdir()
    video = vs.write_video(base / "videos" / "clip.mp4", SCENES, "libx264", seconds=2.0)
    library = Library.open(base / "lib", model=tiny_shapes_installed)
    run(library.index([base / "videos"], workers=1))
    yield library, os.fspath(video.resolve())
    library.close()


def _centre(image) -> tuple[int, int, int]:  # a QImage's centre pixel
    colour = image.pixelColor(image.width() // 2, image.height() // 2)
    return colour.red(), colour.green(), colour.blue()


def test_a_video_result_shows_its_best_scene_with_a_play_mark(qtbot, video_library, tmp_path):
    from PySide6.QtGui import QColor, QImage, QPainter
    from PySide6.QtWidgets import QStyleOptionViewItem

    from clipdesk.gui.delegate import ResultDelegate
    from clipdesk.gui.media_keys import key_for, split_key
    from clipdesk.gui.results_model import PaintRole, ResultsModel
    from clipdesk.gui.thumbnails import ThumbnailCache, ThumbnailLoader

    library, video = video_library
    hit = library.search("a blue square", k=1).hits[0]
    assert hit.path == video and hit.time == 2.0
    assert split_key(key_for(hit)) == (video, 2.0)
    # The thumbnail is the frame where the best scene starts: the blue square.
    cache = ThumbnailCache(tmp_path / "thumbs", size=96)
    r, g, b = _centre(cache.load(key_for(hit)))
    assert b > 150 and r < 80 and g < 80
    assert cache.key(key_for(hit)) != cache.key(video)  # each second its own thumbnail

    loader = ThumbnailLoader(cache)
    model = ResultsModel(loader)
    model.set_hits([hit], cutoff=False)
    index = model.index(0)
    qtbot.waitUntil(lambda: model.data(index, PaintRole)[0] is not None, timeout=10_000)
    _image, error, score, name, at = model.data(index, PaintRole)
    assert (error, name, at, score) == (None, "clip.mp4", 2.0, hit.score)
    # Painted: a white play triangle over the blue frame, at the centre of the card.
    delegate = ResultDelegate(thumb_size=96)
    canvas = QImage(200, 200, QImage.Format.Format_RGB32)
    canvas.fill(QColor(40, 40, 40))
    option = QStyleOptionViewItem()
    option.rect = canvas.rect()
    option.rect.setSize(delegate.sizeHint(option, index))
    painter = QPainter(canvas)
    delegate.paint(painter, option, index)
    painter.end()
    centre = canvas.pixelColor(8 + 48, 8 + 48)
    assert min(centre.red(), centre.green(), centre.blue()) > 200  # the triangle
    loader.shutdown()


def test_opening_plays_from_the_second(monkeypatch, video_library) -> None:
    from clipdesk.gui import desktop

    library, video = video_library
    installed = {"vlc": "/usr/bin/vlc"}
    command = desktop.player_command(video, 12.4, which=installed.get)
    assert command == ["/usr/bin/vlc", "--start-time=12.40", "--", video]
    assert desktop.player_command(video, 3, which=lambda name: None) is None
    played: list[tuple[str, float | None]] = []
    opened: list[str] = []
    monkeypatch.setattr(desktop, "play_video", lambda p, at: played.append((p, at)) or True)
    monkeypatch.setattr(desktop, "open_file", lambda p: opened.append(p) or True)
    hit = library.search("a green star", k=1).hits[0]
    desktop.open_result(hit.path, hit.time)
    desktop.open_result("/photos/a.jpg", None)
    assert played == [(video, 4.0)] and opened == ["/photos/a.jpg"]


def test_the_detail_view_lists_the_scenes_as_frames(qtbot, monkeypatch, video_library) -> None:
    from clipdesk.gui import desktop
    from clipdesk.gui.detail_view import DetailView
    from clipdesk.gui.scene_strip import load_scenes

    library, video = video_library
    path, scenes = load_scenes(library, video)
    assert path == video
    assert [(s.start, s.end) for s in scenes] == [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)]
    for scene, colour in zip(scenes, COLOURS, strict=True):
        assert scene.image is not None
        assert int(np.argmax(_centre(scene.image))) == colour.index(1)
    view = DetailView()
    qtbot.addWidget(view)
    view.show_hit(library.search("a red circle", k=1).hits[0])
    assert not view.scenes.isVisibleTo(view)
    view.set_scenes(video, scenes)
    assert view.scenes.isVisibleTo(view) and view.scenes.starts() == [0.0, 2.0, 4.0]
    played: list[tuple[str, float]] = []
    monkeypatch.setattr(desktop, "play_video", lambda p, at: played.append((p, at)) or True)
    view.scenes.itemClicked.emit(view.scenes.item(2))
    assert played == [(video, 4.0)]
    view.set_scenes("/somewhere/else.mp4", [])  # another result's answer: ignored
    assert view.scenes.count() == 3


def test_the_detail_view_shows_the_matched_scene(qtbot, tmp_path, tiny_shapes_installed) -> None:
    """Opened from a search, a video's preview is the frame of the scene that matched,
    and the strip has that scene selected."""
    from gui_windows import TIMEOUT_MS, close_window, open_window

    folder = tmp_path / "videos"
    folder.mkdir()
    vs.write_video(folder / "clip.mp4", SCENES, "libx264", seconds=2.0)
    window = open_window(qtbot, tmp_path / "lib")
    try:
        with qtbot.waitSignal(window.service.indexFinished, timeout=TIMEOUT_MS):
            window.side.folders.addRequested.emit(str(folder))
        with qtbot.waitSignal(window.resultsShown, timeout=TIMEOUT_MS):
            window.search_bar.set_text("a blue square")
        hit = window.model.hits()[0]
        assert os.path.basename(hit.path) == "clip.mp4" and hit.time == 2.0
        window.show_detail(window.model.index(0))
        detail = window.detail
        qtbot.waitUntil(
            lambda: detail.image is not None and detail.scenes.count() == 3, timeout=TIMEOUT_MS
        )
        r, g, b = _centre(detail.image)
        assert b > 150 and r < 80 and g < 80  # the blue square, not the first frame's red
        assert detail.scenes.currentRow() == 1 and detail.scenes.chosen_start() == 2.0
    finally:
        close_window(qtbot, window)
