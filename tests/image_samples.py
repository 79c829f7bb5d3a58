"""Sample image files, good and hostile, written into a test's directory.

Other tests import this as ``import image_samples`` (tests/ is on sys.path). Each writer
returns :class:`Sample` records saying what ``read_image`` should make of the file, so a
test can assert on every one without knowing how it was made.
"""

from __future__ import annotations

import io
import os
import random
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

TAKEN_AT_TEXT = "2021:07:14 09:30:05"
CAMERA_MAKE, CAMERA_MODEL = "Canon", "Canon EOS 5D Mark IV"


@dataclass(frozen=True)
class Sample:
    """One written file and what reading it must give: ``reason`` is None when it is good."""

    name: str
    path: Path
    reason: str | None = None
    facts: dict[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.reason is None


def photo_array(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A photo-like RGB array: smooth gradients, a few shapes and sensor noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack(
        [
            128 + 100 * np.sin(x / (width / 3.0) + seed),
            128 + 100 * np.cos(y / (height / 2.5)),
            128 + 60 * np.sin((x + y) / (width / 4.0)),
        ],
        axis=-1,
    )
    for _ in range(3):
        cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(5, width / 4)
        mask = (x - cx) ** 2 + (y - cy) ** 2 < r**2
        base[mask] = rng.uniform(0, 255, size=3)
    base += rng.normal(0, 8, size=base.shape)
    return np.clip(base, 0, 255).astype(np.uint8)


def photo(width: int = 320, height: int = 240, seed: int = 0) -> Image.Image:
    return Image.fromarray(photo_array(width, height, seed), "RGB")


def jpeg_bytes(image: Image.Image, **save_args: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=90, **save_args)
    return buf.getvalue()


def heic_bytes(image: Image.Image, **save_args: object) -> bytes:
    """A HEIC file written by pillow-heif (the dev install's encoder), without registering
    it with Pillow: clipdesk reads HEIC through pi-heif, and the tests must see that."""
    import pillow_heif

    buf = io.BytesIO()
    pillow_heif.from_pillow(image).save(buf, **save_args)
    return buf.getvalue()


def exif_bytes(orientation: int = 1) -> bytes:
    """EXIF with orientation, DateTimeOriginal and camera make/model."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = CAMERA_MAKE
    exif[0x0110] = CAMERA_MODEL
    exif.get_ifd(0x8769)[0x9003] = TAKEN_AT_TEXT
    return exif.tobytes()


def bomb_png(width: int = 40000, height: int = 40000) -> bytes:
    """A valid 1-bit PNG of ``width`` x ``height`` zeros: a few hundred KB on disk."""
    raw = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)
    body = bytearray()
    for _ in range(height // 1000):
        body += raw.compress(row * 1000)
    body += raw.compress(row * (height % 1000)) + raw.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", bytes(body))
        + chunk(b"IEND", b"")
    )


def _save(directory: Path, name: str, image: Image.Image, fmt: str, **args: object) -> Path:
    path = directory / name
    image.save(path, fmt, **args)
    return path


def write_good_samples(directory: Path) -> list[Sample]:
    """Photos in every mode and format read_image must accept."""
    directory.mkdir(parents=True, exist_ok=True)
    out: list[Sample] = []
    big = photo(640, 480, seed=1)
    path = directory / "noise.jpg"
    path.write_bytes(jpeg_bytes(big))
    out.append(Sample("jpeg", path, facts={"size": (640, 480), "format": "JPEG"}))

    raw = photo(300, 200, seed=2)
    raw.paste((255, 0, 0), (0, 0, 40, 40))  # red marks the stored top-left corner
    path = directory / "rotated.jpg"
    path.write_bytes(jpeg_bytes(raw, exif=exif_bytes(6)))
    facts = {"size": (200, 300), "format": "JPEG", "camera": CAMERA_MODEL, "red": "top-right"}
    out.append(Sample("exif-rotated", path, facts=facts))

    alpha = Image.new("RGBA", (120, 80), (0, 0, 0, 0))
    alpha.paste((0, 0, 0, 255), (40, 20, 80, 60))
    out.append(
        Sample(
            "png-alpha",
            _save(directory, "alpha.png", alpha, "PNG"),
            facts={"size": (120, 80), "format": "PNG", "black-on-white": True},
        )
    )

    palette = Image.new("P", (120, 80), 0)
    palette.putpalette([0, 255, 0, 0, 0, 0])  # 0: green, transparent; 1: black
    palette.paste(1, (40, 20, 80, 60))
    path = _save(directory, "palette.png", palette, "PNG", transparency=0)
    out.append(
        Sample(
            "png-palette-transparent",
            path,
            facts={"size": (120, 80), "format": "PNG", "black-on-white": True},
        )
    )

    cmyk = photo(160, 120, seed=3).convert("CMYK")
    path = directory / "cmyk.jpg"
    path.write_bytes(jpeg_bytes(cmyk))
    out.append(Sample("jpeg-cmyk", path, facts={"size": (160, 120), "format": "JPEG"}))

    grey = photo(160, 120, seed=4).convert("L")
    out.append(
        Sample(
            "png-grey",
            _save(directory, "grey.png", grey, "PNG"),
            facts={"size": (160, 120), "format": "PNG"},
        )
    )

    ramp = (np.linspace(0, 65535, 200)[None, :] * np.ones((100, 1))).astype(np.uint16)
    path = _save(directory, "deep16.png", Image.fromarray(ramp), "PNG")
    out.append(Sample("png-16bit", path, facts={"size": (200, 100), "format": "PNG", "ramp": True}))

    frames = [Image.new("RGB", (64, 48), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    path = directory / "animated.gif"
    frames[0].save(path, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    out.append(
        Sample(
            "gif-animated", path, facts={"size": (64, 48), "format": "GIF", "colour": (255, 0, 0)}
        )
    )

    path = directory / "animated.webp"
    frames[0].save(path, "WEBP", save_all=True, append_images=frames[1:], duration=100)
    out.append(
        Sample(
            "webp-animated", path, facts={"size": (64, 48), "format": "WEBP", "colour": (255, 0, 0)}
        )
    )

    out.append(
        Sample(
            "webp",
            _save(directory, "photo.webp", photo(200, 150, 5), "WEBP"),
            facts={"size": (200, 150), "format": "WEBP"},
        )
    )
    out.append(
        Sample(
            "tiff",
            _save(directory, "photo.tiff", photo(200, 150, 6), "TIFF", compression="tiff_deflate"),
            facts={"size": (200, 150), "format": "TIFF"},
        )
    )
    out.append(
        Sample(
            "bmp",
            _save(directory, "photo.bmp", photo(90, 60, 7), "BMP"),
            facts={"size": (90, 60), "format": "BMP"},
        )
    )
    heic = directory / "photo.heic"
    heic.write_bytes(heic_bytes(photo(256, 192, 8), quality=80))
    out.append(Sample("heic", heic, facts={"size": (256, 192), "format": "HEIF"}))

    # b"caf\xe9.jpg" is not valid UTF-8; os.fsdecode keeps it as a surrogate-escaped str
    # that Path and open() turn back into exactly those bytes on disk.
    path = directory / os.fsdecode(b"caf\xe9.jpg")
    path.write_bytes(jpeg_bytes(photo(100, 80, 9)))
    out.append(Sample("non-utf8-name", path, facts={"size": (100, 80), "format": "JPEG"}))
    return out


def write_bad_samples(directory: Path) -> list[Sample]:
    """Files read_image must refuse, each with the reason it must give."""
    directory.mkdir(parents=True, exist_ok=True)
    out: list[Sample] = []
    good = jpeg_bytes(photo(400, 300, seed=10))
    path = directory / "truncated.jpg"
    path.write_bytes(good[: len(good) // 2])
    out.append(Sample("truncated-jpeg", path, "truncated image"))

    path = directory / "empty.jpg"
    path.write_bytes(b"")
    out.append(Sample("zero-byte", path, "empty file"))

    path = directory / "notes.png"
    path.write_text("These are my holiday notes, not a picture.\n" * 20)
    out.append(Sample("text-as-png", path, "not an image"))

    path = directory / "bomb.png"
    path.write_bytes(bomb_png())
    out.append(Sample("decompression-bomb", path, "too large (decompression bomb?)"))

    path = directory / "folder.jpg"
    path.mkdir()
    out.append(Sample("directory", path, "is a directory"))

    path = directory / "fifo.jpg"
    if hasattr(os, "mkfifo"):
        os.mkfifo(path)
        out.append(Sample("fifo", path, "not a regular file"))

    loop_a, loop_b = directory / "loop_a.jpg", directory / "loop_b.jpg"
    try:
        loop_a.symlink_to(loop_b.name)
        loop_b.symlink_to(loop_a.name)
        out.append(Sample("symlink-loop", loop_a, "symlink loop"))
    except OSError:
        pass

    if hasattr(os, "geteuid") and os.geteuid() != 0:  # root reads anything
        path = directory / "private.jpg"
        path.write_bytes(good)
        path.chmod(0)
        out.append(Sample("no-permission", path, "permission denied"))
    return out


def write_samples(directory: Path) -> list[Sample]:
    """Good samples under ``directory/good``, bad ones under ``directory/bad``."""
    return write_good_samples(directory / "good") + write_bad_samples(directory / "bad")


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """A damaged copy of ``data`` for fuzzing: bit flips, truncation or header edits."""
    buf = bytearray(data)
    if not buf:
        return bytes(rng.randbytes(rng.randint(1, 64)))
    kind = rng.choice(("flip", "truncate", "header", "chunk", "size", "mixed"))
    head = min(len(buf), 512)
    if kind in ("flip", "mixed"):
        for _ in range(rng.randint(1, 16)):
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
    if kind in ("header", "mixed"):
        for _ in range(rng.randint(1, 8)):
            buf[rng.randrange(head)] = rng.randrange(256)
    if kind == "size":  # big numbers where headers keep sizes and lengths
        i = rng.randrange(max(1, head - 4))
        buf[i : i + 4] = rng.choice((b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x00"))
    if kind == "chunk":  # drop or repeat a run of bytes in the middle
        start = rng.randrange(len(buf))
        end = min(len(buf), start + rng.randint(1, 4096))
        if rng.random() < 0.5:
            del buf[start:end]
        else:
            buf[start:start] = buf[start:end]
    if kind in ("truncate", "mixed"):
        buf = buf[: rng.randrange(1, len(buf) + 1)]
    return bytes(buf)
