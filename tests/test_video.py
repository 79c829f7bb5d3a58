"""Videos indexed as the scenes they contain: each scene's query lands on the right video
at a time inside that scene; static shots stay one scene; bad videos are recorded once.

The videos show the demo model's shapes, one per scene, encoded by FFmpeg through PyAV
(H.264 in MP4, VP9 in WebM), and are indexed by the real decode workers."""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import video_samples as vs

from clipdesk.core.dupes import find_duplicates
from clipdesk.core.library import Library
from clipdesk.core.progress import run_to_end as run
from clipdesk.core.search import Filters
from clipdesk.core.video.scenes import MAX_SCENES, SCENES_PER_MINUTE, SceneCutter

SECONDS = 3.0
VIDEOS = {
    "shapes.mp4": ("libx264", [("circle", "red"), ("square", "blue"), ("star", "green")]),
    "shapes.webm": ("libvpx-vp9", [("heart", "yellow"), ("triangle", "black")]),
}
BAD = {
    "cut-off.mp4": "truncated video",
    "voice-memo.mp4": "no video stream (audio only)",
    "empty.mp4": "no video stream",  # its track holds no frame: FFmpeg lists no stream
    "huge.mkv": "absurd video dimensions",
}


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory, tiny_shapes_installed: str):
    base = tmp_path_factory.mktemp("videos")
    folder = base / "videos"
    folder.mkdir()
    for name, (codec, scenes) in VIDEOS.items():
        vs.write_video(folder / name, scenes, codec, seconds=SECONDS)
    # One minute of one picture with sensor noise, at 2 frames a second.
    vs.write_video(folder / "static.mp4", [("square", "red")], "libx264",
                   seconds=60, fps=2, size=64, noise=6)  # fmt: skip
    long = vs.write_video(base / "long.mp4", VIDEOS["shapes.mp4"][1], "libx264", seconds=SECONDS)
    vs.truncate(long, folder / "cut-off.mp4")
    vs.write_audio_only(folder / "voice-memo.mp4")
    vs.write_empty_video(folder / "empty.mp4")
    vs.write_absurd_video(folder / "huge.mkv")
    library = Library.open(base / "lib", model=tiny_shapes_installed)
    report = run(library.index([folder], workers=1))
    yield library, folder.resolve(), report
    library.close()


def test_each_scene_finds_its_video_at_a_time_inside_that_scene(videos) -> None:
    library, _, _ = videos
    for name, (_, scenes) in VIDEOS.items():
        for i, (shape, colour) in enumerate(scenes):
            results = library.search(f"a {colour} {shape}", k=1)
            hit = results.hits[0]
            assert Path(hit.path).name == name, (shape, colour)
            assert hit.time is not None
            assert i * SECONDS <= hit.time < (i + 1) * SECONDS, (name, i, hit.time)
            assert results.to_json()["results"][0]["time"] == round(hit.time, 2)


def test_a_video_is_one_result_unless_all_scenes_are_asked_for(videos) -> None:
    library, _, _ = videos
    hits = library.search("a blue square", k=20).hits
    paths = [h.path for h in hits]
    assert len(paths) == len(set(paths)) == 3  # two shape videos and the static one
    scenes = library.search("a blue square", k=20, all_scenes=True).hits
    mp4 = [h.time for h in scenes if Path(h.path).name == "shapes.mp4"]
    assert sorted(mp4) == [0.0, 3.0, 6.0]
    assert mp4[0] == 3.0  # its best scene first: the blue square
    only = library.search("a blue square", k=20, filters=Filters(types=("video",))).hits
    assert len(only) == 3
    assert library.search("a blue square", k=20, filters=Filters(types=("photo",))).hits == []


def test_a_static_minute_is_one_or_two_scenes(videos) -> None:
    library, folder, _ = videos
    scenes = library.catalog.scenes_of_file(os.fsencode(folder / "static.mp4"))
    assert 1 <= len(scenes) <= 2
    assert scenes[-1].end == pytest.approx(60.0, abs=1.0)
    shapes = library.catalog.scenes_of_file(os.fsencode(folder / "shapes.mp4"))
    assert [(s.start, s.end) for s in shapes] == [(0.0, 3.0), (3.0, 6.0), (6.0, 9.0)]


