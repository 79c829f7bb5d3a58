"""clipdesk's torch-free preprocess equals open_clip's own transform, bit for bit or nearly."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from PIL import Image

from clipdesk.core.preprocess import PreprocessConfig, preprocess, preprocess_batch


def _photo(width: int, height: int, seed: int = 0) -> Image.Image:
    """A smooth gradient with noise and hard edges: every resampling filter has work to do."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([x / max(width - 1, 1), y / max(height - 1, 1), ((x + y) % 37) / 37.0], axis=-1)
    noisy = base * 200 + rng.normal(0, 20, size=base.shape)
    noisy[height // 3 : height // 2, width // 4 : width // 2] = (250, 10, 10)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")


def _reference(cfg: PreprocessConfig) -> object:
    from open_clip.transform import PreprocessCfg, image_transform_v2

    return image_transform_v2(
        PreprocessCfg(
            size=cfg.size,
            mean=cfg.mean,
            std=cfg.std,
            interpolation=cfg.interpolation,
            resize_mode=cfg.resize_mode,
            fill_color=cfg.fill_color,
        ),
        is_train=False,
    )


SIZES = [(640, 480), (480, 640), (301, 157), (224, 224), (225, 224), (1001, 999), (97, 60)]
CONFIGS = [
    PreprocessConfig(224),
    PreprocessConfig(256, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), interpolation="bilinear"),
    PreprocessConfig(224, resize_mode="longest", fill_color=0),
    PreprocessConfig(250, resize_mode="longest", fill_color=128, interpolation="bilinear"),
    PreprocessConfig(224, resize_mode="squash"),
    PreprocessConfig(64, interpolation="random"),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{c.resize_mode}-{c.interpolation}")
def test_matches_open_clip_transform(cfg: PreprocessConfig) -> None:
    transform = _reference(cfg)
    for i, (w, h) in enumerate(SIZES):
        image = _photo(w, h, seed=i)
        ours = preprocess(image, cfg)
        theirs = transform(image).numpy()
        assert ours.shape == theirs.shape == (3, cfg.size, cfg.size)
        assert ours.dtype == np.float32
        # Same PIL filter, same float32 arithmetic: anything above float rounding is a bug.
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6, err_msg=f"{w}x{h}")


def test_batch_keeps_order_and_shape() -> None:
    cfg = PreprocessConfig(32)
    images = [_photo(50, 40, seed=s) for s in range(3)]
    batch = preprocess_batch(images, cfg)
    assert batch.shape == (3, 3, 32, 32)
    for i, image in enumerate(images):
        np.testing.assert_array_equal(batch[i], preprocess(image, cfg))
    assert not np.array_equal(batch[0], batch[1])


def test_non_rgb_input_is_converted() -> None:
    cfg = PreprocessConfig(32)
    gray = _photo(40, 40).convert("L")
    out = preprocess(gray, cfg)
    np.testing.assert_array_equal(out, preprocess(gray.convert("RGB"), cfg))


def test_config_from_open_clip_dict_and_back() -> None:
    cfg = PreprocessConfig.from_open_clip(
        {"size": [256, 256], "mean": [0, 0, 0], "std": 1.0, "interpolation": "bilinear"}
    )
    assert cfg == PreprocessConfig(256, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), "bilinear")
    assert PreprocessConfig.from_open_clip(cfg.to_open_clip()) == cfg
    assert pickle.loads(pickle.dumps(cfg)) == cfg
    with pytest.raises(ValueError, match="square"):
        PreprocessConfig.from_open_clip({"size": [224, 256]})
    with pytest.raises(ValueError, match="resize mode"):
        PreprocessConfig(224, resize_mode="stretch")
