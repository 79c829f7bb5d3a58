"""Reading untrusted image files into PIL RGB images plus the facts the catalog keeps.

Every file in a photo library is hostile input until proven otherwise: truncated copies,
fuzzed or misnamed files, decompression bombs, files we may not read. Everything here
turns bad input into :class:`ImageReadError` with a short human reason that the catalog
stores and shows, and never lets another exception type escape for bad data. Native
decoder crashes cannot be caught in-process; ``decode_pool`` runs this in workers.

Only formats that ordinary photo libraries contain are opened (no EPS, which would run
Ghostscript, and none of Pillow's exotic plugins).
"""

from __future__ import annotations

import datetime as _dt
import errno
import hashlib
import io
import os
import re
import stat
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError, features

from clipdesk.core.errors import ImageReadError

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "DecodedImage",
    "ImageReadError",
    "file_fingerprint",
    "is_image_path",
    "read_file_bytes",
    "read_image",
]

DEFAULT_MAX_PIXELS = 100_000_000
DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024

_ORIENTATION_TAG = 0x0112
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_BASE_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP")
_BASE_EXTENSIONS = (".jpg", ".jpeg", ".jpe", ".png", ".gif", ".webp", ".tif", ".tiff", ".bmp")


def _heif_available() -> bool:
    try:
        import importlib.util

        return importlib.util.find_spec("pillow_heif") is not None
    except (ImportError, ValueError):
        return False


_HAS_HEIF = _heif_available()
_HAS_AVIF = bool(features.check_module("avif"))

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    _BASE_EXTENSIONS
    + ((".heic", ".heif", ".hif") if _HAS_HEIF else ())
    + ((".avif",) if _HAS_AVIF else ())
)
_FORMATS = _BASE_FORMATS + (("HEIF",) if _HAS_HEIF else ()) + (("AVIF",) if _HAS_AVIF else ())

_openers_lock = threading.Lock()
_openers_ready = False


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


def is_image_path(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> bool:
    """Whether the name looks like a photo we can read (by extension, case-insensitive)."""
    name = os.fsdecode(path)
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def file_fingerprint(data: bytes) -> str:
    """Content identity of a file (BLAKE2b-128, hex): moves and copies keep it."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _os_reason(exc: OSError) -> str:
    code = exc.errno
    if isinstance(exc, PermissionError) or code in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, IsADirectoryError):
        return "is a directory"
    if code == errno.ELOOP:
        return "symlink loop"
    if code == errno.ENAMETOOLONG:
        return "path too long"
    if code == errno.EIO:
        return "input/output error"
    return "cannot read file"


def read_file_bytes(
    path: str | bytes | os.PathLike[str] | os.PathLike[bytes],
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> bytes:
    """Read a whole regular file, refusing what is not one or is larger than ``max_bytes``.

    Opened non-blocking so that a FIFO or device named ``*.jpg`` cannot hang a worker.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ImageReadError(_os_reason(exc), str(exc)) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ImageReadError("is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise ImageReadError("not a regular file")
        if info.st_size > max_bytes:
            raise ImageReadError("file too large", f"{info.st_size} bytes")
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:  # grew while we read it
                raise ImageReadError("file too large", f"over {max_bytes} bytes")
        return b"".join(chunks)
    except OSError as exc:
        raise ImageReadError(_os_reason(exc), str(exc)) from None
    finally:
        os.close(fd)


def _ensure_openers() -> None:
    """Register the HEIF opener once per process (AVIF is built into Pillow)."""
    global _openers_ready
    if _openers_ready:
        return
    with _openers_lock:
        if not _openers_ready and _HAS_HEIF:
            try:
                from pillow_heif import register_heif_opener

                register_heif_opener()
            except Exception:  # an unusable plugin means HEIF files get "not an image"
                pass
        _openers_ready = True


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
        return Image.open(io.BytesIO(data), formats=_FORMATS)
    except UnidentifiedImageError:
        raise ImageReadError(
            "truncated image" if _declares_more(data) else "not an image"
        ) from None
    except MemoryError:
        raise
    except Exception as exc:
        raise ImageReadError(_decode_reason(exc, data), repr(exc)) from None


_EXIF_IFD = 0x8769
_DATE_TAGS = (0x9003, 0x9004)  # DateTimeOriginal, DateTimeDigitized (in the Exif IFD)
_OFFSET_TAGS = (0x9011, 0x9012, 0x9010)  # OffsetTimeOriginal, -Digitized, OffsetTime
_DATETIME_IFD0 = 0x0132
_MAKE, _MODEL = 0x010F, 0x0110
_DATE_RE = re.compile(r"(\d{4})[:\-/.](\d{1,2})[:\-/.](\d{1,2})[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?")
_OFFSET_RE = re.compile(r"([+-])(\d{2}):?(\d{2})")


def _text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).replace("\x00", " ").strip()
    return "".join(ch for ch in text if ch.isprintable())[:100].strip()


def taken_at_epoch(im: Image.Image) -> float | None:
    """EXIF capture time in epoch seconds; naive times are read as this machine's local time."""
    try:
        exif = im.getexif()
        sub = exif.get_ifd(_EXIF_IFD)
        raw = next((sub[t] for t in _DATE_TAGS if sub.get(t)), None) or exif.get(_DATETIME_IFD0)
        if not raw:
            return None
        match = _DATE_RE.search(_text(raw))
        if not match:
            return None
        y, mo, d, h, mi, sec = (int(g) if g else 0 for g in match.groups())
        if not 1800 <= y <= 2200:
            return None
        when = _dt.datetime(y, mo, d, h, mi, sec)
        offset = next(
            (_OFFSET_RE.fullmatch(_text(sub[t])) for t in _OFFSET_TAGS if sub.get(t)), None
        )
        if offset:
            sign = -1 if offset.group(1) == "-" else 1
            delta = _dt.timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3)))
            when = when.replace(tzinfo=_dt.timezone(sign * delta))
        return when.timestamp()
    except Exception:  # impossible dates, damaged EXIF: no date rather than no photo
        return None


