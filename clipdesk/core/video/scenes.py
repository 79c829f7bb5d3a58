"""Cutting sampled frames into scenes: a new scene where the picture changed, not fifty
for one static shot.

Each sampled frame is reduced to a tiny colour signature. A frame starts a new scene when
enough of its signature differs from the first frame of the current scene; comparing with
the scene's first frame (not the previous frame) also catches slow pans and fades, which
never differ much from one sample to the next. Noise and compression change a few pixels
a little, so a static shot stays one scene. The number of scenes is bounded per minute
of video: past the bound, the two most alike neighbours are merged, so a video of
flickering lights costs no more vectors than a busy film.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "MAX_SCENES",
    "SCENES_PER_MINUTE",
    "SIGNATURE_SIDE",
    "Scene",
    "SceneCutter",
    "difference",
]

SIGNATURE_SIDE = 24  # frames are compared as 24 x 24 RGB thumbnails
PIXEL_CHANGED = 40  # a signature pixel changed when one channel moved this much (of 255)
CUT_FRACTION = 0.2  # a new scene when this share of the signature changed
SCENES_PER_MINUTE = 30
MAX_SCENES = 600
MIN_SCENES_ALLOWED = 8  # short clips may have this many scenes however short they are


def difference(a: np.ndarray, b: np.ndarray) -> float:
    """The share of signature pixels that changed between two frames (0 to 1)."""
    moved = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=-1)
    return float((moved > PIXEL_CHANGED).mean())


@dataclass
class Scene:
    """One scene: ``start`` <= t < ``end`` seconds, and the frame that stands for it."""

    start: float
    end: float
    signature: np.ndarray
    frame: object  # the caller's picture of the scene (see ``SceneCutter``)
    samples: int = 1


class SceneCutter:
    """Fed one sampled frame at a time (in time order); ``finish`` gives the scenes.

    Pictures are asked for lazily: ``add`` answers True when the caller should make this
    sample's picture and hand it to ``set_frame`` (a scene's first sample, then its second,
    which replaces it, as a first sample may be caught in a transition), so most samples
    cost only their signature.
    """

    def __init__(self, *, cut_fraction: float = CUT_FRACTION) -> None:
        self.cut_fraction = cut_fraction
        self.scenes: list[Scene] = []

    def add(self, time: float, signature: np.ndarray) -> bool:
        """Add a sample; True when the caller should hand its picture (``set_frame``)."""
        current = self.scenes[-1] if self.scenes else None
        if current is not None and difference(current.signature, signature) < self.cut_fraction:
            current.samples += 1
            current.end = time
            return current.samples == 2
        if current is not None:
            current.end = time
        self.scenes.append(Scene(time, time, signature, None))
        self._bound(time)
        return True

    def set_frame(self, frame: object) -> None:
        self.scenes[-1].frame = frame

    def _bound(self, now: float) -> None:
        allowed = max(MIN_SCENES_ALLOWED, int(SCENES_PER_MINUTE * now / 60.0))
        while len(self.scenes) > min(MAX_SCENES, allowed) and len(self.scenes) > 2:
            # Merge the most alike neighbours among the closed scenes (not the newest).
            gaps = [
                difference(self.scenes[i].signature, self.scenes[i + 1].signature)
                for i in range(len(self.scenes) - 2)
            ]
            i = int(np.argmin(gaps))
            first, second = self.scenes[i], self.scenes.pop(i + 1)
            first.end = second.end
            first.samples += second.samples

    def finish(self, duration: float) -> list[Scene]:
        """The scenes, the last one ending at ``duration`` (or its last sample)."""
        if self.scenes:
            last = self.scenes[-1]
            last.end = max(last.end, duration)
        return self.scenes
