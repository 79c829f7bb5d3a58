"""Turning whatever mode a photo decodes to into 8-bit RGB that looks right."""

from __future__ import annotations

import io

from PIL import Image

from clipdesk.core.errors import ImageReadError

__all__ = ["convert_to_rgb"]


def _on_white(im: Image.Image) -> Image.Image:
    """Composite on white: dark shapes on transparent PNGs stay visible (black would hide them)."""
    rgba = im.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _high_depth_to_rgb(im: Image.Image) -> Image.Image:
    """16-bit, 32-bit and float grey scaled to 8 bits (Pillow's convert would clip)."""
    import numpy as np

    arr = np.asarray(im, dtype=np.float64)
    finite = arr[np.isfinite(arr)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if lo >= 0 and hi <= 1.0 and im.mode == "F":
        lo, hi = 0.0, 1.0
    elif lo >= 0 and hi <= 255 and not im.mode.startswith("I;16"):
        lo, hi = 0.0, 255.0
    elif lo >= 0 and hi <= 65535:
        lo, hi = 0.0, 65535.0
    scaled = (np.nan_to_num(arr, nan=lo) - lo) * (255.0 / max(hi - lo, 1e-12))
    grey = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return Image.fromarray(grey).convert("RGB")


def _cmyk_to_rgb(im: Image.Image) -> Image.Image:
    icc = im.info.get("icc_profile")
    if icc:
        try:
            from PIL import ImageCms

            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            result = ImageCms.profileToProfile(
                im, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
            )
            if result is not None:
                return result
        except Exception:  # a broken profile falls back to the plain conversion
            pass
    return im.convert("RGB")


def convert_to_rgb(im: Image.Image) -> Image.Image:
    """A new RGB image from any mode a photo file may decode to."""
    mode = im.mode
    if mode in ("RGBA", "LA", "La", "RGBa", "PA") or (
        "transparency" in im.info and mode in ("P", "L", "RGB")
    ):
        return _on_white(im)
    if mode == "RGB":
        return im.copy()
    if mode == "CMYK":
        return _cmyk_to_rgb(im)
    if mode.startswith("I") or mode == "F":
        return _high_depth_to_rgb(im)
    try:
        return im.convert("RGB")
    except (ValueError, OSError) as exc:
        raise ImageReadError("unsupported colour mode", mode) from exc