def camera_name(im: Image.Image) -> str | None:
    """'Make Model' from EXIF, without repeating the make when the model already has it."""
    try:
        exif = im.getexif()
        make, model = _text(exif.get(_MAKE) or ""), _text(exif.get(_MODEL) or "")
    except Exception:
        return None
    if make and model.lower().startswith(make.lower()):
        make = ""
    return " ".join(p for p in (make, model) if p) or None


def _on_white(im: Image.Image) -> Image.Image:
    """Composite on white: dark shapes on transparent PNGs stay visible (black would hide them)."""
    rgba = im.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _high_depth_to_rgb(im: Image.Image) -> Image.Image:
    """16-bit, 32-bit and float grey scaled to 8 bits (Pillow's convert would clip)."""
    import numpy as np

    arr = np.asarray(im, dtype=np.float64)
    finite = arr[np.isfinite(arr)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if lo >= 0 and hi <= 1.0 and im.mode == "F":
        lo, hi = 0.0, 1.0
    elif lo >= 0 and hi <= 255 and not im.mode.startswith("I;16"):
        lo, hi = 0.0, 255.0
    elif lo >= 0 and hi <= 65535:
        lo, hi = 0.0, 65535.0
    scaled = (np.nan_to_num(arr, nan=lo) - lo) * (255.0 / max(hi - lo, 1e-12))
    grey = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return Image.fromarray(grey).convert("RGB")


def _cmyk_to_rgb(im: Image.Image) -> Image.Image:
    icc = im.info.get("icc_profile")
    if icc:
        try:
            from PIL import ImageCms

            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            result = ImageCms.profileToProfile(
                im, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
            )
            if result is not None:
                return result
        except Exception:  # a broken profile falls back to the plain conversion
            pass
    return im.convert("RGB")


def convert_to_rgb(im: Image.Image) -> Image.Image:
    """A new RGB image from any mode a photo file may decode to."""
    mode = im.mode
    if mode in ("RGBA", "LA", "La", "RGBa", "PA") or (
        "transparency" in im.info and mode in ("P", "L", "RGB")
    ):
        return _on_white(im)
    if mode == "RGB":
        return im.copy()
    if mode == "CMYK":
        return _cmyk_to_rgb(im)
    if mode.startswith("I") or mode == "F":
        return _high_depth_to_rgb(im)
    try:
        return im.convert("RGB")
    except (ValueError, OSError) as exc:
        raise ImageReadError("unsupported colour mode", mode) from exc


def _orientation(im: Image.Image) -> int:
    try:
        value = int(im.getexif().get(_ORIENTATION_TAG, 1))
    except Exception:  # damaged EXIF never rejects an otherwise good photo
        return 1
    return value if value in _TRANSPOSE else 1


def read_image(
    source: Path | str | bytes,
    *,
    target_size: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> DecodedImage:
    """Decode a photo from a path or its bytes into an upright RGB image.

    ``target_size`` lets JPEG draft mode decode at 1/2, 1/4 or 1/8 scale, but never so
    small that the short side falls below ``target_size``. Images over ``max_pixels``
    are refused before any pixel is decoded. Pillow refuses anything above twice its own
    ``MAX_IMAGE_PIXELS`` whatever ``max_pixels`` says. ``MemoryError`` is not about the
    file and is left to the caller (``decode_pool`` replaces the worker).
    """
    data = source if isinstance(source, bytes) else read_file_bytes(source, max_bytes)
    if not data:
        raise ImageReadError("empty file")
    _ensure_openers()
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
        orientation = _orientation(im)
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        taken_at = taken_at_epoch(im)
        camera = camera_name(im)
        try:
            if target_size and fmt in ("JPEG", "MPO") and min(im.size) >= 2 * target_size:
                # A square request keeps both sides >= target_size, so the short side
                # stays large enough whichever way EXIF later rotates the image.
                im.draft(im.mode, (target_size, target_size))
            im.load()
            rgb = convert_to_rgb(im)
            if orientation != 1:
                rgb = rgb.transpose(_TRANSPOSE[orientation])
        except (ImageReadError, MemoryError):
            raise
        except Exception as exc:  # Pillow raises many types for damaged data
            raise ImageReadError(_decode_reason(exc, data), repr(exc)) from None
        return DecodedImage(rgb, width, height, taken_at, camera, fmt)
    finally:
        im.close()
