"""Faithful DNG files for tests: Bayer sensor data, DNG tags, and an optional JPEG preview.

Written with ``tifffile`` the way cameras and converters lay them out: with a preview,
IFD0 is the preview (NewSubfileType 1, JPEG) and the sensor data sits in a SubIFD;
without one, IFD0 is the sensor data. LibRaw reads both. The preview and the sensor data
show different pictures, so a test can tell which of them a reader used.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import tifffile
import tifffile._imagecodecs as _codecs
from PIL import Image
from PIL.TiffImagePlugin import IFDRational, ImageFileDirectory_v2


def _precompressed_only(*args: object, **kwargs: object) -> bytes:
    raise RuntimeError("the preview is JPEG-encoded by Pillow before it is written")


# tifffile looks a JPEG encoder up even for strips that arrive already encoded; without
# the optional imagecodecs package it has none, so it is given one that is never called.
_codecs.jpeg_encode = _precompressed_only  # type: ignore[attr-defined]

WHITE_LEVEL = 4095


def bayer_of(picture: Image.Image) -> np.ndarray:
    """An RGGB mosaic of an RGB picture: what the sensor of a camera would have recorded."""
    rgb = np.asarray(picture.convert("RGB"), dtype=np.float64) / 255.0 * WHITE_LEVEL
    h, w = rgb.shape[:2]
    cfa = np.zeros((h, w), np.uint16)
    cfa[0::2, 0::2] = rgb[0::2, 0::2, 0]
    cfa[0::2, 1::2] = rgb[0::2, 1::2, 1]
    cfa[1::2, 0::2] = rgb[1::2, 0::2, 1]
    cfa[1::2, 1::2] = rgb[1::2, 1::2, 2]
    return cfa


def write_dng(
    path: Path,
    sensor: Image.Image,
    preview: Image.Image | None = None,
    *,
    make: str = "Testmaker",
    model: str = "Testmaker TM-1",
    orientation: int = 1,
    taken: str | None = "2022:05:17 10:11:12",
    exif: dict[int, object] | None = None,
    gps: tuple[float, float] | None = None,
) -> Path:
    """A DNG whose sensor data is ``sensor`` and whose preview (if any) is ``preview``;
    ``exif`` tags go in an Exif IFD and ``gps`` (latitude, longitude) in a GPS IFD, both
    pointed at from IFD0 as cameras write them."""
    cfa = bayer_of(sensor)
    ifd0 = [
        (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion
        (50708, "s", 0, model, True),  # UniqueCameraModel
        (271, "s", 0, make, True),
        (272, "s", 0, model, True),
        (274, "H", 1, orientation, True),
    ]
    if taken:
        ifd0.append((306, "s", 0, taken, True))  # DateTime
    subs = {EXIF_IFD: _exif_ifd(exif) if exif else None, GPS_IFD: _gps_ifd(gps) if gps else None}
    # tifffile will not write the pointer tags: each goes in as the tag number below it,
    # in its sorted place, and becomes the pointer once the IFD it points at is appended.
    ifd0 += [(tag - 1, "I", 1, 0, True) for tag, ifd in subs.items() if ifd is not None]
    sensor_tags = [
        (33421, "H", 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, "B", 4, (0, 1, 1, 2), True),  # CFAPattern: RGGB
        (50714, "H", 1, 0, True),  # BlackLevel
        (50717, "H", 1, WHITE_LEVEL, True),  # WhiteLevel
        (50721, "f", 9, (1, 0, 0, 0, 1, 0, 0, 0, 1), True),  # ColorMatrix1
        (50728, "f", 3, (1, 1, 1), True),  # AsShotNeutral
    ]
    with tifffile.TiffWriter(path) as tif:
        if preview is not None:
            buf = io.BytesIO()
            preview.convert("RGB").save(buf, "JPEG", quality=90)
            pw, ph = preview.size
            tif.write(
                iter([buf.getvalue()]),
                shape=(ph, pw, 3),
                dtype="uint8",
                photometric="ycbcr",
                compression="jpeg",
                subsampling=(2, 2),
                subfiletype=1,
                subifds=1,
                rowsperstrip=ph,
                extratags=ifd0,
            )
            tif.write(cfa, photometric=32803, subfiletype=0, extratags=sensor_tags)
        else:
            tif.write(cfa, photometric=32803, subfiletype=0, extratags=ifd0 + sensor_tags)
    _append_ifds(path, {tag: ifd for tag, ifd in subs.items() if ifd is not None})
    return path


EXIF_IFD, GPS_IFD = 34665, 34853


def _exif_ifd(tags: dict[int, object]) -> ImageFileDirectory_v2:
    ifd = ImageFileDirectory_v2(prefix=b"II", group=EXIF_IFD)
    for tag, value in tags.items():
        ifd[tag] = value
        ifd.tagtype[tag] = 2  # ASCII: dates and offsets
    return ifd


def _gps_ifd(position: tuple[float, float]) -> ImageFileDirectory_v2:
    def dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
        value = abs(value)
        degrees, minutes = int(value), int(abs(value) * 60) % 60
        seconds = round((value - degrees - minutes / 60) * 3600, 2)
        return IFDRational(degrees), IFDRational(minutes), IFDRational(round(seconds * 100), 100)

    lat, lon = position
    ifd = ImageFileDirectory_v2(prefix=b"II", group=GPS_IFD)
    ifd[0] = b"\x02\x02\x00\x00"  # GPSVersionID
    ifd.tagtype[0] = 1
    ifd[1], ifd[3] = ("N" if lat >= 0 else "S"), ("E" if lon >= 0 else "W")
    ifd.tagtype[1] = ifd.tagtype[3] = 2
    ifd[2], ifd[4] = dms(lat), dms(lon)
    ifd.tagtype[2] = ifd.tagtype[4] = 5  # RATIONAL
    return ifd


def _append_ifds(path: Path, ifds: dict[int, ImageFileDirectory_v2]) -> None:
    """Append each IFD to the file and turn IFD0's placeholder (the tag number below
    the pointer's) into the pointer to it."""
    if not ifds:
        return
    data = bytearray(path.read_bytes())
    assert data[:4] == b"II*\x00"
    ifd0 = struct.unpack_from("<I", data, 4)[0]
    (count,) = struct.unpack_from("<H", data, ifd0)
    entries = {
        struct.unpack_from("<H", data, ifd0 + 2 + 12 * i)[0]: ifd0 + 2 + 12 * i
        for i in range(count)
    }
    for tag, ifd in ifds.items():
        if len(data) % 2:
            data += b"\0"
        offset = len(data)
        data += ifd.tobytes(offset)
        struct.pack_into("<HHII", data, entries[tag - 1], tag, 4, 1, offset)  # LONG
    path.write_bytes(bytes(data))
