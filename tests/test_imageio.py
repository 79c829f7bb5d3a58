"""read_image on good photos of every kind and on hostile files."""

from __future__ import annotations

import datetime as dt
import io
import os
import random
import subprocess
import sys
from pathlib import Path

import image_samples
import numpy as np
import pytest
from PIL import Image

from clipdesk.core.imageio import (
    IMAGE_EXTENSIONS,
    ImageReadError,
    file_fingerprint,
    is_image_path,
    read_file_bytes,
    read_image,
)


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, image_samples.Sample]:
    written = image_samples.write_samples(tmp_path_factory.mktemp("samples"))
    return {s.name: s for s in written}


def test_every_sample_gives_its_expected_outcome(samples: dict[str, image_samples.Sample]) -> None:
    assert {"jpeg", "heic", "truncated-jpeg", "decompression-bomb"} <= samples.keys()
    for sample in samples.values():
        if sample.ok:
            decoded = read_image(sample.path)
            assert decoded.image.mode == "RGB", sample.name
            assert (decoded.width, decoded.height) == sample.facts["size"], sample.name
            assert decoded.image.size == sample.facts["size"], sample.name
            assert decoded.format == sample.facts["format"], sample.name
        else:
            with pytest.raises(ImageReadError) as info:
                read_image(sample.path)
            assert info.value.reason == sample.reason, sample.name
            assert str(info.value) == sample.reason


def test_exif_orientation_date_and_camera(samples: dict[str, image_samples.Sample]) -> None:
    decoded = read_image(samples["exif-rotated"].path)
    assert decoded.image.size == (200, 300)
    # Orientation 6 turns the stored image clockwise: the red top-left goes to top-right.
    r, g, b = decoded.image.getpixel((195, 5))
    assert r > 200 and g < 60 and b < 60
    assert decoded.image.getpixel((5, 5))[0] < 250 or decoded.image.getpixel((5, 5))[1] > 60
    assert decoded.camera == image_samples.CAMERA_MODEL  # make not repeated
    expected = dt.datetime(2021, 7, 14, 9, 30, 5).timestamp()  # naive: local time
    assert decoded.taken_at == pytest.approx(expected)


def test_exif_offset_gives_exact_time_and_make_is_joined() -> None:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "NIKON CORPORATION\x00", "D750 "
    sub = exif.get_ifd(0x8769)
    sub[0x9003], sub[0x9011] = "2020:02:29 23:59:58", "-05:00"
    data = image_samples.jpeg_bytes(image_samples.photo(64, 48), exif=exif.tobytes())
    decoded = read_image(data)
    assert decoded.camera == "NIKON CORPORATION D750"
    expected = dt.datetime(2020, 3, 1, 4, 59, 58, tzinfo=dt.UTC).timestamp()
    assert decoded.taken_at == expected


def test_bad_exif_date_is_none_not_an_error() -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "0000:00:00 00:00:00"
    decoded = read_image(image_samples.jpeg_bytes(image_samples.photo(32, 32), exif=exif.tobytes()))
    assert decoded.taken_at is None and decoded.camera is None


def test_transparent_shapes_are_composited_on_white(
    samples: dict[str, image_samples.Sample],
) -> None:
    for name in ("png-alpha", "png-palette-transparent"):
        image = read_image(samples[name].path).image
        assert image.getpixel((2, 2)) == (255, 255, 255), name
        assert max(image.getpixel((60, 40))) < 30, name  # the black square stays black


def test_sixteen_bit_is_scaled_not_clipped(samples: dict[str, image_samples.Sample]) -> None:
    arr = np.asarray(read_image(samples["png-16bit"].path).image)
    row = arr[50, :, 0].astype(int)
    assert row[0] == 0 and row[-1] == 255
    assert abs(row[100] - 128) <= 2  # Pillow's own convert would give 255 here
    assert np.all(np.diff(row) >= 0)


def test_animated_first_frame_and_cmyk_colours(samples: dict[str, image_samples.Sample]) -> None:
    for name in ("gif-animated", "webp-animated"):
        r, g, b = read_image(samples[name].path).image.getpixel((32, 24))
        assert r > 240 and g < 15 and b < 15, name
    original = Image.open(samples["jpeg-cmyk"].path).convert("RGB")
    decoded = read_image(samples["jpeg-cmyk"].path).image
    diff = np.abs(np.asarray(decoded, dtype=int) - np.asarray(original, dtype=int))
    assert diff.mean() < 3


def test_draft_never_decodes_below_target_size() -> None:
    big = image_samples.photo(1000, 460, seed=3)
    data = image_samples.jpeg_bytes(big, exif=image_samples.exif_bytes(6))
    decoded = read_image(data, target_size=224)
    assert (decoded.width, decoded.height) == (460, 1000)  # full size after rotation
    assert decoded.image.size == (230, 500)  # halved by draft, then rotated
    full = read_image(data)
    assert full.image.size == (460, 1000)
    for target in (100, 115, 116, 229, 230, 231, 460, 500):
        image = read_image(data, target_size=target).image
        assert min(image.size) >= min(target, 460), target
        assert image.size[1] > image.size[0]


def test_pixel_limit_is_checked_before_decoding() -> None:
    data = image_samples.jpeg_bytes(image_samples.photo(400, 300))
    with pytest.raises(ImageReadError, match="decompression bomb"):
        read_image(data, max_pixels=400 * 300 - 1)
    assert read_image(data, max_pixels=400 * 300).width == 400


