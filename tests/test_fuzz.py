"""Hundreds of damaged JPEG/PNG/GIF/WebP/TIFF files and decompression bombs.

The indexer must finish, index the good files, and list each bad one once with a
reason, and not read any of them again on the next run.
"""

from __future__ import annotations

import io
import os
import random
import struct
from pathlib import Path

import image_samples
import pytest
from test_watch_common import CountingEncoder, open_library

from clipdesk.core.check import check_library
from clipdesk.core.progress import run_to_end as run

MUTANTS = 520  # under -m slow; the default run damages fewer files the same ways
FORMATS = {"jpg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WEBP", "tif": "TIFF"}
BOMB_REASON = "too large (decompression bomb?)"


def encoded(suffix: str, seed: int) -> bytes:
    image = image_samples.photo(96, 72, seed=seed)
    buf = io.BytesIO()
    if suffix == "gif":
        image = image.convert("P")
    image.save(buf, FORMATS[suffix])
    return buf.getvalue()


def tiff_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A valid TIFF header that promises 900 megapixels."""
    entries = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1)]
    entries += [(273, 4, 8 + 2 + 12 * 9 + 4), (277, 3, 1), (278, 4, height), (279, 4, 16)]
    ifd = struct.pack("<H", len(entries))
    for tag, kind, value in entries:
        packed = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, 1) + packed
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + b"\x00" * 16


def bombs() -> dict[str, bytes]:
    gif = bytearray(encoded("gif", 1))
    gif[6:10] = struct.pack("<HH", 20000, 20000)  # logical screen size
    jpeg = bytearray(encoded("jpg", 1))
    sof = jpeg.index(b"\xff\xc0")
    jpeg[sof + 5 : sof + 9] = struct.pack(">HH", 0xFFFF, 0xFFFF)
    webp = encoded("webp", 1)
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00" * 4 + (16383).to_bytes(3, "little") * 2
    payload = b"WEBP" + vp8x + webp[12:]
    return {
        "bomb.png": image_samples.bomb_png(),
        "bomb.gif": bytes(gif),
        "bomb.jpg": bytes(jpeg),
        "bomb.webp": b"RIFF" + struct.pack("<I", len(payload)) + payload,
        "bomb.tif": tiff_bomb(),
    }


def write_corpus(
    folder: Path, mutants_count: int = MUTANTS
) -> tuple[list[Path], list[Path], list[Path]]:
    """(untouched originals, mutants, bombs)."""
    rng = random.Random(2024)
    originals, mutants = [], []
    for n, suffix in enumerate(FORMATS):
        for seed in range(2):
            path = folder / "good" / f"{suffix}{seed}.{suffix}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(encoded(suffix, 10 * n + seed))
            originals.append(path)
    for i in range(mutants_count):
        suffix = list(FORMATS)[i % len(FORMATS)]
        source = originals[2 * (i % len(FORMATS)) + rng.randrange(2)]
        path = folder / "fuzz" / suffix / f"m{i:04d}.{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(image_samples.mutate_bytes(source.read_bytes(), rng))
        mutants.append(path)
    bomb_paths = []
    for name, data in bombs().items():
        path = folder / "bombs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        bomb_paths.append(path)
    return originals, mutants, bomb_paths


@pytest.mark.parametrize("count", [130, pytest.param(MUTANTS, marks=pytest.mark.slow)])
def test_fuzzed_files_and_bombs_never_stop_the_indexer(
    count,
    tmp_path,
    shared_encoder,
    monkeypatch,
):
    monkeypatch.setenv("CLIPDESK_BACKEND", "torch")  # count the real encoder's work
    photos = tmp_path / "photos"
    originals, mutants, bomb_paths = write_corpus(photos, count)
    encoder = CountingEncoder(shared_encoder)
    with open_library(tmp_path / "lib", encoder) as library:
        report = run(library.index([photos], workers=1, batch_size=32))
        assert not report.cancelled
        everything = originals + mutants + bomb_paths
        assert report.decoded + report.skipped == len(everything)
        records = {
            r.fspath: r for r in library.catalog.files_of_root(library.roots()[0].id).values()
        }
        assert set(records) == {os.fspath(p.resolve()) for p in everything}
        for path in originals:
            assert records[os.fspath(path.resolve())].status == "ok"
        for path in bomb_paths:
            record = records[os.fspath(path.resolve())]
            assert (record.status, record.skip_reason) == ("skipped", BOMB_REASON), record
        assert {r.status for r in records.values()} == {"ok", "skipped"}
        skipped = [r for r in records.values() if r.status == "skipped"]
        assert all(r.skip_reason for r in skipped)
        assert sum(os.fspath(p) in {r.fspath for r in skipped} for p in mutants) > count // 3

        status = library.status()
        listed = [entry["path"] for entry in status["skipped_files"]]
        assert len(listed) == len(set(listed)) == len(skipped), "a bad file listed twice"
        assert status["pending"] == 0
        assert status["indexed"] + status["skipped"] == len(everything)
        reasons = {entry["reason"] for entry in status["skipped_files"]}
        assert {"truncated image", BOMB_REASON} <= reasons, reasons

        again = run(library.index(workers=1))
        assert (again.decoded, again.skipped, again.encoded) == (0, 0, 0), "bad files re-read"
        assert check_library(library).ok
        assert encoder.images == report.encoded
