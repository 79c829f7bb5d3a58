"""Camera RAW files: the embedded preview when there is one, LibRaw's development when
not, EXIF as for JPEG, a fallback for variants LibRaw cannot read, and RAW+JPEG pairs
shown once, on a real tiny-shapes library indexed by the decode workers."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from raw_samples import write_dng

from clipdesk.core.decode_task import DecodeJob, decode_file
from clipdesk.core.imageio import ImageReadError, is_image_path, read_image
from clipdesk.core.library import Library
from clipdesk.core.mediatypes import RAW_EXTENSIONS
from clipdesk.core.preprocess import PreprocessConfig
from clipdesk.core.progress import run_to_end as run
from clipdesk.core.search import Filters, SearchQuery
from clipdesk.core.search.filetypes import FILE_TYPES
from clipdesk.training.shapes import render_scene, scene_for

SIZE = 128


def _shape(shape: str, colour: str, size: int = SIZE) -> Image.Image:
    return render_scene(scene_for(shape, colour), size, np.random.default_rng(0), shading=False)


def _mean(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float64).reshape(-1, 3).mean(axis=0)


def test_raw_types_are_photos_and_a_search_type() -> None:
    assert set(FILE_TYPES["raw"]) == set(RAW_EXTENSIONS)
    assert all(is_image_path(f"IMG_0001{ext.upper()}") for ext in RAW_EXTENSIONS)


def test_the_preview_is_used_when_there_is_one(tmp_path: Path) -> None:
    # The sensor holds a green field, the preview a red mark in its top-left corner:
    # the pixels tell which one was read. Orientation 6 turns the mark to the top-right.
    preview = Image.new("RGB", (256, 192), (20, 20, 200))
    preview.paste((230, 30, 30), (0, 0, 48, 48))
    path = write_dng(tmp_path / "IMG_0001.DNG", Image.new("RGB", (256, 192), (30, 200, 40)),
                     preview, orientation=6)  # fmt: skip
    decoded = read_image(path, target_size=64)
    assert decoded.format == "RAW preview"
    assert (decoded.width, decoded.height) == (192, 256)  # the sensor's size, upright
    assert decoded.image.size == (96, 128)  # libjpeg's draft scale: half is enough for 64
    r, g, b = decoded.image.getpixel((decoded.image.width - 10, 10))
    assert r > 200 and g < 60 and b < 60
    assert decoded.camera == "Testmaker TM-1"
    assert decoded.taken_at is not None
    # The same through what a decode worker runs, with the name deciding it is a RAW.
    out = decode_file(DecodeJob(1, os.fsencode(path), PreprocessConfig(size=64)))
    assert out.error is None and out.facts is not None
    assert (out.facts.width, out.facts.height, out.facts.camera) == (192, 256, "Testmaker TM-1")


def test_without_a_preview_the_raw_is_developed(tmp_path: Path) -> None:
    sensor = Image.new("RGB", (256, 192), (30, 200, 40))
    bare = read_image(write_dng(tmp_path / "bare.dng", sensor), target_size=64)
    assert bare.format == "RAW developed"
    assert bare.camera == "Testmaker TM-1"
    r, g, b = _mean(bare.image)
    assert g > r + 60 and g > b + 60  # the sensor's green, developed
    # A thumbnail too small for the encoder is not a full-size preview: developed too.
    tiny = Image.new("RGB", (32, 24), (200, 20, 20))
    small = read_image(write_dng(tmp_path / "small.dng", sensor, tiny), target_size=64)
    assert small.format == "RAW developed"


def test_a_variant_libraw_cannot_read_falls_back_to_its_preview(tmp_path: Path) -> None:
    import io

    jpeg = io.BytesIO()
    _shape("circle", "red").save(jpeg, "JPEG", quality=90)
    unknown = tmp_path / "future.nef"
    unknown.write_bytes(b"NEWCAMERA-RAW-FORMAT\0" * 64 + jpeg.getvalue() + b"\0" * 4096)
    decoded = read_image(unknown, target_size=64)
    assert decoded.format == "RAW preview"
    assert decoded.image.size == (SIZE, SIZE)
    garbage = tmp_path / "garbage.cr2"
    garbage.write_bytes(os.urandom(20_000))
    with pytest.raises(ImageReadError) as info:
        read_image(garbage)
    assert info.value.reason == "unsupported raw variant"


@pytest.fixture(scope="module")
def raw_library(tmp_path_factory: pytest.TempPathFactory, tiny_shapes_installed: str):
    """A RAW+JPEG pair (a red circle), a lone DNG (a blue square), JPEG shapes, a bad RAW."""
    base = tmp_path_factory.mktemp("raw-library")
    photos = base / "photos"
    photos.mkdir()
    circle = _shape("circle", "red")
    write_dng(photos / "IMG_0001.DNG", circle, circle)
    circle.save(photos / "IMG_0001.JPG", quality=90)
    write_dng(photos / "LONE.dng", _shape("square", "blue"))  # no preview: developed
    for i, (shape, colour) in enumerate([("star", "green"), ("heart", "yellow"),
                                         ("triangle", "black"), ("circle", "blue")]):  # fmt: skip
        _shape(shape, colour).save(photos / f"other{i}.jpg", quality=90)
    (photos / "broken.nef").write_bytes(os.urandom(5000))
    library = Library.open(base / "lib", model=tiny_shapes_installed)
    run(library.index([photos], workers=1))
    yield library, photos.resolve()
    library.close()


def _names(results) -> list[str]:
    return [Path(hit.path).name for hit in results.hits]


def test_raw_files_are_indexed_and_a_pair_is_one_photo(raw_library) -> None:
    library, photos = raw_library
    status = library.status()
    assert status["indexed"] == 7  # both files of the pair are indexed
    assert status["skipped_files"] == [
        {"path": os.fspath(photos / "broken.nef"), "reason": "unsupported raw variant"}
    ]
    names = _names(library.search("a red circle", k=20))
    assert names[0] == "IMG_0001.JPG"  # the pair shows as its JPEG ...
    assert "IMG_0001.DNG" not in names  # ... once
    assert len(names) == 6
    assert _names(library.search("a blue square", k=1)) == ["LONE.dng"]
    raw_only = _names(library.search("a red circle", k=20, filters=Filters(types=("raw",))))
    assert sorted(raw_only) == ["IMG_0001.JPG", "LONE.dng"]  # the pair matches type raw
    jpeg_only = _names(library.search("a red circle", k=20, filters=Filters(types=("jpeg",))))
    assert "LONE.dng" not in jpeg_only and "IMG_0001.JPG" in jpeg_only


def test_without_its_jpeg_the_raw_shows_itself(raw_library, tmp_path: Path) -> None:
    library, photos = raw_library
    copy = tmp_path / "photos"
    shutil.copytree(photos, copy)
    (copy / "IMG_0001.JPG").unlink()
    with Library.open(tmp_path / "lib", model=library.model_name) as other:
        run(other.index([copy], workers=1))
        assert _names(other.search("a red circle", k=1)) == ["IMG_0001.DNG"]


TOKYO = (35.6762, 139.6503)
TAKEN = {0x9003: "2023:08:01 18:30:00", 0x9011: "+09:00"}  # DateTimeOriginal, its offset


def _gps_preview(picture: Image.Image) -> bytes:
    """A JPEG preview whose own EXIF carries the date, its offset and the GPS position."""
    import io

    from PIL.TiffImagePlugin import IFDRational

    def dms(value: float) -> tuple[IFDRational, ...]:
        minutes = value % 1 * 60
        return IFDRational(int(value)), IFDRational(int(minutes)), IFDRational(minutes % 1 * 60)

    exif = Image.Exif()
    sub = exif.get_ifd(0x8769)
    sub.update(TAKEN)
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", dms(TOKYO[0]), "E", dms(TOKYO[1])
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def test_a_raw_carries_its_time_zone_and_gps(tmp_path: Path, tiny_shapes_installed: str) -> None:
    """Read from the RAW's Exif and GPS directories (previewed or developed), or from its
    preview's EXIF when LibRaw cannot read it; then searched and shown like a JPEG's."""
    import datetime as dt

    import tifffile

    photos = tmp_path / "photos"
    photos.mkdir()
    square = _shape("square", "blue")
    with_preview = write_dng(
        photos / "TOKYO.DNG", square, square, taken=None, exif=TAKEN, gps=TOKYO
    )
    developed = write_dng(photos / "bare.dng", _shape("star", "green"), exif=TAKEN, gps=TOKYO)
    unknown = photos / "future.nef"
    unknown.write_bytes(b"NEWCAMERA\0" * 64 + _gps_preview(_shape("heart", "yellow")))
    with tifffile.TiffFile(with_preview) as tif:  # what the file carries, as tifffile reads it
        tags = tif.pages[0].tags
        assert tags["ExifTag"].value["OffsetTimeOriginal"] == "+09:00"
        assert tags["GPSTag"].value["GPSLatitudeRef"] == "N"
        assert tags["GPSTag"].value["GPSLongitude"][0] == 139
    when = dt.datetime(2023, 8, 1, 18, 30, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    for path, how in [(with_preview, "RAW preview"), (developed, "RAW developed"),
                      (unknown, "RAW preview")]:  # fmt: skip
        decoded = read_image(path, target_size=64)
        assert decoded.format == how, path.name
        assert (decoded.taken_at, decoded.taken_offset) == (when.timestamp(), 9 * 60), path.name
        assert decoded.position == pytest.approx(TOKYO, abs=1e-3), path.name
    with Library.open(tmp_path / "lib", model=tiny_shapes_installed) as library:
        run(library.index([photos], workers=1))
        record = library.catalog.file_by_path(with_preview.resolve())
        assert record is not None and record.taken_offset == 9 * 60
        assert (record.latitude, record.longitude) == pytest.approx(TOKYO, abs=1e-3)
        assert record.place is not None and record.place.endswith("Japan")
        query = SearchQuery.from_text("a blue square place:Japan after:2023-08 before:2023-09")
        hits = library.find(query).hits
        assert sorted(Path(h.path).name for h in hits) == ["TOKYO.DNG", "bare.dng", "future.nef"]
        assert hits[0].to_json()["taken_at"] == "2023-08-01T18:30:00+09:00"
        assert Path(hits[0].path).name == "TOKYO.DNG"