def test_dangerous_formats_are_not_opened() -> None:
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"
    with pytest.raises(ImageReadError, match="not an image"):
        read_image(eps)
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PPM")
    with pytest.raises(ImageReadError, match="not an image"):
        read_image(buf.getvalue())


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "private.jpg"
    path.write_bytes(image_samples.jpeg_bytes(image_samples.photo(32, 32)))
    path.chmod(0)
    if os.geteuid() != 0:
        with pytest.raises(ImageReadError, match="permission denied"):
            read_image(path)
        return
    # Root reads anything: run the read as "nobody" in a forked child.
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.setuid(65534)
            try:
                read_image(path)
                os.write(write_end, b"read it")
            except ImageReadError as exc:
                os.write(write_end, exc.reason.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    assert os.read(read_end, 100) == b"permission denied"
    os.close(read_end)


def test_read_file_bytes_limits(tmp_path: Path) -> None:
    path = tmp_path / "x.jpg"
    path.write_bytes(b"x" * 1000)
    assert read_file_bytes(path, 1000) == b"x" * 1000
    assert read_file_bytes(os.fsencode(path), 1000) == b"x" * 1000
    with pytest.raises(ImageReadError, match="file too large"):
        read_file_bytes(path, 999)
    with pytest.raises(ImageReadError, match="file not found"):
        read_file_bytes(tmp_path / "missing.jpg")
    with pytest.raises(ImageReadError, match="path too long"):
        read_file_bytes(tmp_path / ("a" * 300 + ".jpg"))
    with pytest.raises(ImageReadError, match="not a regular file"):
        read_file_bytes("/dev/zero")


def test_fingerprint_and_extensions() -> None:
    assert file_fingerprint(b"abc") == file_fingerprint(b"abc")
    assert file_fingerprint(b"abc") != file_fingerprint(b"abd")
    assert len(file_fingerprint(b"")) == 32
    assert {".jpg", ".jpeg", ".png", ".heic", ".webp", ".tiff"} <= IMAGE_EXTENSIONS
    assert is_image_path("IMG_0001.JPG") and is_image_path(b"caf\xe9.HEIC")
    assert not is_image_path("notes.txt") and not is_image_path("jpg")


def test_mutated_files_raise_only_image_read_error(
    samples: dict[str, image_samples.Sample],
) -> None:
    rng = random.Random(1234)
    names = ("jpeg", "png-alpha", "gif-animated", "webp", "tiff", "png-16bit")
    sources = [samples[n].path.read_bytes() for n in names]
    outcomes = {"ok": 0, "bad": 0}
    for i in range(300):
        data = image_samples.mutate_bytes(sources[i % len(sources)], rng)
        try:
            decoded = read_image(data, target_size=64)
        except ImageReadError as exc:
            assert exc.reason and len(exc.reason) < 40
            outcomes["bad"] += 1
        else:
            assert decoded.image.mode == "RGB" and decoded.width > 0
            outcomes["ok"] += 1
    assert outcomes["bad"] > 50 and outcomes["ok"] > 10


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "HEIF", "AVIF"])
def test_orientation_is_applied_once_in_every_format(fmt: str) -> None:
    if {"HEIF": ".heic", "AVIF": ".avif"}.get(fmt, ".png") not in IMAGE_EXTENSIONS:
        pytest.skip(f"no {fmt} support here")
    raw = image_samples.photo(300, 200, seed=2)
    raw.paste((255, 0, 0), (0, 0, 40, 40))
    if fmt == "HEIF":  # pi-heif reads only
        data = image_samples.heic_bytes(raw, exif=image_samples.exif_bytes(6))
    else:
        buf = io.BytesIO()
        raw.save(buf, fmt, exif=image_samples.exif_bytes(6))
        data = buf.getvalue()
    decoded = read_image(data)
    assert decoded.image.size == (200, 300) and (decoded.width, decoded.height) == (200, 300)
    r, g, b = decoded.image.getpixel((195, 5))
    assert r > 200 and g < 60 and b < 60
    assert decoded.camera == image_samples.CAMERA_MODEL


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP", "HEIF", "AVIF"])
def test_cut_off_copies_are_reported_as_truncated(fmt: str) -> None:
    if {"HEIF": ".heic", "AVIF": ".avif"}.get(fmt, ".png") not in IMAGE_EXTENSIONS:
        pytest.skip(f"no {fmt} support here")
    if fmt == "HEIF":  # pi-heif reads only
        data = image_samples.heic_bytes(image_samples.photo(300, 200, seed=1))
    else:
        buf = io.BytesIO()
        image_samples.photo(300, 200, seed=1).save(buf, fmt)
        data = buf.getvalue()
    assert read_image(data).width == 300
    for fraction in (0.1, 0.5, 0.9):
        with pytest.raises(ImageReadError, match=r"^truncated image$"):
            read_image(data[: int(len(data) * fraction)], target_size=64)


def test_heic_is_read_by_pi_heif_without_pillow_heif(tmp_path: Path) -> None:
    """The app reads HEIC with the decode-only pi-heif; pillow-heif (with its x265
    encoder) is only the tests' writer and must not be what reads."""
    path = tmp_path / "photo.heic"
    path.write_bytes(image_samples.heic_bytes(image_samples.photo(64, 48, 3), quality=90))
    code = (
        "import sys\n"
        "from clipdesk.core.imageio import read_image\n"
        f"decoded = read_image({str(path)!r})\n"
        "assert (decoded.format, decoded.width, decoded.height) == ('HEIF', 64, 48)\n"
        "assert 'pi_heif' in sys.modules and 'pillow_heif' not in sys.modules\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