def test_bad_videos_are_recorded_once_with_a_reason(videos) -> None:
    library, folder, report = videos
    skipped = {Path(f["path"]).name: f["reason"] for f in library.status()["skipped_files"]}
    assert skipped == BAD
    assert report.skipped == len(BAD)
    again = run(library.index([folder], workers=1))
    assert (again.decoded, again.skipped) == (0, 0)  # nothing is read twice


def test_a_video_counts_as_one_file_embedded(videos) -> None:
    """The "N embedded" count is of files, a video once; its scenes are counted apart."""
    library, folder, report = videos
    good = [*VIDEOS, "static.mp4"]
    scenes = sum(len(library.catalog.scenes_of_file(os.fsencode(folder / n))) for n in good)
    assert scenes >= 6
    assert (report.decoded, report.encoded, report.reused) == (3, 3, 0)
    assert report.scenes_encoded == scenes
    out = report.to_json()
    assert (out["encoded"], out["scenes_encoded"]) == (3, scenes)
    assert library.status()["indexed"] == 3


def test_similar_takes_a_video_or_a_frame(videos, tmp_path: Path) -> None:
    library, folder, _ = videos
    assert Path(library.similar(folder / "shapes.webm", k=1).hits[0].path).name == "shapes.webm"
    elsewhere = vs.write_video(tmp_path / "copy.mkv", VIDEOS["shapes.webm"][1], "libx264",
                               seconds=SECONDS, size=80)  # fmt: skip
    assert Path(library.similar(elsewhere, k=1).hits[0].path).name == "shapes.webm"
    frame = tmp_path / "frame.png"
    vs.shape_picture("star", "green", 96).save(frame)
    hit = library.similar(frame, k=1).hits[0]
    assert Path(hit.path).name == "shapes.mp4"
    assert 2 * SECONDS <= hit.time < 3 * SECONDS


def test_dupes_find_the_same_clip_re_encoded(videos, tmp_path: Path) -> None:
    library, folder, _ = videos
    copy = tmp_path / "videos"
    shutil.copytree(folder, copy)
    vs.write_video(copy / "re-encoded.webm", VIDEOS["shapes.mp4"][1], "libvpx-vp9",
                   seconds=SECONDS, size=80)  # fmt: skip
    with Library.open(tmp_path / "lib", model=library.model_name) as other:
        run(other.index([copy], workers=1))
        report = run(find_duplicates(other))
    groups = [sorted(Path(p.path).name for p in g.photos) for g in report.groups]
    assert ["re-encoded.webm", "shapes.mp4"] in groups
    assert all("shapes.webm" not in g for g in groups)


def test_scene_count_is_bounded_per_minute() -> None:
    cutter = SceneCutter()
    rng = np.random.default_rng(0)
    for i in range(240):  # two minutes of a picture that changes at every sample
        cutter.add(i * 0.5, rng.integers(0, 256, (24, 24, 3), dtype=np.uint8))
    scenes = cutter.finish(120.0)
    assert len(scenes) <= min(MAX_SCENES, 2 * SCENES_PER_MINUTE)
    assert scenes[0].start == 0.0 and scenes[-1].end == 120.0
    assert all(a.end == b.start for a, b in itertools.pairwise(scenes))


def test_a_growing_video_is_read_only_once_settled(tmp_path: Path) -> None:
    """Videos take the photos' path through the watcher: its events count, the scan lists
    them, and a file still growing waits until two looks at it agree."""
    from watchdog.events import FileCreatedEvent

    from clipdesk.core.catalog.records import StatEntry
    from clipdesk.core.scanner import scan_tree
    from clipdesk.core.watch.dirty import Scope
    from clipdesk.core.watch.folders import scopes_for
    from clipdesk.core.watch.stability import Stabilizer

    folder = os.fsencode(tmp_path)
    assert scopes_for(FileCreatedEvent(os.fsdecode(folder) + "/clip.MOV")) == [Scope(folder)]
    assert scopes_for(FileCreatedEvent(os.fsdecode(folder) + "/clip.mov.part")) == []
    clip = vs.write_video(tmp_path / "clip.webm", [("circle", "red")], "libvpx-vp9", seconds=1)
    assert [e.path for e in scan_tree(folder)] == [os.fsencode(clip)]
    now = [0.0]
    settle = Stabilizer(2.0, clock=lambda: now[0])
    path = os.fsencode(clip)
    assert settle.wait_s(StatEntry(path, 1000, 1, 1)) > 0  # first look
    now[0] = 3.0
    assert settle.wait_s(StatEntry(path, 5000, 2, 1)) > 0  # it grew: look again later
    now[0] = 4.0
    assert settle.wait_s(StatEntry(path, 5000, 2, 1)) > 0  # unchanged, but not for long
    now[0] = 5.5
    assert settle.wait_s(StatEntry(path, 5000, 2, 1)) == 0  # settled: read it now


