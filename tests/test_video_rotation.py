"""A phone's portrait video is shown and embedded upright: its frames lie on their side in
the file, and the display matrix (or an old ``rotate`` tag) the file carries is applied
to the pictures that are embedded, the thumbnails and the scene strip."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import av
import numpy as np
import pytest
import video_samples as vs
from PIL import Image

from clipdesk.core.library import Library
from clipdesk.core.progress import run_to_end as run
from clipdesk.core.video.frames import frame_at
from clipdesk.core.video.orient import matrix_turn, tag_turn
from clipdesk.core.video.reader import read_video

WIDTH, HEIGHT = 64, 96  # upright: a portrait picture
# The track header matrix a phone writes for a portrait video (a quarter clockwise).
PHONE_MATRIX = (0, 65536, 0, -65536, 0, 0, 0, 0, 1 << 30)


def portrait() -> Image.Image:
    """Red above, blue below: any turn or flip shows."""
    pixels = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    pixels[: HEIGHT // 2, :, 0] = 230
    pixels[HEIGHT // 2 :, :, 2] = 230
    return Image.fromarray(pixels)


def _upright_red_above_blue(image: Image.Image) -> bool:
    rgb = np.asarray(image.convert("RGB"), dtype=np.int32)
    h, w = rgb.shape[:2]
    top, bottom = rgb[h // 8, w // 2], rgb[h - 1 - h // 8, w // 2]
    return h > w and top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0]


def _track_matrix(path: Path) -> tuple[int, ...]:
    """The display matrix in the MP4's track header, read from the bytes themselves."""
    data = path.read_bytes()
    at = data.index(b"tkhd")
    version = data[at + 4]
    start = at + 4 + (52 if version == 1 else 40)
    return struct.unpack(">9i", data[start : start + 36])


@pytest.fixture(scope="module")
def phone_videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("phone")
    return {
        "matrix.mp4": vs.write_portrait_video(folder / "matrix.mp4", portrait(), "libx264"),
        "matrix.webm": vs.write_portrait_video(folder / "matrix.webm", portrait(), "libvpx-vp9"),
        "tag.mkv": vs.write_portrait_video(folder / "tag.mkv", portrait(), "libx264", how="tag"),
    }


def test_the_files_carry_a_quarter_turn_and_sideways_frames(phone_videos) -> None:
    assert _track_matrix(phone_videos["matrix.mp4"]) == PHONE_MATRIX
    for name, path in phone_videos.items():
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            frame = next(container.decode(stream))
            assert (frame.width, frame.height) == (HEIGHT, WIDTH), name  # stored landscape
            if name == "tag.mkv":
                assert {k.lower(): v for k, v in stream.metadata.items()}["rotate"] == "90"
            else:
                assert frame.rotation == -90, name


@pytest.mark.parametrize("name", ["matrix.mp4", "matrix.webm", "tag.mkv"])
def test_scenes_and_frames_come_upright(phone_videos, name: str) -> None:
    path = phone_videos[name]
    video = read_video(os.fsencode(path), target_size=48)
    assert (video.width, video.height) == (WIDTH, HEIGHT)
    assert len(video.scenes) == 1
    assert _upright_red_above_blue(video.scenes[0].image)
    assert min(video.scenes[0].image.size) >= 48
    thumb = frame_at(path, 0.5, 40)  # thumbnails and the scene strip
    assert max(thumb.size) == 40
    assert _upright_red_above_blue(thumb)


def test_the_turns_follow_ffmpeg() -> None:
    t = Image.Transpose
    assert matrix_turn(PHONE_MATRIX) is t.ROTATE_270  # a quarter clockwise
    assert matrix_turn((0, -65536, 0, 65536, 0, 0, 0, 0, 1 << 30)) is t.ROTATE_90
    assert matrix_turn((-65536, 0, 0, 0, -65536, 0, 0, 0, 1 << 30)) is t.ROTATE_180
    assert matrix_turn((65536, 0, 0, 0, 65536, 0, 0, 0, 1 << 30)) is None
    assert matrix_turn((65536, 0, 0, 0, -65536, 0, 0, 0, 1 << 30)) is t.FLIP_TOP_BOTTOM
    assert matrix_turn((0, 65536, 0, 65536, 0, 0, 0, 0, 1 << 30)) is t.TRANSPOSE
    assert matrix_turn((0, 0, 0, 0, 0, 0, 0, 0, 0)) is None  # no matrix at all
    assert tag_turn({"rotate": "90"}) is t.ROTATE_270
    assert tag_turn({"ROTATE": "-90"}) is t.ROTATE_90
    assert tag_turn({"rotate": "sideways"}) is None and tag_turn({}) is None


def test_the_library_embeds_the_upright_picture(
    phone_videos, tiny_shapes_installed: str, tmp_path: Path
) -> None:
    """The picture embedded is the upright one: the video is the upright picture's
    nearest match, and nearer to it than to the frames as they lie in the file."""
    folder = tmp_path / "phone"
    folder.mkdir()
    upright = Image.new("RGB", (96, 144), "white")
    upright.paste(vs.shape_picture("triangle", "red", 96), (0, 0))
    upright.paste(vs.shape_picture("circle", "blue", 96), (0, 48))
    video = vs.write_portrait_video(folder / "phone.mp4", upright, "libx264")
    upright.save(tmp_path / "upright.png")
    upright.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "sideways.png")
    with Library.open(tmp_path / "lib", model=tiny_shapes_installed) as library:
        run(library.index([folder], workers=1))
        record = library.catalog.file_by_path(os.fsencode(video.resolve()))
        assert record is not None and (record.width, record.height) == (96, 144)
        good = library.similar(tmp_path / "upright.png", k=1).hits[0]
        bad = library.similar(tmp_path / "sideways.png", k=1).hits[0]
        assert Path(good.path).name == "phone.mp4" and good.score > 0.97
        assert 1 - good.score < (1 - bad.score) / 3, (good.score, bad.score)
