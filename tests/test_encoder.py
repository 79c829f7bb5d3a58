"""The encoder on a small random-initialised CLIP, checked against open_clip directly."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clipdesk.core.encoder import Encoder, load_encoder, select_device
from clipdesk.core.models import (
    MissingDependencyError,
    ModelError,
    ModelNotInstalledError,
    ModelSpec,
)
from clipdesk.core.models.testing import save_random_model, tiny_model_config
from clipdesk.core.preprocess import PreprocessConfig, preprocess_batch

CONTEXT = 16
LONG_TEXT = (
    "A small red square sits in the top left corner. "
    "Next to it there is a large blue circle with a thin outline. "
    "Below both of them a green triangle points down."
)


@pytest.fixture(scope="module", autouse=True)
def _private_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep every clipdesk location (model cache included) inside a temporary folder."""
    root = tmp_path_factory.mktemp("dirs")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("DATA", "CACHE", "CONFIG", "MODELS"):
            mp.setenv(f"CLIPDESK_{var}_DIR", str(root / var.lower()))
        yield


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny")
    return save_random_model(folder, tiny_model_config(context_length=CONTEXT), seed=3)


def _spec(folder: Path, name: str = "tiny-test", **kw: object) -> ModelSpec:
    return ModelSpec(
        name=name, arch="custom", pretrained="random", local_dir=folder, source="imported", **kw
    )


@pytest.fixture(scope="module")
def encoder(model_dir: Path) -> Encoder:
    return load_encoder(_spec(model_dir), device="cpu")


@pytest.fixture(scope="module")
def reference(model_dir: Path):
    import open_clip

    model, _, transform = open_clip.create_model_and_transforms(f"local-dir:{model_dir}")
    model.eval()
    return model, transform, open_clip.get_tokenizer(f"local-dir:{model_dir}")


def _images(n: int) -> list[Image.Image]:
    rng = np.random.default_rng(11)
    out = []
    for i in range(n):
        arr = rng.integers(0, 256, (90 + 7 * i, 120, 3), dtype=np.uint8)
        arr[:, : 20 + 10 * i] = (255, 0, 0)
        out.append(Image.fromarray(arr))
    return out


def test_attributes(encoder: Encoder, model_dir: Path) -> None:
    assert encoder.backend == "torch"
    assert encoder.dim == 64
    assert encoder.context_length == CONTEXT
    assert encoder.device == "cpu"
    assert encoder.dtype == "float32"
    assert encoder.preprocess_cfg == PreprocessConfig(64)
    name, digest = encoder.model_key.split("@")
    assert name == "tiny-test"
    assert len(digest) == 12


def test_model_key_follows_the_weights(tmp_path: Path, model_dir: Path, encoder: Encoder) -> None:
    other = save_random_model(tmp_path / "other", tiny_model_config(context_length=CONTEXT), seed=4)
    again = load_encoder(_spec(other))
    assert again.model_key != encoder.model_key
    assert again.model_key.startswith("tiny-test@")


def test_images_match_open_clip(encoder: Encoder, reference) -> None:
    import torch

    model, transform, _ = reference
    images = _images(5)
    with torch.no_grad():
        ref = model.encode_image(torch.stack([transform(im) for im in images]), normalize=True)
    ours = encoder.encode_images(images)
    assert ours.dtype == np.float32 and ours.shape == (5, 64)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(ours, ref.numpy(), atol=1e-5)
    assert float(ours[0] @ ours[4]) < 0.999  # different pictures, different vectors


def test_batch_path_equals_image_path(encoder: Encoder) -> None:
    images = _images(7)
    encoder.batch_size = 3  # forces several internal batches
    try:
        batch = preprocess_batch(images, encoder.preprocess_cfg)
        np.testing.assert_allclose(
            encoder.encode_image_batch(batch), encoder.encode_images(images), atol=1e-6
        )
    finally:
        encoder.batch_size = 16
    assert encoder.encode_image_batch(np.zeros((0, 3, 64, 64), np.float32)).shape == (0, 64)
    with pytest.raises(ValueError, match="shape"):
        encoder.encode_image_batch(np.zeros((2, 3, 32, 32), np.float32))


