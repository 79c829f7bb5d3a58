"""A video's date (with the phone's time zone), camera and place come from its container,
so ``after:``/``before:``, ``--sort date`` and ``place:`` treat videos like photos."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import av
import pytest
import video_samples as vs

from clipdesk.core.library import Library
from clipdesk.core.progress import run_to_end as run
from clipdesk.core.search import SearchQuery
from clipdesk.core.video.facts import video_facts

LISBON, TOKYO = (38.7223, -9.1393), (35.6762, 139.6503)
IPHONE = {  # what an iPhone writes in a MOV
    "creation_time": "2021-07-04T15:00:00.000000Z",
    "com.apple.quicktime.creationdate": "2021-07-04T16:00:00+0100",
    "com.apple.quicktime.location.ISO6709": "+38.7223-009.1393+040.000/",
    "com.apple.quicktime.make": "Apple",
    "com.apple.quicktime.model": "iPhone 13",
}
ANDROID = {"creation_time": "2023-02-10T08:30:00.000000Z", "location": "+35.6762+139.6503/"}


@pytest.fixture(scope="module")
def dated(tmp_path_factory: pytest.TempPathFactory, tiny_shapes_installed: str):
    base = tmp_path_factory.mktemp("video-facts")
    folder = base / "videos"
    folder.mkdir()
    scene = [("circle", "red")]
    vs.write_video(folder / "lisbon.mov", scene, "libx264", seconds=1, tags=IPHONE)
    vs.write_video(folder / "tokyo.mp4", scene, "libx264", seconds=1, tags=ANDROID)
    plain = vs.write_video(folder / "plain.mp4", scene, "libx264", seconds=1)
    mtime = dt.datetime(2022, 3, 1, 12).timestamp()
    os.utime(plain, (mtime, mtime))
    library = Library.open(base / "lib", model=tiny_shapes_installed)
    run(library.index([folder], workers=1))
    yield library, folder.resolve()
    library.close()


def _names(library: Library, text: str, **kwargs) -> list[str]:
    hits = library.find(SearchQuery.from_text(text, k=20, **kwargs)).hits
    return [Path(h.path).name for h in hits]


def test_the_files_carry_the_tags() -> None:
    """What FFmpeg itself reads back from the files the tests write."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = vs.write_video(Path(tmp) / "a.mov", [("circle", "red")], "libx264",
                              seconds=1, tags=IPHONE)  # fmt: skip
        with av.open(str(path)) as container:
            tags = dict(container.metadata)
    for key in ("com.apple.quicktime.creationdate", "com.apple.quicktime.location.ISO6709"):
        assert tags[key] == IPHONE[key]


def test_dates_places_and_cameras_of_videos(dated) -> None:
    library, folder = dated
    lisbon = library.catalog.file_by_path(os.fsencode(folder / "lisbon.mov"))
    assert lisbon is not None and lisbon.taken_offset == 60 and lisbon.camera == "Apple iPhone 13"
    assert lisbon.taken_at == dt.datetime(2021, 7, 4, 15, tzinfo=dt.UTC).timestamp()
    assert (lisbon.latitude, lisbon.longitude) == pytest.approx(LISBON, abs=1e-3)
    tokyo = library.catalog.file_by_path(os.fsencode(folder / "tokyo.mp4"))
    assert tokyo is not None and tokyo.taken_offset == 0  # UTC: no zone is known
    assert (tokyo.latitude, tokyo.longitude) == pytest.approx(TOKYO, abs=1e-3)
    assert _names(library, "place:Portugal") == ["lisbon.mov"]
    assert _names(library, "place:Japan") == ["tokyo.mp4"]
    assert _names(library, "after:2021-07 before:2021-08") == ["lisbon.mov"]
    assert _names(library, "a red circle", sort="date") == ["tokyo.mp4", "plain.mp4", "lisbon.mov"]
    shown = library.find(SearchQuery.from_text("place:Lisbon", k=1)).hits[0].to_json()
    assert shown["taken_at"] == "2021-07-04T16:00:00+01:00" and shown["taken_from"] == "exif"
    assert shown["place"].endswith("Portugal")


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"location": "+91.0000+010.0000/"}, None),  # no such latitude
        ({"location": "+00.0000+000.0000/"}, None),  # what broken GPS writes
        ({"location": "+3541.20+13939.0/"}, None),  # degrees and minutes: not read
        ({"location": "somewhere"}, None),
        ({"location-eng": "-33.8688+151.2093/"}, (-33.8688, 151.2093)),
    ],
)
def test_odd_locations_are_missing_never_an_error(tags, expected) -> None:
    assert video_facts(tags).position == expected


def test_odd_dates_are_missing_never_an_error() -> None:
    assert video_facts({"creation_time": "yesterday"}).taken_at is None
    assert video_facts({"creation_time": "0000-00-00T00:00:00Z"}).taken_at is None
    broken_local = {"com.apple.quicktime.creationdate": "soon", **ANDROID}
    assert video_facts(broken_local).taken_offset == 0  # the UTC time stands
