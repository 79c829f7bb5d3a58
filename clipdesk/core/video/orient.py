"""Which way up a video is shown: a phone stores a portrait video sideways and says so.

The sensor records landscape frames; a portrait video carries a display matrix (the MP4
or MOV track header, Matroska's projection) that players apply when they show it.
FFmpeg hands the matrix to every decoded frame as side data; a file converted by an old
FFmpeg carries a ``rotate`` tag (clockwise degrees) instead. The turn is chosen the way
the ``ffmpeg`` command's own autorotation chooses it, so a frame indexed, a thumbnail and
a scene strip show what a player shows. Odd angles (not a multiple of 90) are left as
they are: no camera writes them.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence

from PIL import Image

__all__ = ["SWAPS_SIDES", "frame_turn", "matrix_turn", "tag_turn", "upright"]

T = Image.Transpose
SWAPS_SIDES = frozenset({T.ROTATE_90, T.ROTATE_270, T.TRANSPOSE, T.TRANSVERSE})


def _clockwise_degrees(matrix: Sequence[int]) -> float | None:
    """The clockwise turn a display matrix asks for, in [0, 360) (FFmpeg's
    ``av_display_rotation_get``, negated, as ``ffmpeg`` reads it)."""
    scale0, scale1 = math.hypot(matrix[0], matrix[3]), math.hypot(matrix[1], matrix[4])
    if scale0 == 0 or scale1 == 0:
        return None
    counter = -math.degrees(math.atan2(matrix[1] / scale1, matrix[0] / scale0))
    theta = -round(counter)
    return theta - 360 * math.floor(theta / 360 + 0.9 / 360)


def matrix_turn(matrix: Sequence[int]) -> Image.Transpose | None:
    """The transpose that shows frames upright under a 3x3 display matrix (16.16 fixed
    point, FFmpeg's layout); None when they are upright already."""
    theta = _clockwise_degrees(matrix)
    if theta is None:
        return None
    if abs(theta - 90) < 1:
        return T.TRANSPOSE if matrix[3] > 0 else T.ROTATE_270
    if abs(theta - 270) < 1:
        return T.TRANSVERSE if matrix[3] < 0 else T.ROTATE_90
    if abs(theta - 180) < 1:
        flips = (matrix[0] < 0, matrix[4] < 0)
        return {
            (True, True): T.ROTATE_180,
            (True, False): T.FLIP_LEFT_RIGHT,
            (False, True): T.FLIP_TOP_BOTTOM,
        }.get(flips)
    if abs(theta) < 1 and matrix[4] < 0:
        return T.FLIP_TOP_BOTTOM
    return None


def tag_turn(metadata: Mapping[str, str]) -> Image.Transpose | None:
    """The transpose a ``rotate`` tag (clockwise degrees, any case of the name) asks for."""
    text = next((v for k, v in metadata.items() if k.lower() == "rotate"), None)
    try:
        degrees = round(float(text)) % 360 if text is not None else 0
    except ValueError:
        return None
    return {90: T.ROTATE_270, 180: T.ROTATE_180, 270: T.ROTATE_90}.get(degrees)


def frame_turn(frame: object, stream_metadata: Mapping[str, str]) -> Image.Transpose | None:
    """The transpose for a decoded PyAV frame: its display matrix, else the stream's tag."""
    from av.sidedata.sidedata import Type

    try:
        side = frame.side_data.get(Type.DISPLAYMATRIX)  # type: ignore[attr-defined]
    except (AttributeError, KeyError, ValueError):
        side = None
    if side is not None:
        data = bytes(memoryview(side))  # type: ignore[arg-type]
        if len(data) == 36:
            return matrix_turn(struct.unpack("=9i", data))
    return tag_turn(stream_metadata)


def upright(image: Image.Image, turn: Image.Transpose | None) -> Image.Image:
    return image if turn is None else image.transpose(turn)
