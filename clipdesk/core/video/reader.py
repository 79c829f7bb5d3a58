"""Decoding a video with PyAV (FFmpeg) into its scenes: a picture, a start and an end each.

Runs in a decode worker (``decode_task``), never in the app: FFmpeg parses untrusted
bytes. Frames are decoded in order and sampled every ``SAMPLE_EVERY_S`` seconds; each
sample costs a tiny signature (``scenes.py``), and only a scene's picture is converted
at the encoder's size, so the cost per minute of video is the decoding itself plus at
most ``SCENES_PER_MINUTE`` pictures. Bad input becomes :class:`ImageReadError` with a
short reason, recorded once by the indexer: no video stream (audio only), no frames,
absurd dimensions, a truncated or damaged file. A phone's portrait video is stored
sideways: its pictures are turned upright (``orient``) before they are embedded.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass

from PIL import Image

from clipdesk.core.errors import ImageReadError
from clipdesk.core.video.facts import video_facts
from clipdesk.core.video.orient import SWAPS_SIDES, frame_turn, upright
from clipdesk.core.video.scenes import SIGNATURE_SIDE, SceneCutter

__all__ = ["DecodedVideo", "VideoScene", "read_video", "video_fingerprint"]

SAMPLE_EVERY_S = 0.5
MAX_PIXELS = 100_000_000  # per frame: beyond any camera's video
MAX_SIDE = 16384
_HASH_CHUNK = 1 << 18
_HASH_POINTS = 16


@dataclass(frozen=True, slots=True, eq=False)
class VideoScene:
    start: float
    end: float
    image: Image.Image  # upright RGB, short side at least the encoder's input size


@dataclass(frozen=True, slots=True, eq=False)
class DecodedVideo:
    width: int
    height: int
    duration: float
    taken_at: float | None
    camera: str | None
    scenes: list[VideoScene]
    taken_offset: int | None = None  # minutes east of UTC (see ``facts``)
    position: tuple[float, float] | None = None  # (latitude, longitude)


def _open_file(path: bytes) -> int:
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except PermissionError:
        raise ImageReadError("permission denied") from None
    except FileNotFoundError:
        raise ImageReadError("file not found") from None
    except OSError as exc:
        raise ImageReadError("cannot read file", str(exc)) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ImageReadError("not a regular file")
    if info.st_size == 0:
        os.close(fd)
        raise ImageReadError("empty file")
    return fd


def video_fingerprint(path: bytes) -> str:
    """Content identity of a video from its size and 16 spread chunks (BLAKE2b-128, hex).

    Hashing every byte of a long video would cost more than decoding it; a copy or a
    move keeps these chunks, an edit or a re-encode changes them.
    """
    fd = _open_file(path)
    try:
        size = os.fstat(fd).st_size
        digest = hashlib.blake2b(digest_size=16, person=b"clipdesk-video")
        digest.update(size.to_bytes(8, "little"))
        step = max(1, (size - _HASH_CHUNK) // (_HASH_POINTS - 1)) if size > _HASH_CHUNK else 1
        positions = sorted({min(i * step, max(0, size - _HASH_CHUNK)) for i in range(16)})
        for pos in positions:
            digest.update(os.pread(fd, _HASH_CHUNK, pos))
        return digest.hexdigest()
    except OSError as exc:
        raise ImageReadError("cannot read file", str(exc)) from None
    finally:
        os.close(fd)


def _boxes_cut_off(handle: object) -> bool:
    """Whether an MP4/MOV's chain of top-level boxes runs past the end of the file, or
    lacks the index (``moov``) that a writer adds last: a copy cut off, or still coming."""
    handle.seek(0, os.SEEK_END)  # type: ignore[attr-defined]
    size = handle.tell()  # type: ignore[attr-defined]
    pos, boxes, names = 0, 0, set()
    while pos + 8 <= size and boxes < 10_000:
        handle.seek(pos)  # type: ignore[attr-defined]
        head = handle.read(16)  # type: ignore[attr-defined]
        box, name = int.from_bytes(head[:4], "big"), head[4:8]
        if boxes == 0 and name != b"ftyp":
            return False  # not ISO base media: nothing to tell from the boxes
        if box == 1 and len(head) == 16:
            box = int.from_bytes(head[8:16], "big")
        if box == 0:
            return False  # runs to the end of the file by definition
        if box < 8:
            return False  # damaged, not cut off
        names.add(name)
        boxes += 1
        pos += box
    return boxes > 0 and (pos > size or b"moov" not in names)


def _reason(exc: BaseException, handle: object) -> str:
    text = str(exc).lower()
    if "end of file" in text or "truncat" in text:
        return "truncated video"
    try:
        if _boxes_cut_off(handle):
            return "truncated video"
    except (OSError, ValueError):
        pass
    return "damaged video"


def read_video(path: bytes, *, target_size: int) -> DecodedVideo:
    """Decode ``path`` into scenes; bad input raises ``ImageReadError`` with a reason."""
    import av

    fd = _open_file(path)
    with os.fdopen(fd, "rb") as handle:
        try:
            container = av.open(handle, mode="r")
        except av.error.FFmpegError as exc:
            raise ImageReadError(_reason(exc, handle), str(exc)) from None
        with container:
            return _read(container, target_size)


def _declared_duration(container: object, stream: object) -> float:
    if stream.duration is not None and stream.time_base is not None:  # type: ignore[attr-defined]
        return float(stream.duration * stream.time_base)  # type: ignore[attr-defined]
    if container.duration is not None:  # type: ignore[attr-defined]
        import av

        return float(container.duration) / av.time_base  # type: ignore[attr-defined]
    return 0.0


def _read(container: object, target_size: int) -> DecodedVideo:
    import av

    streams = container.streams  # type: ignore[attr-defined]
    if not streams.video:
        reason = "no video stream (audio only)" if streams.audio else "no video stream"
        raise ImageReadError(reason)
    stream = streams.video[0]
    width, height = int(stream.codec_context.width), int(stream.codec_context.height)
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE) or width * height > MAX_PIXELS:
        raise ImageReadError("absurd video dimensions", f"{width}x{height}")
    duration = _declared_duration(container, stream)
    stream.thread_type = "AUTO"
    cutter = SceneCutter()
    next_sample = 0.0
    last = -1.0
    scale = target_size / min(width, height)
    size = (max(target_size, round(width * scale)), max(target_size, round(height * scale)))
    tags = dict(stream.metadata)
    turn: Image.Transpose | None = None
    try:
        for frame in container.decode(stream):  # type: ignore[attr-defined]
            if frame.width * frame.height > MAX_PIXELS:
                raise ImageReadError("absurd video dimensions")
            if last < 0:
                turn = frame_turn(frame, tags)
            t = frame.time if frame.time is not None else last + 1.0 / 30
            last = max(last, t)
            if t + 1e-6 < next_sample:
                continue
            next_sample = t + SAMPLE_EVERY_S
            sig = frame.reformat(width=SIGNATURE_SIDE, height=SIGNATURE_SIDE, format="rgb24")
            if cutter.add(t, sig.to_ndarray()):
                picture = frame.reformat(width=size[0], height=size[1], format="rgb24")
                cutter.set_frame(upright(picture.to_image(), turn))
    except av.error.FFmpegError as exc:
        if last < 0:
            raise ImageReadError("damaged video", str(exc)) from None
        if duration and last < duration - 2 * SAMPLE_EVERY_S - 1.0:
            raise ImageReadError("truncated video", str(exc)) from None
    if last < 0:
        raise ImageReadError("no frames in video")
    if duration and last < 0.9 * duration - 1.0:
        raise ImageReadError("truncated video", f"frames end at {last:.1f} s of {duration:.1f} s")
    scenes = cutter.finish(max(duration, last))
    facts = video_facts(dict(container.metadata))  # type: ignore[attr-defined]
    if turn in SWAPS_SIDES:
        width, height = height, width
    return DecodedVideo(
        width,
        height,
        max(duration, last),
        facts.taken_at,
        facts.camera,
        [VideoScene(s.start, s.end, s.frame) for s in scenes],  # type: ignore[arg-type]
        facts.taken_offset,
        facts.position,
    )
