"""A video is tagged by its scenes: it carries a tag when one of its scenes shows it,
with that scene's score, so ``tag:``, the tag lists and XMP sidecars include videos."""

from __future__ import annotations

import os

import pytest
import video_samples as vs

from clipdesk.core.library import Library
from clipdesk.core.progress import run_to_end as run
from clipdesk.core.search import SearchQuery
from clipdesk.core.tags.job import on_files
from clipdesk.core.tags.xmp import read_keywords, sidecar_path
from clipdesk.training.shapes import write_sample_library

OTHER_COLOURS = {"green", "yellow", "purple", "orange", "white", "black"}


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory, tiny_shapes_installed: str):
    base = tmp_path_factory.mktemp("video-tags")
    folder = base / "media"
    write_sample_library(folder, 24, seed=7, formats=("jpg",))
    video = vs.write_video(folder / "clip.mp4", [("circle", "red"), ("square", "blue")],
                           "libx264", seconds=2.0)  # fmt: skip
    library = Library.open(base / "lib", model=tiny_shapes_installed)
    report = run(library.index([folder], workers=1, retag=True))
    yield library, os.fspath(video.resolve()), report
    library.close()


def test_a_video_carries_the_tags_of_its_scenes(tagged) -> None:
    library, video, report = tagged
    assert report.tagging is not None and report.tagging.report is not None
    assert report.tagging.report.photos == 25  # the video once, not once per scene
    got = {t.name: t for t in library.tags.tags_of(video) if not t.rejected}
    assert {"red", "blue"} <= set(got), got  # one scene each
    assert not set(got) & OTHER_COLOURS, got
    assert video in {p.path for p in library.tags.photos("blue")}
    for name in ("red", "blue"):
        hits = library.find(SearchQuery.from_text(f"tag:{name}", k=50)).hits
        assert video in {h.path for h in hits}, name


def test_a_videos_tags_go_in_its_sidecar(tagged) -> None:
    library, video, _ = tagged
    run(library.tags.export_xmp([video]))
    assert {"red", "blue"} <= set(read_keywords(sidecar_path(video)))


def test_a_user_tagged_video_teaches_like_a_photo(tagged) -> None:
    library, video, _ = tagged
    fp = library.tags.fingerprint(video)
    vectors = library.tags.store.vectors_for([fp], library.encoder.model_key)
    assert set(vectors) == {fp} and abs(float((vectors[fp] ** 2).sum()) - 1.0) < 1e-4


def test_scene_rows_move_to_their_video_at_their_best() -> None:
    rows = [
        ("s1", "zero-shot", 0.2, 0.6),
        ("s2", "zero-shot", 0.3, 0.9),
        ("p", "zero-shot", 0.1, 0.7),
    ]
    moved = on_files(rows, {"s1": "v", "s2": "v"})
    assert sorted(moved) == [("p", "zero-shot", 0.1, 0.7), ("v", "zero-shot", 0.3, 0.9)]
