"""Videos for tests, written with PyAV (FFmpeg's own encoders): the demo model's shapes,
one per scene, and the bad inputs a video library meets."""

from __future__ import annotations

import math
import wave
from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np
from PIL import Image

from clipdesk.training.shapes import render_scene, scene_for

Scene = tuple[str, str]  # (shape, colour)


def shape_picture(shape: str, colour: str, size: int) -> Image.Image:
    return render_scene(scene_for(shape, colour), size, np.random.default_rng(0), shading=False)


def write_video(
    path: Path,
    scenes: Sequence[Scene],
    codec: str,
    *,
    seconds: float = 3.0,
    fps: int = 10,
    size: int = 96,
    noise: int = 0,
    tags: dict[str, str] | None = None,
) -> Path:
    """One shape per scene, each shown for ``seconds``; ``noise`` jitters every frame;
    ``tags`` go in the container's metadata (a MOV keeps any name, as phones write them)."""
    rng = np.random.default_rng(1)
    options = {"movflags": "use_metadata_tags"} if path.suffix.lower() == ".mov" else {}
    with av.open(str(path), "w", options=options) as container:
        container.metadata.update(tags or {})
        stream = container.add_stream(codec, rate=fps)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for shape, colour in scenes:
            base = np.asarray(shape_picture(shape, colour, size), dtype=np.int16)
            for _ in range(round(seconds * fps)):
                pixels = base
                if noise:
                    pixels = base + rng.integers(-noise, noise + 1, base.shape)
                frame = av.VideoFrame.from_ndarray(
                    np.clip(pixels, 0, 255).astype(np.uint8), format="rgb24"
                )
                for packet in stream.encode(frame):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_empty_video(path: Path) -> Path:
    """An MP4 whose video track holds no frame."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        container.start_encoding()  # the header and an empty track, then no frame
    return path


def write_audio_only(path: Path, seconds: float = 1.0) -> Path:
    """An MP4 (AAC) with sound and no picture, as a voice memo app writes."""
    rate = 22050
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=rate)
        samples = np.array(
            [[math.sin(2 * math.pi * 440 * i / rate) * 0.2 for i in range(int(rate * seconds))]],
            dtype=np.float32,
        )
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_absurd_video(path: Path) -> Path:
    """A stream that claims frames 40000 pixels wide (a raw YUV4MPEG header)."""
    path.write_bytes(b"YUV4MPEG2 W40000 H16 F25:1 Ip A1:1 C420jpeg\nFRAME\n" + b"\0" * 4096)
    return path


def truncate(source: Path, target: Path, keep: float = 0.5) -> Path:
    """The first ``keep`` of a file: a copy that was cut off."""
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * keep)])
    return target


def write_wave(path: Path) -> Path:
    """Not a video at all, under a video's name (FFmpeg reads it as sound)."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * 8000)
    return path


def write_portrait_video(
    path: Path,
    upright: Image.Image,
    codec: str,
    *,
    how: str = "matrix",
    seconds: float = 1.0,
    fps: int = 10,
) -> Path:
    """A video as a phone records one held upright: the sensor's frames lie on their side
    (``upright`` turned a quarter anticlockwise) and the file asks players to turn them a
    quarter clockwise, by a display matrix (``how="matrix"``, what phones write) or by a
    ``rotate`` tag (``how="tag"``, what old FFmpeg conversions carry)."""
    sideways = np.asarray(upright.convert("RGB").transpose(Image.Transpose.ROTATE_90))
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.height, stream.width = sideways.shape[:2]
        stream.pix_fmt = "yuv420p"
        if how == "matrix":
            stream.set_display_rotation(-90)  # anticlockwise degrees: a quarter clockwise
        else:
            stream.metadata["rotate"] = "90"  # clockwise degrees
        for _ in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(sideways, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
