"""One picture of a video at a given second: for the window's thumbnails and scene strip.

The window shows a video result by the frame where its best scene starts, and a video's
scenes as a strip of such frames. Seeking goes to the key frame before the time and
decodes forward, so a frame costs at most one group of pictures. A portrait phone video
comes upright, as a player shows it (``orient``).
"""

from __future__ import annotations

import os

from PIL import Image

from clipdesk.core.errors import ImageReadError
from clipdesk.core.video.orient import frame_turn, upright

__all__ = ["frame_at"]


def frame_at(path: str | bytes, at: float, size: int) -> Image.Image:
    """The frame shown at ``at`` seconds, scaled to fit a ``size`` square (RGB)."""
    import av

    try:
        with av.open(os.fsdecode(path), mode="r") as container:
            if not container.streams.video:
                raise ImageReadError("no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            if at > 0 and stream.time_base is not None:
                container.seek(int(at / stream.time_base), stream=stream, backward=True)
            picture = None
            for frame in container.decode(stream):
                picture = frame
                if frame.time is None or frame.time + 1e-3 >= at:
                    break
            if picture is None:
                raise ImageReadError("no frames in video")
            scale = size / max(picture.width, picture.height)
            width = max(1, round(picture.width * scale))
            height = max(1, round(picture.height * scale))
            image = picture.reformat(width=width, height=height, format="rgb24").to_image()
            return upright(image, frame_turn(picture, dict(stream.metadata)))
    except av.error.FFmpegError as exc:
        raise ImageReadError("damaged video", str(exc)) from None
