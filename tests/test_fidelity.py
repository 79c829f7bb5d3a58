"""clipdesk's embeddings equal open_clip's own, for every architecture in the registry.

For each registry architecture a model is built with random weights from a fixed seed
(real weights cannot be downloaded here; random weights exercise exactly the same code)
by open_clip's reference pipeline: ``create_model_and_transforms`` with the pretrained
tag's preprocessing, its ``preprocess`` transform and its tokenizer. The same weights are
saved as a clipdesk model folder and loaded through clipdesk: file bytes -> ``imageio``
decode (with JPEG draft mode, as the indexer calls it) -> torch-free ``preprocess`` ->
``Encoder``. Image and text vectors must agree to cosine >= 0.999.

The reference decodes files the plain PIL way: ``Image.open``, EXIF orientation applied
(open_clip leaves that to its caller), ``convert("RGB")``. The PNG with alpha stores white
under its transparent pixels, so dropping alpha (PIL) and compositing on white
(clipdesk) mean the same picture and only the pipelines are compared.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from clipdesk.core.encoder import load_encoder
from clipdesk.core.models import list_models
from clipdesk.core.models.manifest import Manifest, file_record, sha256_file, write_manifest
from clipdesk.core.models.openclip_config import (
    builtin_model_config,
    uses_hf_text,
    write_open_clip_config,
)
from clipdesk.core.models.testing import spread_random_model, write_hf_text_files
from clipdesk.core.preprocess import preprocess

MIN_COSINE = 0.999
SEED = 1234
TEXTS = [
    "a photo of a dog",
    "two people walking on a beach at sunset",
    "a red bicycle leaning against a brick wall",
    "Geburtstagskuchen mit Kerzen",
]
# Slow on a 2-core CPU (a 1.7 GB model, over a second per image): run with -m slow.
SLOW_ARCHS = {"ViT-L-14-336-quickgelu"}


def _registry_archs() -> list[object]:
    seen: dict[str, object] = {}
    for spec in list_models():
        if spec.is_demo or spec.source != "registry" or spec.arch in seen:
            continue
        marks = [pytest.mark.slow] if spec.arch in SLOW_ARCHS else []
        seen[spec.arch] = pytest.param(spec, id=spec.arch, marks=marks)
    return list(seen.values())


# --- test photos ------------------------------------------------------------------------


def _scene(width: int, height: int, seed: int) -> Image.Image:
    """A photo-like picture: sky and ground gradients, shapes, texture and sensor noise."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, height)[:, None, None]
    sky = np.array([90, 140, 220]) * (1 - y) + np.array([230, 230, 250]) * y
    ground = np.array([60, 110, 40]) * (1 - y) + np.array([120, 90, 50]) * y
    horizon = int(height * rng.uniform(0.45, 0.65))
    arr = np.where(np.arange(height)[:, None, None] < horizon, sky, ground)
    arr = np.broadcast_to(arr, (height, width, 3)).copy()
    image = Image.fromarray(arr.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(8):
        x0, y0 = rng.integers(0, width), rng.integers(0, height)
        w, h = rng.integers(width // 10, width // 3), rng.integers(height // 10, height // 3)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x0 + w, y0 + h), fill=colour)
        else:
            draw.rectangle((x0, y0, x0 + w, y0 + h), fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(1.2))
    noisy = np.asarray(image, dtype=np.float32) + rng.normal(0, 6, (height, width, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def _encode(image: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kw)
    return buf.getvalue()


def _photos() -> dict[str, bytes]:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown portrait (rotate 90 degrees clockwise)
    rgba = _scene(640, 480, 2).convert("RGBA")
    arr = np.asarray(rgba).copy()
    yy, xx = np.mgrid[0:480, 0:640]
    outside = (xx - 320) ** 2 / 300**2 + (yy - 240) ** 2 / 200**2 > 1
    arr[outside] = (255, 255, 255, 0)  # transparent corners that store white
    return {
        "jpeg": _encode(_scene(1024, 768, 1), "JPEG", quality=92),
        "png-alpha": _encode(Image.fromarray(arr, "RGBA"), "PNG"),
        "exif-rotated": _encode(_scene(1024, 768, 3), "JPEG", quality=90, exif=exif.tobytes()),
        "cmyk": _encode(_scene(800, 600, 4).convert("CMYK"), "JPEG", quality=92),
        "grayscale": _encode(_scene(900, 600, 5).convert("L"), "PNG"),
        "small": _encode(_scene(150, 100, 6), "PNG"),
    }


@pytest.fixture(scope="module", autouse=True)
def _private_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep every clipdesk location (model cache included) inside a temporary folder."""
    root = tmp_path_factory.mktemp("dirs")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("DATA", "CACHE", "CONFIG", "MODELS"):
            mp.setenv(f"CLIPDESK_{var}_DIR", str(root / var.lower()))
        yield


@pytest.fixture(scope="module")
def photos() -> dict[str, bytes]:
    return _photos()


def _reference_decode(data: bytes, *, orient: bool = True) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    if orient:
        image = ImageOps.exif_transpose(image)
    return image.convert("RGB")


def _clipdesk_decode(data: bytes, size: int) -> Image.Image:
    from clipdesk.core.imageio import read_image

    return read_image(data, target_size=size).image


@contextlib.contextmanager
def _no_network() -> Iterator[None]:
    """Fail on any connection attempt: an installed model must load offline."""
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access while loading a model")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", refuse)
        mp.setattr(socket, "create_connection", refuse)
        yield


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 6) for k, v in values.items()}


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return (a * b).sum(axis=-1)


# --- the test -----------------------------------------------------------------------------


def _reference(spec, folder: Path):
    """open_clip's model (random weights, fixed seed), transform and tokenizer for
    ``spec``, and the same weights installed in ``folder`` as a download installs them."""
    import open_clip
    import torch
    from open_clip.tokenizer import HFTokenizer
    from safetensors.torch import save_file

    for pkg in spec.requires:
        pytest.importorskip(pkg, reason=f"{spec.arch} needs the optional package {pkg}")
    tag_cfg = open_clip.get_pretrained_cfg(spec.arch, spec.pretrained)
    assert tag_cfg, f"open_clip has no pretrained tag {spec.arch}/{spec.pretrained}"
    folder.mkdir()
    model_cfg = builtin_model_config(spec.arch)
    extra: dict[str, object] = {}
    if uses_hf_text(model_cfg):
        # A Hugging Face text tower: its config and tokenizer live in the model folder.
        write_hf_text_files(folder, TEXTS * 10)
        extra["text_cfg"] = {
            **model_cfg["text_cfg"],
            "hf_model_name": str(folder),
            "hf_tokenizer_name": str(folder),
            "hf_model_pretrained": False,
        }
    torch.manual_seed(SEED)
    ref_model, _, ref_transform = open_clip.create_model_and_transforms(
        spec.arch,
        pretrained=None,
        image_mean=tag_cfg["mean"],
        image_std=tag_cfg["std"],
        image_interpolation=tag_cfg["interpolation"],
        image_resize_mode=tag_cfg["resize_mode"],
        **extra,
    )
    spread_random_model(ref_model, SEED)
    ref_model.eval()
    if extra:
        ref_tokenizer = HFTokenizer(str(folder), context_length=77)
    else:
        ref_tokenizer = open_clip.get_tokenizer(spec.arch)

    write_open_clip_config(folder, model_cfg, spec.preprocess)
    weights = folder / "open_clip_model.safetensors"
    save_file({k: v.contiguous() for k, v in ref_model.state_dict().items()}, str(weights))
    local = dataclasses.replace(spec, files=(), local_dir=folder, source="imported")
    digest = sha256_file(weights)  # recorded once, as an install does
    records = {weights.name: file_record(weights, digest)}
    write_manifest(folder, Manifest(spec.name, spec.arch, "random", "import", records))
    return ref_model, ref_transform, ref_tokenizer, local, digest


@pytest.mark.parametrize("spec", _registry_archs())
def test_embeddings_match_open_clip(spec, photos: dict[str, bytes], tmp_path: Path) -> None:
    import torch

    folder = tmp_path / spec.name
    ref_model, ref_transform, ref_tokenizer, local, digest = _reference(spec, folder)
    with _no_network():
        encoder = load_encoder(local, device="cpu")
    assert encoder.model_key == f"{spec.name}@{digest[:12]}"
    size = encoder.preprocess_cfg.size
    assert size == spec.resolution

    names = list(photos)
    ours = encoder.encode_image_batch(
        np.stack(
            [preprocess(_clipdesk_decode(photos[n], size), encoder.preprocess_cfg) for n in names]
        )
    )
    with torch.no_grad():
        ref_batch = torch.stack([ref_transform(_reference_decode(photos[n])) for n in names])
        ref = ref_model.encode_image(ref_batch, normalize=True).numpy()
        unrotated = ref_model.encode_image(
            ref_transform(_reference_decode(photos["exif-rotated"], orient=False))[None]
        ).numpy()[0]
    cosines = dict(zip(names, _cos(ours, ref).tolist(), strict=True))
    # Random towers give every picture a large shared component (MobileCLIP's most of
    # all), which alone would make raw cosines high; centred on the mean reference
    # vector, only what depends on the picture is compared.
    centre = ref.mean(axis=0)
    centred = dict(zip(names, _cos(ours - centre, ref - centre).tolist(), strict=True))
    print(f"\n{spec.arch}: image cosines {_rounded(cosines)}, centred {_rounded(centred)}")
    assert min(cosines.values()) >= MIN_COSINE, cosines
    assert min(centred.values()) >= MIN_COSINE, centred

    # The comparison can fail: other pictures, or the same one not turned upright, differ.
    rotated = names.index("exif-rotated")
    assert float(_cos(ours[0] - centre, ours[2] - centre)) < 0.9
    assert float(_cos(ours[rotated] - centre, unrotated - centre)) < 0.99

    text = encoder.encode_texts(TEXTS)
    with torch.no_grad():
        ref_text = ref_model.encode_text(ref_tokenizer(TEXTS), normalize=True).numpy()
    text_cos = _cos(text.vectors, ref_text)
    print(f"{spec.arch}: text cosines {np.round(text_cos, 6).tolist()}")
    assert float(text_cos.min()) >= MIN_COSINE
    assert text.truncated == [False] * len(TEXTS)
    assert float(_cos(text.vectors[0], text.vectors[1])) < 0.999


@pytest.mark.slow  # about 3 minutes: exporting, checking and packing 370M parameters
def test_multilingual_pack_embeds_like_open_clip(photos: dict[str, bytes], tmp_path: Path):
    """The multilingual model (XLM-RoBERTa text tower) exported to a pack and installed
    without its weights: ONNX Runtime and the ``tokenizers`` package alone, no
    transformers, give open_clip's token ids and vectors."""
    import shutil

    import torch

    from clipdesk.core.models.manifest import PACKED_DIR
    from clipdesk.core.models.pack import install_pack, write_pack
    from clipdesk.core.onnx_backend import OnnxEncoder

    spec = next(s for s in list_models() if s.name == "multilingual-ViT-B-32")
    folder = tmp_path / spec.name
    ref_model, ref_transform, ref_tokenizer, local, _ = _reference(spec, folder)
    pack = tmp_path / "multilingual.clipdesk-pack"
    manifest = write_pack(local, pack)
    assert f"{PACKED_DIR}/tokenizer.json" in manifest["files"]
    shutil.rmtree(folder)
    installed = install_pack(pack, name="multilingual-from-pack")
    encoder = load_encoder(installed, device="cpu")
    assert isinstance(encoder, OnnxEncoder)

    texts = [*TEXTS, "Un chien sur la plage", "  spaces\tand &amp; entities  ", "x " * 100]
    with torch.no_grad():
        ref_text = ref_model.encode_text(ref_tokenizer(texts), normalize=True).numpy()
    got = encoder.encode_texts(texts, long_text="truncate").vectors
    text_cos = _cos(got, ref_text)
    print(f"\nmultilingual pack: text cosines {np.round(text_cos, 6).tolist()}")
    assert float(text_cos.min()) >= MIN_COSINE

    size = encoder.preprocess_cfg.size
    names = list(photos)
    ours = encoder.encode_image_batch(
        np.stack(
            [preprocess(_clipdesk_decode(photos[n], size), encoder.preprocess_cfg) for n in names]
        )
    )
    with torch.no_grad():
        batch = torch.stack([ref_transform(_reference_decode(photos[n])) for n in names])
        ref = ref_model.encode_image(batch, normalize=True).numpy()
    # The pack's image tower is int8, held to the rule on raw cosines (as every pack is);
    # the texts are what this test is about.
    image_cos = _cos(ours, ref)
    print(f"multilingual pack: image cosines {np.round(image_cos, 6).tolist()}")
    assert float(image_cos.min()) >= MIN_COSINE