def test_videos_and_raw_pairs_on_postgres(pg_url: str, tmp_path: Path) -> None:
    """The same scenes, times and RAW+JPEG pairs on a shared PostgreSQL library."""
    from raw_samples import write_dng

    folder = tmp_path / "media"
    folder.mkdir()
    codec, scenes = VIDEOS["shapes.webm"]
    vs.write_video(folder / "shapes.webm", scenes, codec, seconds=SECONDS)
    circle = vs.shape_picture("circle", "red", 96)
    write_dng(folder / "IMG_0001.DNG", circle, circle)
    circle.save(folder / "IMG_0001.JPG", quality=90)
    with Library.open(pg_url, model="tiny-shapes") as library:
        run(library.index([folder], workers=1))
        hit = library.search("a black triangle", k=1).hits[0]
        assert Path(hit.path).name == "shapes.webm" and SECONDS <= hit.time < 2 * SECONDS
        names = [Path(h.path).name for h in library.search("a red circle", k=5).hits]
        assert names[0] == "IMG_0001.JPG" and "IMG_0001.DNG" not in names
        raw = library.search("a red circle", k=5, filters=Filters(types=("raw",))).hits
        assert [Path(h.path).name for h in raw] == ["IMG_0001.JPG"]


def test_a_video_gets_a_time_limit_scaled_to_its_size() -> None:
    from clipdesk.core.catalog.records import FileRecord
    from clipdesk.core.decode_task import job_timeout
    from clipdesk.core.preprocess import PreprocessConfig
    from clipdesk.core.video.indexing import decode_job

    cfg = PreprocessConfig(size=64)
    video = FileRecord(1, 1, b"/v/clip.MP4", 500_000_000, 1, 1, None, "pending")
    photo = FileRecord(2, 1, b"/v/photo.jpg", 500_000_000, 1, 1, None, "pending")
    assert job_timeout(decode_job(video, cfg, 60.0)) == pytest.approx(560.0)
    assert job_timeout(decode_job(photo, cfg, 60.0)) is None  # the pool's own limit


def test_a_moved_video_keeps_its_scenes_and_a_deleted_one_takes_them(tmp_path: Path) -> None:
    """A video's scenes follow its content: a move keeps them (nothing read again), the
    last copy deleted takes them, and ``check`` finds nothing left behind."""
    from clipdesk.core.check import check_library

    folder = tmp_path / "media"
    folder.mkdir()
    codec, scenes = VIDEOS["shapes.webm"]
    clip = vs.write_video(folder / "shapes.webm", scenes, codec, seconds=SECONDS)
    with Library.open(tmp_path / "lib", model="tiny-shapes") as library:
        run(library.index([folder], workers=1))
        cut = library.catalog.scenes_of_file(os.fsencode(clip))
        assert len(cut) == len(scenes)
        moved = folder / "kept" / "shapes.webm"
        moved.parent.mkdir()
        os.rename(clip, moved)
        report = run(library.index(workers=1))
        assert (report.moved, report.decoded) == (1, 0)
        assert library.catalog.scenes_of_file(os.fsencode(moved)) == cut
        hit = library.search("a black triangle", k=1).hits[0]
        assert hit.path == os.fspath(moved.resolve()) and hit.time is not None
        moved.unlink()
        assert run(library.index(workers=1)).removed == 1
        with library.catalog.engine.connect() as conn:
            from sqlalchemy import func, select

            from clipdesk.core.catalog.schema import video_scenes

            assert conn.execute(select(func.count()).select_from(video_scenes)).scalar() == 0
        assert library.search("a black triangle", k=5).hits == []
        assert check_library(library).ok
