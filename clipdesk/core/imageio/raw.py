"""Camera RAW files through LibRaw (rawpy): the embedded preview when it is big enough,
a developed image only when there is none.

Nearly every camera stores a full-size JPEG preview inside its RAW files; decoding it
takes milliseconds, developing the sensor data takes a second or more and adds nothing a
search can see. So the preview is taken whenever its short side reaches the size the
encoder needs, and the RAW is developed (at half size) only without one. A RAW variant
LibRaw cannot read still gives its preview when one can be found in the bytes; without
one it is recorded with the reason. EXIF (date and its time zone, camera, GPS position,
orientation) is read from the file's own TIFF directories (most RAW formats are TIFF
underneath), else from the preview's, the way a JPEG's is read.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass, replace

from PIL import Image

from clipdesk.core import mediatypes
from clipdesk.core.errors import ImageReadError
from clipdesk.core.imageio.colour import convert_to_rgb
from clipdesk.core.imageio.exif import TRANSPOSE, camera_name, gps_position, taken_at

__all__ = ["RAW_EXTENSIONS", "is_raw_path", "read_raw"]

RAW_EXTENSIONS: frozenset[str] = frozenset(mediatypes.RAW_EXTENSIONS)
# Formats that are TIFF with another magic number (Olympus, Panasonic): read as TIFF.
_TIFF_LIKE = (b"IIRO", b"IIRS", b"IIU\x00")
# LibRaw's flip (sizes.flip) as an EXIF orientation.
_FLIP_TO_ORIENTATION = {0: 1, 3: 3, 5: 8, 6: 6}
_MAX_PREVIEW_CANDIDATES = 16


@dataclass(frozen=True, slots=True)
class _Tags:
    """EXIF read without decoding an image, shaped like what ``exif.py`` reads from."""

    exif: Image.Exif

    def getexif(self) -> Image.Exif:
        return self.exif


def is_raw_path(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> bool:
    """Whether the name is a camera RAW file's (by extension, case-insensitive)."""
    return os.path.splitext(os.fsdecode(path))[1].lower() in RAW_EXTENSIONS


def _container_exif(data: bytes) -> Image.Exif | None:
    """IFD0 and the Exif IFD of a TIFF-based RAW (DNG, CR2, NEF, ARW, PEF, ORF, RW2...)."""
    head = data[:4]
    if head in _TIFF_LIKE:
        data = b"II*\x00" + data[4:]
    elif head not in (b"II*\x00", b"MM\x00*"):
        return None
    exif = Image.Exif()
    try:
        exif.load(data)
    except Exception:  # damaged tags never reject a photo: the facts are just missing
        return None
    return exif if len(exif) else None


def _open_jpeg(data: bytes, target_size: int | None = None) -> Image.Image | None:
    """A JPEG preview, decoded by libjpeg at 1/2, 1/4 or 1/8 scale where the encoder's
    ``target_size`` allows (a 12-MP preview: 50 ms whole, a few ms scaled)."""
    try:
        im = Image.open(io.BytesIO(data), formats=("JPEG",))
        if target_size and min(im.size) >= 2 * target_size:
            im.draft(im.mode, (target_size, target_size))
        im.load()
        return im
    except MemoryError:
        raise
    except Exception:
        return None


def _embedded_jpeg(data: bytes) -> Image.Image | None:
    """The largest JPEG found inside bytes LibRaw cannot parse (its embedded preview)."""
    best: Image.Image | None = None
    start = 0
    for _ in range(_MAX_PREVIEW_CANDIDATES):
        pos = data.find(b"\xff\xd8\xff", start)
        if pos < 0:
            break
        start = pos + 3
        try:
            candidate = Image.open(io.BytesIO(data[pos:]), formats=("JPEG",))
        except Exception:
            continue
        if best is None or candidate.width * candidate.height > best.width * best.height:
            best = candidate
    if best is None:
        return None
    try:
        best.load()
    except MemoryError:
        raise
    except Exception:
        return None
    return best


@dataclass(frozen=True, slots=True, eq=False)
class RawImage:
    """What ``read_raw`` returns before it becomes a ``DecodedImage`` (see ``decode``)."""

    image: Image.Image
    width: int
    height: int
    taken_at: float | None
    camera: str | None
    format: str  # "RAW preview" or "RAW developed": which path gave the pixels
    taken_offset: int | None = None  # minutes east of UTC, when EXIF says
    position: tuple[float, float] | None = None  # GPS (latitude, longitude)


