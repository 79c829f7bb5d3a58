"""One search path: filters as an allowed set in SQL, on a real tiny-shapes library.

Every photo of the sample library gets a known date: photo ``i`` was modified at noon on
day ``i`` from 2021-01-01 (local time), a few JPEGs carry an EXIF date in 2019, and two
sit on either side of midnight on 2021-03-01. So what each filter lets through is known
exactly, and a search must return ``n`` results whenever ``n`` photos pass.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clipdesk.core.catalog.rows import path_bytes
from clipdesk.core.errors import DateError
from clipdesk.core.library import Library
from clipdesk.core.progress import run_to_end as run
from clipdesk.core.search import Filters, SearchQuery, lower_by_negatives, parse_date
from clipdesk.core.search.dates import first_day
from clipdesk.training.shapes import write_sample_library

MODEL = "tiny-shapes"
COUNT = 40
DAY0 = dt.datetime(2021, 1, 1, 12, 0)
EXIF_DATE = dt.datetime(2019, 3, 10, 12, 0)
MIDNIGHT = dt.datetime(2021, 3, 1)  # photo AT_MIDNIGHT is modified exactly then,
AT_MIDNIGHT, JUST_BEFORE = 38, 39  # and JUST_BEFORE one second earlier
QUERY = "a red circle"


def _write_exif_date(path: Path, when: dt.datetime) -> None:
    with Image.open(path) as im:
        im.load()
        exif = Image.Exif()
        exif.get_ifd(0x8769)[0x9003] = when.strftime("%Y:%m:%d %H:%M:%S")
        im.save(path, "JPEG", quality=90, exif=exif.tobytes())


@pytest.fixture(scope="module")
def dated(tmp_path_factory):
    """``(library, {resolved path: date it is filed under}, photos dir)``."""
    base = tmp_path_factory.mktemp("filters")
    photos = base / "photos"
    records = write_sample_library(photos, COUNT, seed=7)
    dates: dict[str, float] = {}
    exif_done = 0
    for i, record in enumerate(records):
        path = Path(record.path)
        mtime = (DAY0 + dt.timedelta(days=i)).timestamp()
        if i == AT_MIDNIGHT:
            mtime = MIDNIGHT.timestamp()
        elif i == JUST_BEFORE:
            mtime = MIDNIGHT.timestamp() - 1
        taken = mtime
        if path.suffix == ".jpg" and exif_done < 3 and i not in (AT_MIDNIGHT, JUST_BEFORE):
            _write_exif_date(path, EXIF_DATE)
            taken = EXIF_DATE.timestamp()
            exif_done += 1
        os.utime(path, ns=(int(mtime) * 10**9, int(mtime) * 10**9))
        dates[os.fspath(path.resolve())] = taken
    assert exif_done == 3
    library = Library.open(base / "lib", model=MODEL)
    run(library.index([photos], workers=1))
    run(library.tags.run())
    yield library, dates, photos.resolve()
    library.close()


def brute_force(library: Library, passing: set[str], text: str, n: int) -> list[str]:
    """The true best ``n`` of ``passing`` for ``text``, from every stored vector."""
    key = library.encoder.model_key
    query = library.encoder.encode_texts([text]).vectors[0]
    scored = []
    for path in passing:
        vector = library.catalog.vector_for_file(path_bytes(path), key)
        scored.append((float(vector @ query / np.linalg.norm(vector)), path))
    return [path for _, path in sorted(scored, reverse=True)[:n]]


def _under(folder: Path) -> Callable[[str], bool]:
    prefix = os.fspath(folder) + os.sep
    return lambda path: path.startswith(prefix)


FILTERS: dict[str, Callable[[Path], tuple[Filters, Callable[[str, float], bool]]]] = {
    "after": lambda _: (
        Filters(after=parse_date("2021-01-20")),
        lambda _p, t: t >= dt.datetime(2021, 1, 20).timestamp(),
    ),
    "before": lambda _: (
        Filters(before=parse_date("2021-01-09")),
        lambda _p, t: t < dt.datetime(2021, 1, 9).timestamp(),
    ),
    "between": lambda _: (
        Filters(after=parse_date("2021-01-05"), before=parse_date("2021-02")),
        lambda _p, t: (
            dt.datetime(2021, 1, 5).timestamp() <= t < dt.datetime(2021, 2, 1).timestamp()
        ),
    ),
    "type png": lambda _: (Filters(types=("png",)), lambda p, _t: p.endswith(".png")),
    "type jpeg": lambda _: (Filters(types=("jpeg",)), lambda p, _t: p.endswith(".jpg")),
    "folder": lambda photos: (
        Filters(folder=os.fspath(photos / "holiday")),
        lambda p, _t: _under(photos / "holiday")(p),
    ),
    "excluded": lambda photos: (
        Filters(excluded=(os.fspath(photos / "holiday"), os.fspath(photos / "2024"))),
        lambda p, _t: not _under(photos / "holiday")(p) and not _under(photos / "2024")(p),
    ),
    "type and folder": lambda photos: (
        Filters(types=("photo",), excluded=(os.fspath(photos / "misc"),)),
        lambda p, _t: not _under(photos / "misc")(p),
    ),
}


@pytest.mark.parametrize("name", list(FILTERS))
def test_each_filter_returns_exactly_n_of_the_best_that_pass(dated, name):
    library, dates, photos = dated
    filters, passes = FILTERS[name](photos)
    passing = {path for path, taken in dates.items() if passes(path, taken)}
    assert 3 <= len(passing) < COUNT, (name, len(passing))
    for n in (1, len(passing) // 2, len(passing), len(passing) + 5):
        results = library.search(QUERY, k=n, filters=filters)
        got = [h.path for h in results.hits]
        assert len(got) == min(n, len(passing)), (name, n)
        assert got == brute_force(library, passing, QUERY, n), (name, n)


def test_tag_filter_returns_exactly_n_of_the_tagged(dated):
    library, _dates, _photos = dated
    tag = max(library.tags.list_tags(), key=lambda t: t.count)
    tagged = {p.path for p in library.tags.photos(tag.name)}
    assert 3 <= len(tagged) < COUNT
    for n in (2, len(tagged), len(tagged) + 3):
        got = [h.path for h in library.search(QUERY, tag=tag.name, k=n).hits]
        assert got == brute_force(library, tagged, QUERY, n)
    # Without text a tag lists its photos, most confident first, as `tags show` does.
    listed = library.search("", tag=tag.name, k=100)
    assert [h.path for h in listed.hits] == [p.path for p in library.tags.photos(tag.name)]
    # Other filters narrow the listing too.
    jpegs = library.search("", tag=tag.name, k=100, filters=Filters(types=("jpeg",)))
    assert [h.path for h in jpegs.hits] == [
        p.path for p in library.tags.photos(tag.name) if p.path.endswith(".jpg")
    ]


def test_similar_takes_the_same_filters(dated):
    library, dates, _ = dated
    target = sorted(dates)[0]
    pngs = {p for p in dates if p.endswith(".png")}
    hits = library.similar(target, k=len(pngs) + 2, filters=Filters(types=("png",))).hits
    assert {h.path for h in hits} == pngs and len(hits) == len(pngs)


def test_dates_are_first_days_at_local_midnight():
    assert first_day("2024") == dt.date(2024, 1, 1)
    assert first_day("2024-05") == dt.date(2024, 5, 1)
    assert first_day("2024-5-07") == dt.date(2024, 5, 7)
    assert parse_date("2024-02-29") == dt.datetime(2024, 2, 29).timestamp()
    for bad in ("24", "2024-13", "2023-02-29", "2024/05", "", "2024-05-01T10:00", "May"):
        with pytest.raises(DateError, match="not a date"):
            parse_date(bad)


def test_date_boundaries_taken_at_before_modification_time(dated):
    library, dates, _ = dated
    midnight = {p for p, t in dates.items() if t == MIDNIGHT.timestamp()}
    before = {p for p, t in dates.items() if t == MIDNIGHT.timestamp() - 1}
    assert len(midnight) == len(before) == 1

    def found(**filters: float) -> set[str]:
        return {h.path for h in library.search(QUERY, k=100, filters=Filters(**filters)).hits}

    # --after D keeps the first day of D from its first second; --before D stops short of it.
    for text in ("2021-03", "2021-03-01"):
        assert midnight <= found(after=parse_date(text)) and not before & found(
            after=parse_date(text)
        )
        assert before <= found(before=parse_date(text)) and not midnight & found(
            before=parse_date(text)
        )
    # The EXIF date wins over the file's date: modified in 2021, taken in 2019.
    exif = {p for p, t in dates.items() if t == EXIF_DATE.timestamp()}
    assert len(exif) == 3
    assert found(before=parse_date("2020")) == exif
    assert found(after=parse_date("2019-03"), before=parse_date("2019-04")) == exif
    assert not exif & found(after=parse_date("2021"))
    assert found(after=parse_date("2021")) == set(dates) - exif


def test_tagged_and_untagged_negatives_share_one_ranking(dated):
    """The same maths, whatever the allowed set: a reference written from the
    documented rule agrees with searches inside a tag and across the whole library."""
    library, dates, _ = dated
    tag = max(library.tags.list_tags(), key=lambda t: t.count).name
    tagged = {p.path for p in library.tags.photos(tag)}
    key = library.encoder.model_key
    positive, negative = library.encoder.encode_texts(["a circle", "red"]).vectors

    def reference(allowed: set[str], k: int) -> list[str]:
        paths = sorted(allowed)
        stored = np.stack([library.catalog.vector_for_file(path_bytes(p), key) for p in paths])
        stored /= np.linalg.norm(stored, axis=1, keepdims=True)
        scores = stored @ positive
        wanted = min(len(paths), 4 * k + 20)  # negatives re-rank the best 4k + 20
        best = np.argsort(-scores, kind="stable")[:wanted]
        lowered = lower_by_negatives(scores[best], stored[best], [negative])
        return [paths[best[i]] for i in np.argsort(-lowered, kind="stable")[:k]]

    for k in (3, 6):
        with_tag = [h.path for h in library.search("a circle -red", tag=tag, k=k).hits]
        assert with_tag == reference(tagged, k)
        everywhere = [h.path for h in library.search("a circle -red", k=k).hits]
        assert everywhere == reference(set(dates), k)
    assert importlib.util.find_spec("clipdesk.core.tags.search") is None


def test_find_takes_one_query_object(dated):
    library, _dates, photos = dated
    query = SearchQuery.from_text(
        "a red circle -square",
        k=4,
        filters=Filters(types=("jpeg",), excluded=(os.fspath(photos / "holiday"),)),
    )
    assert query.text == "a red circle" and query.negatives == ("square",)
    hits = library.find(query).hits
    assert len(hits) == 4
    assert all(h.path.endswith(".jpg") and "/holiday/" not in h.path for h in hits)


def test_a_listing_by_filters_alone_is_marked_unscored(dated):
    """Filters without words list photos newest first; their 1.0 is no score to show."""
    library, _dates, _photos = dated
    listed = library.find(SearchQuery.from_text("", k=5, filters=Filters(types=("png",))))
    ranked = library.find(SearchQuery.from_text(QUERY, k=5, filters=Filters(types=("png",))))
    assert listed.hits and not listed.scored
    assert ranked.hits and ranked.scored
    assert {h.score for h in listed.hits} == {1.0}
