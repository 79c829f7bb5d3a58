"""Decoding a photo's bytes into an upright RGB image plus its facts, safely.

Every failure becomes :class:`ImageReadError` with a short reason; nothing else escapes
for bad data (``MemoryError`` is about the machine, not the file, and is left to the
caller).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from clipdesk.core.errors import ImageReadError
from clipdesk.core.imageio.colour import convert_to_rgb
from clipdesk.core.imageio.exif import TRANSPOSE, camera_name, gps_position, orientation, taken_at
from clipdesk.core.imageio.files import DEFAULT_MAX_FILE_BYTES, read_file_bytes
from clipdesk.core.imageio.formats import FORMATS, ensure_openers
from clipdesk.core.imageio.raw import is_raw_path, read_raw

__all__ = ["DEFAULT_MAX_PIXELS", "DecodedImage", "read_image"]

DEFAULT_MAX_PIXELS = 100_000_000


@dataclass(frozen=True, slots=True, eq=False)
class DecodedImage:
    """A decoded photo: upright RGB pixels plus the facts the catalog keeps.

    ``width``/``height`` describe the full original after orientation, even when draft
    mode decoded a smaller ``image``. ``taken_at`` is EXIF DateTimeOriginal in epoch
    seconds; without an EXIF offset tag it is read as local time of this machine.
    """

    image: Image.Image
    width: int
    height: int
    taken_at: float | None
    camera: str | None
    format: str
    taken_offset: int | None = None  # minutes east of UTC, when EXIF says
    position: tuple[float, float] | None = None  # GPS (latitude, longitude)


def _declares_more(data: bytes) -> bool:
    """Whether the container says the file is longer than it is (a cut-off copy).

    Some decoders report a cut-off WebP, TIFF or HEIF/AVIF only as "damaged" or "not an
    image"; "truncated" tells the user that a copy may still be in progress.
    """
    size = len(data)
    if data[:4] == b"RIFF" and size >= 8:
        return 8 + int.from_bytes(data[4:8], "little") > size
    if data[:4] in (b"II*\x00", b"MM\x00*") and size >= 8:
        return int.from_bytes(data[4:8], "little" if data[:1] == b"I" else "big") >= size
    if data[4:8] == b"ftyp":  # ISO base media (HEIF, AVIF): a chain of sized boxes
        pos, boxes = 0, 0
        while pos + 8 <= size and boxes < 1000:
            boxes += 1
            box = int.from_bytes(data[pos : pos + 4], "big")
            if box == 1 and pos + 16 <= size:
                box = int.from_bytes(data[pos + 8 : pos + 16], "big")
            if box == 0:
                return False  # extends to the end of the file
            if box < 8:
                return False  # damaged, not cut off
            pos += box
        return pos > size
    return False


def _decode_reason(exc: BaseException, data: bytes = b"") -> str:
    if isinstance(exc, Image.DecompressionBombError):
        return "too large (decompression bomb?)"
    text = str(exc).lower()
    if "truncated" in text or "end of file" in text or isinstance(exc, EOFError):
        return "truncated image"
    if _declares_more(data):
        return "truncated image"
    if "unsupported" in text or "not supported" in text:
        return "unsupported image variant"
    return "damaged image"


def _open(data: bytes) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError:
        raise ImageReadError(
            "truncated image" if _declares_more(data) else "not an image"
        ) from None
    except MemoryError:
        raise
    except Exception as exc:
        raise ImageReadError(_decode_reason(exc, data), repr(exc)) from None


def read_image(
    source: Path | str | bytes,
    *,
    target_size: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
    raw: bool | None = None,
) -> DecodedImage:
    """Decode a photo from a path or its bytes into an upright RGB image.

    ``target_size`` lets JPEG draft mode decode at 1/2, 1/4 or 1/8 scale, but never so
    small that the short side falls below ``target_size``. Images over ``max_pixels``
    are refused before any pixel is decoded. Pillow refuses anything above twice its own
    ``MAX_IMAGE_PIXELS`` whatever ``max_pixels`` says. ``MemoryError`` is not about the
    file and is left to the caller (``decode_pool`` replaces the worker). ``raw`` reads
    the bytes as a camera RAW file (``raw.py``); by default a path's extension decides.
    """
    data = source if isinstance(source, bytes) else read_file_bytes(source, max_bytes)
    if not data:
        raise ImageReadError("empty file")
    if raw if raw is not None else not isinstance(source, bytes) and is_raw_path(source):
        got = read_raw(data, target_size=target_size, max_pixels=max_pixels)
        return DecodedImage(
            got.image, got.width, got.height, got.taken_at, got.camera, got.format,
            got.taken_offset, got.position,
        )  # fmt: skip
    ensure_openers()
    with warnings.catch_warnings():
        # Pillow warns about damaged EXIF and about sizes between its warning level and
        # ours; both are handled here, and a library of odd files must not flood the log.
        warnings.simplefilter("ignore")
        return _decode(data, target_size, max_pixels)


def _decode(data: bytes, target_size: int | None, max_pixels: int) -> DecodedImage:
    im = _open(data)
    try:
        fmt = im.format or "unknown"
        width, height = im.size
        if width <= 0 or height <= 0:
            raise ImageReadError("damaged image", f"size {width}x{height}")
        if width * height > max_pixels:
            raise ImageReadError("too large (decompression bomb?)", f"{width}x{height}")
        turn = orientation(im)
        if turn in (5, 6, 7, 8):
            width, height = height, width
        taken, offset = taken_at(im)
        camera = camera_name(im)
        position = gps_position(im)
        try:
            if target_size and fmt in ("JPEG", "MPO") and min(im.size) >= 2 * target_size:
                # A square request keeps both sides >= target_size, so the short side
                # stays large enough whichever way EXIF later rotates the image.
                im.draft(im.mode, (target_size, target_size))
            im.load()
            rgb = convert_to_rgb(im)
            if turn != 1:
                rgb = rgb.transpose(TRANSPOSE[turn])
        except (ImageReadError, MemoryError):
            raise
        except Exception as exc:  # Pillow raises many types for damaged data
            raise ImageReadError(_decode_reason(exc, data), repr(exc)) from None
        return DecodedImage(rgb, width, height, taken, camera, fmt, offset, position)
    finally:
        im.close()