def test_texts_match_open_clip_and_report_truncation(encoder: Encoder, reference) -> None:
    import torch

    model, _, tokenizer = reference
    texts = ["a red square", "a blue circle on a white background", LONG_TEXT]
    with torch.no_grad():
        ref = model.encode_text(tokenizer(texts), normalize=True).numpy()
    out = encoder.encode_texts(texts, long_text="truncate")
    np.testing.assert_allclose(out.vectors, ref, atol=1e-5)
    assert out.truncated == [False, False, True]
    assert out.chunks == [1, 1, 1]
    short_counts = [int((tokenizer([t]) != 0).sum()) for t in texts[:2]]
    assert out.token_counts[:2] == short_counts
    assert out.token_counts[2] > CONTEXT


def test_long_text_is_chunked_and_averaged(encoder: Encoder) -> None:
    out = encoder.encode_texts([LONG_TEXT, "a red square"])
    assert out.chunks[0] > 1 and out.chunks[1] == 1
    assert out.truncated == [False, False]
    from clipdesk.core.models.text_chunks import split_to_fit

    pieces = split_to_fit(LONG_TEXT, encoder.count_tokens, CONTEXT)
    assert len(pieces) == out.chunks[0]
    assert all(encoder.count_tokens(p) <= CONTEXT for p in pieces)
    assert " ".join(pieces).split() == LONG_TEXT.split()  # nothing lost, order kept
    parts = encoder.encode_texts(pieces, long_text="truncate").vectors
    mean = parts.mean(axis=0)
    np.testing.assert_allclose(out.vectors[0], mean / np.linalg.norm(mean), atol=1e-5)
    truncated = encoder.encode_texts([LONG_TEXT], long_text="truncate").vectors[0]
    assert float(out.vectors[0] @ truncated) < 0.9999  # the tail of the text counted


def test_calls_from_two_threads_agree(encoder: Encoder) -> None:
    images = _images(4)
    expected = encoder.encode_images(images)
    results: list[np.ndarray] = []

    def work() -> None:
        for _ in range(3):
            results.append(encoder.encode_images(images))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 6
    for r in results:
        np.testing.assert_allclose(r, expected, atol=1e-6)


def test_devices() -> None:
    import torch

    assert select_device("cpu") == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ModelError, match="CUDA"):
            select_device("cuda")
        assert select_device("auto") in ("cpu", "mps")
    with pytest.raises(ModelError, match="unknown device"):
        select_device("tpu")


def test_missing_model_and_missing_package(tmp_path: Path, model_dir: Path) -> None:
    with pytest.raises(ModelNotInstalledError, match="not installed"):
        load_encoder(_spec(tmp_path / "nothing-here"))
    with pytest.raises(MissingDependencyError, match="pip install"):
        load_encoder(_spec(model_dir, requires=("clipdesk_no_such_package",)))


def test_bf16_autocast_stays_close_to_fp32(model_dir: Path, encoder: Encoder) -> None:
    low = load_encoder(_spec(model_dir), device="cpu", precision="bf16")
    assert low.dtype == "bfloat16" and low.model_key == encoder.model_key
    images = _images(3)
    ours, full = low.encode_images(images), encoder.encode_images(images)
    assert ours.dtype == np.float32
    cos = (ours * full).sum(axis=1)
    assert cos.min() > 0.99 and not np.array_equal(ours, full)
    with pytest.raises(ValueError, match="precision"):
        load_encoder(_spec(model_dir), precision="fp8")


def _shape(kind: str, colour: tuple[int, int, int], size: int = 256) -> Image.Image:
    from PIL import ImageDraw

    image = Image.new("RGB", (size, size), (235, 235, 235))
    draw = ImageDraw.Draw(image)
    box = (size // 4, size // 4, 3 * size // 4, 3 * size // 4)
    (draw.ellipse if kind == "circle" else draw.rectangle)(box, fill=colour)
    return image


def test_bundled_tiny_shapes_knows_its_shapes(tiny_shapes_installed: str) -> None:
    """The project's own model, shipped with clipdesk, loads and tells shapes apart."""
    encoder = load_encoder("tiny-shapes", device="cpu")
    assert encoder.spec.is_demo and encoder.model_key.startswith("tiny-shapes@")
    images = [_shape("circle", (220, 30, 30)), _shape("square", (30, 60, 220))]
    texts = ["a red circle", "a blue square"]
    scores = encoder.encode_images(images) @ encoder.encode_texts(texts).vectors.T
    assert scores[0, 0] > scores[0, 1] and scores[1, 1] > scores[1, 0], scores


def test_loading_never_touches_the_network(model_dir: Path, monkeypatch) -> None:
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access while loading a model")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    encoder = load_encoder(_spec(model_dir), device="cpu")
    assert encoder.encode_texts(["offline"]).vectors.shape == (1, 64)