@dataclass(frozen=True, slots=True)
class _Facts:
    taken_at: float | None = None
    taken_offset: int | None = None
    camera: str | None = None
    position: tuple[float, float] | None = None


def _upright(im: Image.Image, orientation: int) -> Image.Image:
    rgb = convert_to_rgb(im)
    return rgb.transpose(TRANSPOSE[orientation]) if orientation in TRANSPOSE else rgb


def _facts(exif: Image.Exif | None, preview: Image.Image | None) -> _Facts:
    """Each fact from the RAW's own directories when they hold it, else the preview's
    (a converter may keep the date in one and the GPS in the other)."""
    found = _Facts()
    for source in (exif, preview.getexif() if preview is not None else None):
        if source is None or not len(source):
            continue
        tags: Image.Image = _Tags(source)  # type: ignore[assignment]
        if found.taken_at is None:
            taken, offset = taken_at(tags)
            found = replace(found, taken_at=taken, taken_offset=offset)
        if found.camera is None:
            found = replace(found, camera=camera_name(tags))
        if found.position is None:
            found = replace(found, position=gps_position(tags))
    return found


def _raw_image(image: Image.Image, width: int, height: int, facts: _Facts, fmt: str) -> RawImage:
    return RawImage(
        image, width, height, facts.taken_at, facts.camera, fmt, facts.taken_offset,
        facts.position,
    )  # fmt: skip


def read_raw(data: bytes, *, target_size: int | None = None, max_pixels: int) -> RawImage:
    """Decode a RAW file's bytes: preview if it is large enough, else develop it."""
    if not data:
        raise ImageReadError("empty file")
    import rawpy

    exif = _container_exif(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            raw = rawpy.imread(io.BytesIO(data))
        except MemoryError:
            raise
        except Exception as exc:  # a variant LibRaw does not know: its preview, if any
            preview = _embedded_jpeg(data)
            if preview is None:
                raise ImageReadError("unsupported raw variant", repr(exc)) from None
            w, h = preview.size
            facts = _facts(exif, preview)
            return _raw_image(convert_to_rgb(preview), w, h, facts, "RAW preview")
        with raw:
            return _from_libraw(raw, data, exif, target_size, max_pixels)


def _from_libraw(
    raw: object, data: bytes, exif: Image.Exif | None, target_size: int | None, max_pixels: int
) -> RawImage:
    import rawpy

    sizes = raw.sizes  # type: ignore[attr-defined]
    width, height = int(sizes.width), int(sizes.height)
    if width <= 0 or height <= 0:
        raise ImageReadError("damaged image", f"size {width}x{height}")
    if width * height > max_pixels:
        raise ImageReadError("too large (decompression bomb?)", f"{width}x{height}")
    orientation = _FLIP_TO_ORIENTATION.get(int(sizes.flip), 1)
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    preview = _libraw_preview(raw, target_size)
    facts = _facts(exif, preview)
    need = target_size or 0
    if preview is not None and min(preview.size) >= need:
        image = _upright(preview, orientation)
        return _raw_image(image, width, height, facts, "RAW preview")
    try:
        rgb = raw.postprocess(  # type: ignore[attr-defined]
            half_size=True, use_camera_wb=True, output_bps=8, no_auto_bright=False
        )
    except MemoryError:
        raise
    except (rawpy.LibRawError, ValueError, RuntimeError) as exc:
        fallback = preview or _embedded_jpeg(data)
        if fallback is None:
            raise ImageReadError("damaged raw image", repr(exc)) from None
        image = _upright(fallback, orientation)
        return _raw_image(image, width, height, facts, "RAW preview")
    return _raw_image(Image.fromarray(rgb), width, height, facts, "RAW developed")


def _libraw_preview(raw: object, target_size: int | None) -> Image.Image | None:
    """The embedded preview LibRaw finds, as an image (JPEG or bitmap); None without one."""
    import numpy as np
    import rawpy

    try:
        thumb = raw.extract_thumb()  # type: ignore[attr-defined]
    except MemoryError:
        raise
    except Exception:  # LibRawNoThumbnailError, an unsupported or damaged thumbnail
        return None
    if thumb.format == rawpy.ThumbFormat.JPEG:
        return _open_jpeg(bytes(thumb.data), target_size)
    if thumb.format == rawpy.ThumbFormat.BITMAP:
        array = np.asarray(thumb.data)
        if array.ndim == 3 and array.shape[2] == 3 and array.dtype == np.uint8:
            return Image.fromarray(array)
    return None
