"""open_clip's inference transform, rebuilt with PIL and numpy only.

Decode workers turn files into model input without importing torch, so this module
reproduces, step for step, what ``open_clip.image_transform(..., is_train=False)`` does
to a PIL image: the same resize arithmetic (torchvision's rounding included), the same
PIL resampling filter, the same centre crop or pad, then ``ToTensor`` and ``Normalize``
in float32. The tests compare it with open_clip's own transform for every resize mode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

# open_clip's defaults (open_clip.constants.OPENAI_DATASET_MEAN / _STD).
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)

_RESIZE_MODES = ("shortest", "longest", "squash")
# PIL is imported where pixels are handled: the model registry reads this module's
# PreprocessConfig, and a search that never touches an image need not load PIL.


@dataclass(frozen=True, slots=True)
class PreprocessConfig:
    """How one model wants its pixels: the fields of open_clip's ``PreprocessCfg``."""

    size: int
    mean: tuple[float, float, float] = OPENAI_MEAN
    std: tuple[float, float, float] = OPENAI_STD
    interpolation: str = "bicubic"
    resize_mode: str = "shortest"
    fill_color: int = 0

    def __post_init__(self) -> None:
        if self.size <= 0:
            raise ValueError(f"image size must be positive, not {self.size}")
        if self.resize_mode not in _RESIZE_MODES:
            raise ValueError(f"unknown resize mode {self.resize_mode!r}")
        # open_clip treats anything but "bilinear" (including "random") as bicubic.
        if self.interpolation not in ("bicubic", "bilinear", "random"):
            raise ValueError(f"unknown interpolation {self.interpolation!r}")
        if len(self.mean) != 3 or len(self.std) != 3:
            raise ValueError("mean and std need three values (R, G, B)")

    @classmethod
    def from_open_clip(cls, cfg: Mapping[str, Any]) -> PreprocessConfig:
        """Build from open_clip's ``preprocess_cfg`` dict (as in ``open_clip_config.json``)."""
        size = cfg.get("size", 224)
        if isinstance(size, Sequence):
            if len(size) != 2 or size[0] != size[1]:
                raise ValueError(f"only square model inputs are supported, not {size}")
            size = size[0]
        return cls(
            size=int(size),
            mean=_triple(cfg.get("mean"), OPENAI_MEAN),
            std=_triple(cfg.get("std"), OPENAI_STD),
            interpolation=cfg.get("interpolation") or "bicubic",
            resize_mode=cfg.get("resize_mode") or "shortest",
            fill_color=int(cfg.get("fill_color") or 0),
        )

    def to_open_clip(self) -> dict[str, Any]:
        """The same settings as an open_clip ``preprocess_cfg`` dict."""
        return {
            "size": self.size,
            "mode": "RGB",
            "mean": list(self.mean),
            "std": list(self.std),
            "interpolation": self.interpolation,
            "resize_mode": self.resize_mode,
            "fill_color": self.fill_color,
        }


def _triple(value: Any, default: tuple[float, float, float]) -> tuple[float, float, float]:
    if value is None:
        return default
    if isinstance(value, int | float):
        return (float(value),) * 3
    a, b, c = (float(v) for v in value)
    return (a, b, c)


def preprocess(image: Image.Image, cfg: PreprocessConfig) -> np.ndarray:
    """One RGB PIL image -> float32 ``(3, size, size)`` model input, as open_clip makes it."""
    from PIL import Image

    if image.mode != "RGB":
        image = image.convert("RGB")
    filters = Image.Resampling
    resample = filters.BILINEAR if cfg.interpolation == "bilinear" else filters.BICUBIC
    size = cfg.size
    if cfg.resize_mode == "squash":
        image = _resize(image, size, size, resample)
    elif cfg.resize_mode == "shortest":
        image = _center_crop_or_pad(_resize_shortest(image, size, resample), size, 0)
    else:
        image = _center_crop_or_pad(_resize_longest(image, size, resample), size, cfg.fill_color)
    pixels = np.asarray(image, dtype=np.uint8).astype(np.float32) / np.float32(255.0)
    mean = np.asarray(cfg.mean, dtype=np.float32)
    std = np.asarray(cfg.std, dtype=np.float32)
    pixels = (pixels - mean) / std
    return np.ascontiguousarray(pixels.transpose(2, 0, 1))


def preprocess_batch(images: Sequence[Image.Image], cfg: PreprocessConfig) -> np.ndarray:
    """Several images -> float32 ``(n, 3, size, size)``, in the order given."""
    out = np.empty((len(images), 3, cfg.size, cfg.size), dtype=np.float32)
    for i, image in enumerate(images):
        out[i] = preprocess(image, cfg)
    return out


def _resize(image: Image.Image, width: int, height: int, resample: int) -> Image.Image:
    # torchvision returns the image untouched when it already has the size asked for.
    if image.size == (width, height):
        return image
    return image.resize((width, height), resample)


def _resize_shortest(image: Image.Image, size: int, resample: int) -> Image.Image:
    """torchvision ``Resize(size)``: short edge to ``size``, long edge truncated."""
    w, h = image.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    return _resize(image, new_w, new_h, resample)


def _resize_longest(image: Image.Image, size: int, resample: int) -> Image.Image:
    """open_clip ``ResizeKeepRatio(size, longest=1)``: long edge to ``size``, rounded."""
    w, h = image.size
    ratio = max(h / size, w / size)
    new_h, new_w = round(h / ratio), round(w / ratio)
    return _resize(image, new_w, new_h, resample)


def _center_crop_or_pad(image: Image.Image, size: int, fill: int) -> Image.Image:
    """open_clip ``center_crop_or_pad`` / torchvision ``CenterCrop`` on a PIL image."""
    w, h = image.size
    if size > w or size > h:
        left = (size - w) // 2 if size > w else 0
        top = (size - h) // 2 if size > h else 0
        right = (size - w + 1) // 2 if size > w else 0
        bottom = (size - h + 1) // 2 if size > h else 0
        from PIL import ImageOps

        image = ImageOps.expand(image, border=(left, top, right, bottom), fill=(fill,) * 3)
        w, h = image.size
        if (w, h) == (size, size):
            return image
    # Python's round() (half to even), exactly as torchvision computes the offsets.
    top = round((h - size) / 2.0)
    left = round((w - size) / 2.0)
    return image.crop((left, top, left + size, top + size))
