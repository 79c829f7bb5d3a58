"""Places, dates and cameras from EXIF, searched with the query language.

Twelve tiny-shapes photos get known EXIF: a capture time (some with a time zone, some
without, one with none at all so its file time counts), a camera, and GPS in Lisbon,
Porto, Madrid or nowhere. Each operator must return exactly the photos that match, alone
(listed newest first) and combined with CLIP words (ranked as the brute-force truth).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from PIL import Image

from clipdesk.core.catalog.rows import path_bytes
from clipdesk.core.library import Library
from clipdesk.core.progress import run_to_end as run
from clipdesk.core.search import Filters, SearchQuery, parse_date
from clipdesk.training.shapes import write_sample_library
from tests.cli_harness import run_cli

COUNT = 12
PLACES = {  # name: (latitude, longitude)
    "Lisbon": (38.7223, -9.1393),
    "Porto": (41.1496, -8.6110),
    "Madrid": (40.4168, -3.7038),
}
# make|model as EXIF holds them; the camera as clipdesk stores it (the brand said once).
CAMERAS = ("Canon|Canon EOS R5", "NIKON CORPORATION|NIKON Z 6", "Apple|iPhone 13")
STORED = {"Canon|Canon EOS R5": "Canon EOS R5", "NIKON CORPORATION|NIKON Z 6": "NIKON Z 6"}
QUERY = "a red circle"


def _dms(value: float) -> tuple[float, float, float]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return float(degrees), float(minutes), round((value - degrees - minutes / 60) * 3600, 2)


def write_exif(
    path: Path,
    *,
    when: dt.datetime | None,
    offset: str | None = None,
    camera: str | None = None,
    position: tuple[float, float] | None = None,
) -> None:
    """Rewrite ``path`` as a JPEG carrying the given EXIF facts."""
    with Image.open(path) as im:
        im.load()
        exif = Image.Exif()
        if camera:
            exif[0x010F], exif[0x0110] = camera.split("|")
        sub = exif.get_ifd(0x8769)
        if when:
            sub[0x9003] = when.strftime("%Y:%m:%d %H:%M:%S")
        if offset:
            sub[0x9011] = offset
        if position:
            gps = exif.get_ifd(0x8825)
            lat, lon = position
            gps[1], gps[2] = ("N" if lat >= 0 else "S"), _dms(lat)
            gps[3], gps[4] = ("E" if lon >= 0 else "W"), _dms(lon)
        im.save(path, "JPEG", quality=90, exif=exif.tobytes())


@pytest.fixture(scope="module")
def facts_library(tmp_path_factory, tiny_shapes_installed):
    """``(library, truth by resolved path, library dir)``; truth: taken, place, camera."""
    base = tmp_path_factory.mktemp("facts")
    photos = base / "photos"
    records = write_sample_library(photos, COUNT, seed=5, formats=("jpg",))
    truth: dict[str, dict] = {}
    names = [*PLACES, None]
    for i, record in enumerate(records):
        path = Path(record.path)
        when = dt.datetime(2020, 1, 1, 12) + dt.timedelta(days=97 * i)
        offset = "+01:00" if i % 3 == 0 else None
        place = names[i % 4]
        camera = CAMERAS[i % 3]
        if i == COUNT - 1:  # no EXIF time: the file's own time stands in
            when = None
        write_exif(path, when=when, offset=offset, camera=camera, position=PLACES.get(place or ""))
        mtime = dt.datetime(2019, 6, 1, 12).timestamp()
        os.utime(path, (mtime, mtime))
        if when is None:
            taken = mtime
        elif offset:
            taken = when.replace(tzinfo=dt.timezone(dt.timedelta(hours=1))).timestamp()
        else:
            taken = when.timestamp()
        truth[os.fspath(path.resolve())] = {"taken": taken, "place": place, "camera": camera}
    library = Library.open(base / "lib", model=tiny_shapes_installed)
    run(library.index([photos], workers=1))
    yield library, truth, base / "lib"
    library.close()


def _passing(truth, test) -> set[str]:
    return {path for path, facts in truth.items() if test(facts)}


def _found(library: Library, text: str, k: int = 100, **kw) -> list[str]:
    return [hit.path for hit in library.find(SearchQuery.from_text(text, k=k, **kw)).hits]


@pytest.mark.parametrize(
    ("query", "test"),
    [
        ("place:Lisbon", lambda f: f["place"] == "Lisbon"),
        ("place:lisbon", lambda f: f["place"] == "Lisbon"),
        ("place:Portugal", lambda f: f["place"] in ("Lisbon", "Porto")),
        ('place:"Portugal"', lambda f: f["place"] in ("Lisbon", "Porto")),
        ("place:Spain", lambda f: f["place"] == "Madrid"),
        ("place:ES", lambda f: f["place"] == "Madrid"),
        ("place:Atlantis", lambda f: False),
        ("camera:canon", lambda f: f["camera"].startswith("Canon")),
        ('camera:"z 6"', lambda f: "Z 6" in f["camera"]),
        ("after:2021-06", lambda f: f["taken"] >= dt.datetime(2021, 6, 1).timestamp()),
        ("before:2021", lambda f: f["taken"] < dt.datetime(2021, 1, 1).timestamp()),
        (
            "place:Portugal camera:iphone after:2020-02",
            lambda f: (
                f["place"] in ("Lisbon", "Porto")
                and "iPhone" in f["camera"]
                and f["taken"] >= dt.datetime(2020, 2, 1).timestamp()
            ),
        ),
    ],
)
def test_operators_alone_list_exactly_the_matches_newest_first(facts_library, query, test):
    library, truth, _ = facts_library
    passing = _passing(truth, test)
    got = _found(library, query)
    assert set(got) == passing, query
    assert got == sorted(passing, key=lambda p: (-truth[p]["taken"], p))
    if len(passing) > 2:
        assert _found(library, query, k=2) == got[:2]


@pytest.mark.parametrize(
    ("query", "test"),
    [
        (f"{QUERY} place:Portugal", lambda f: f["place"] in ("Lisbon", "Porto")),
        (
            f"place:Spain {QUERY} camera:canon",
            lambda f: f["place"] == "Madrid" and "Canon" in f["camera"],
        ),
        (
            f"after:2021 {QUERY} before:2022-06",
            lambda f: (
                dt.datetime(2021, 1, 1).timestamp()
                <= f["taken"]
                < dt.datetime(2022, 6, 1).timestamp()
            ),
        ),
        (f"{QUERY} place:Portugal place:Spain", lambda f: False),
    ],
)
def test_operators_combine_with_clip_words_as_the_brute_force_ranking(facts_library, query, test):
    library, truth, _ = facts_library
    passing = _passing(truth, test)
    key = library.encoder.model_key
    vector = library.encoder.encode_texts([QUERY]).vectors[0]
    truth_order = [
        p
        for _, p in sorted(
            (
                (float(library.catalog.vector_for_file(path_bytes(p), key) @ vector), p)
                for p in passing
            ),
            reverse=True,
        )
    ]
    for n in {1, max(len(passing) // 2, 1), len(passing) + 3}:
        assert _found(library, query, k=n) == truth_order[:n], (query, n)


def test_sort_by_date_orders_the_ranked_results_by_taken_time(facts_library):
    library, truth, _ = facts_library
    best = _found(library, QUERY, k=6)
    by_date = _found(library, QUERY, k=6, sort="date")
    assert set(by_date) == set(best)
    assert by_date == sorted(best, key=lambda p: (-truth[p]["taken"], p))


def test_operator_dates_mean_what_the_flags_mean(facts_library):
    library, _, _ = facts_library
    flags = Filters(after=parse_date("2020-06"), before=parse_date("2022"))
    assert _found(library, "after:2020-06 before:2022") == [
        h.path for h in library.find(SearchQuery(k=100, filters=flags)).hits
    ]


def test_time_zone_place_and_file_time_are_stored_and_marked(facts_library):
    library, truth, _ = facts_library
    hits = {
        h.path: h.to_json() for h in library.find(SearchQuery.from_text("after:1900", k=100)).hits
    }
    assert set(hits) == set(truth)
    for path, facts in truth.items():
        shown = hits[path]
        when = dt.datetime.fromisoformat(shown["taken_at"])
        if when.tzinfo is None:
            when = when.astimezone()  # local time, as a naive EXIF time is read
        assert when.timestamp() == pytest.approx(facts["taken"])
        record = library.catalog.file_by_path(path)
        assert record.camera == STORED.get(facts["camera"], "Apple iPhone 13")
        if facts["place"] is None:
            assert "place" not in shown and record.latitude is None
        else:
            assert shown["place"].split(", ")[0] == facts["place"]
            lat, lon = PLACES[facts["place"]]
            assert record.latitude == pytest.approx(lat, abs=1e-3)
            assert record.longitude == pytest.approx(lon, abs=1e-3)
    marks = {h["taken_from"] for h in hits.values()}
    assert marks == {"exif", "file"}
    zoned = [h for h in hits.values() if h["taken_at"].endswith("+01:00")]
    assert len(zoned) == sum(1 for i in range(COUNT - 1) if i % 3 == 0)


def test_broken_gps_is_no_place_and_never_fatal(tmp_path, tiny_shapes_installed):
    photos = tmp_path / "photos"
    photos.mkdir()
    path = photos / "broken.jpg"
    Image.new("RGB", (64, 48), (200, 10, 10)).save(path)
    write_exif(path, when=dt.datetime(2022, 1, 1), position=(95.0, 10.0))  # no such latitude
    with Library.open(tmp_path / "lib", model=tiny_shapes_installed) as library:
        run(library.index([photos], workers=1))
        record = library.catalog.file_by_path(path.resolve())
        assert record.status == "ok" and record.latitude is None and record.place is None
        assert _found(library, "place:Lisbon") == []


def test_cli_reads_the_same_language_and_refuses_bad_queries(facts_library):
    _, truth, lib = facts_library
    common = ["--library", os.fspath(lib), "--model", "tiny-shapes"]
    done = run_cli([*common, "search", "place:Portugal", "--sort", "date", "--json"])
    assert done.code == 0, done
    out = json.loads(done.out)
    assert set(out) == {"query", "model", "results"} and out["query"] == "place:Portugal"
    portugal = _passing(truth, lambda f: f["place"] in ("Lisbon", "Porto"))
    assert {r["path"] for r in out["results"]} == portugal
    assert all({"path", "score", "taken_at", "place"} <= set(r) for r in out["results"])
    for bad, message in (
        ("colour:red", 'unknown operator "colour:"'),
        ("after:2023-13", "after: not a date"),
        ('text:""', "empty quoted phrase"),
    ):
        done = run_cli([*common, "search", bad])
        assert done.code == 2 and message in done.err and not done.out, done


@pytest.mark.parametrize(
    "gps",
    [
        {1: "N", 2: (38.0, 43.0), 3: "E", 4: (4.0e9, 0.0, 0.0)},  # no such longitude
        {2: (38.0, 43.0, 20.0)},  # no longitude
        {1: "N", 2: (0.0, 0.0, 0.0), 3: "E", 4: (0.0, 0.0, 0.0)},  # what broken GPS writes
        {1: "S", 2: (91.0, 0.0, 0.0), 3: "W", 4: (9.0, 8.0, 21.0)},
        {1: b"\xff\xfe", 2: (38.0,), 3: 7, 4: (9.0, 8.0)},  # odd types, short tuples
    ],
)
def test_damaged_gps_is_no_position_never_an_error(gps):
    import io

    from PIL.TiffImagePlugin import IFDRational

    from clipdesk.core.imageio.decode import read_image
    from clipdesk.core.imageio.exif import gps_position

    exif = Image.Exif()
    exif.get_ifd(0x8825).update(gps)
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 200, 10)).save(buffer, "JPEG", exif=exif.tobytes())
    with Image.open(io.BytesIO(buffer.getvalue())) as im:
        found = gps_position(im)
    assert found is None
    assert read_image(buffer.getvalue()).position is None  # the photo itself reads fine
    zero = Image.Exif()
    zero.get_ifd(0x8825).update({2: (IFDRational(1, 0), 0.0, 0.0), 4: (1.0, 0.0, 0.0)})
    zero_buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(zero_buffer, "JPEG", exif=zero.tobytes())
    assert read_image(zero_buffer.getvalue()).position is None
