"""The ONNX Runtime backend: exported once, checked against torch, used only where it holds.

A tiny random-initialised CLIP (real BPE vocabulary) is exported once for the module;
each test points clipdesk's folders at that shared model and export.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from clipdesk.core import onnx_backend, onnx_cache
from clipdesk.core.encoder import load_encoder
from clipdesk.core.models.onnx_export import export_encoder, probe_images, required_cosine
from clipdesk.core.models.testing import save_random_model, tiny_model_config
from clipdesk.core.onnx_backend import OnnxEncoder
from clipdesk.core.torch_encoder import TorchEncoder

NAME = "tiny-random"
TEXTS = [
    "a photo of a dog",
    "café on a rainy day",
    "a long description " + "of a sunny beach with people and umbrellas " * 12,
]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("onnx-shared")
    dirs = {"models": base / "models", "cache": base / "cache"}
    save_random_model(dirs["models"] / NAME, tiny_model_config(), name=NAME, seed=3)
    return dirs


@pytest.fixture
def env(shared: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.setenv("CLIPDESK_MODELS_DIR", str(shared["models"]))
    monkeypatch.setenv("CLIPDESK_CACHE_DIR", str(shared["cache"]))
    monkeypatch.delenv("CLIPDESK_BACKEND", raising=False)
    return shared


@pytest.fixture
def torch_encoder(env: dict[str, Path]) -> TorchEncoder:
    encoder = load_encoder(NAME, device="cpu", backend="torch")
    assert isinstance(encoder, TorchEncoder)
    return encoder


@pytest.fixture
def exported(torch_encoder: TorchEncoder) -> dict:
    meta = onnx_cache.read_export(onnx_cache.export_dir(torch_encoder.model_key))
    if meta is None:
        meta = export_encoder(torch_encoder)
    return meta


def _photos(n: int, size: int = 96) -> list[Image.Image]:
    rng = np.random.default_rng(11)
    out = []
    for _ in range(n):
        arr = rng.integers(0, 256, (size, size + 20, 3), dtype=np.uint8)
        arr[: size // 2] //= 2  # some structure: a darker top half
        out.append(Image.fromarray(arr))
    return out


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1)


def test_export_keeps_the_fastest_tower_that_matches_torch(exported: dict) -> None:
    for tower in ("image", "text"):
        chosen = exported[tower]
        assert chosen is not None
        assert chosen["min_cosine"] >= onnx_cache.MIN_COSINE
        candidates = exported["checks"][tower]
        assert [c["precision"] for c in candidates] == ["int8", "float32"]
        # The first candidate that holds is the one kept; the others are deleted.
        first_ok = next(c for c in candidates if c["min_cosine"] >= required_cosine(c["precision"]))
        assert chosen["file"] == first_ok["file"]
    assert exported["text"]["trim"] is True  # open_clip's own text tower: cut after the end
    directory = onnx_cache.export_dir(exported["model_key"])
    on_disk = sorted(p.name for p in directory.glob("*.onnx"))
    assert on_disk == sorted({exported["image"]["file"], exported["text"]["file"]})


def test_int8_towers_hold_their_weights_to_7_bits(
    torch_encoder: TorchEncoder, tmp_path: Path
) -> None:
    """A pack runs on processors without VNNI, whose int8 kernels saturate on full-range
    8-bit weights; its int8 towers keep every weight within 7 bits."""
    import onnx
    from onnx import numpy_helper

    meta = export_encoder(torch_encoder, keep_all=True, directory=tmp_path / "export")
    for tower in ("image", "text"):
        graph = onnx.load(str(tmp_path / "export" / f"{tower}.int8.onnx")).graph
        largest = [
            int(np.abs(numpy_helper.to_array(t).astype(np.int16)).max())
            for t in graph.initializer
            if t.data_type == onnx.TensorProto.INT8
        ]
        # Full-range weights reach 127; 7-bit ones stop at 64 and still use that range.
        assert 60 <= max(largest) <= 64, (tower, max(largest, default=None))
    assert meta["image"]["precision"] == "int8"


def test_auto_backend_gives_torch_vectors(torch_encoder: TorchEncoder, exported: dict) -> None:
    fast = load_encoder(NAME, device="cpu")
    assert isinstance(fast, OnnxEncoder)
    assert fast.model_key == torch_encoder.model_key
    assert fast.dim == torch_encoder.dim
    assert fast.preprocess_cfg == torch_encoder.preprocess_cfg
    pixels = probe_images(fast.preprocess_cfg, 6, seed=99)  # not the probes it was checked on
    assert (
        _cos(fast.encode_image_batch(pixels), torch_encoder.encode_image_batch(pixels)).min()
        >= 0.999
    )
    photos = _photos(3)
    assert _cos(fast.encode_images(photos), torch_encoder.encode_images(photos)).min() >= 0.999
    ours, ref = fast.encode_texts(TEXTS), torch_encoder.encode_texts(TEXTS)
    assert ours.token_counts == ref.token_counts
    assert ours.chunks == ref.chunks and ours.chunks[2] > 1  # the long text was chunked
    assert ours.truncated == ref.truncated
    assert _cos(ours.vectors, ref.vectors).min() >= 0.999
    norms = np.linalg.norm(fast.encode_image_batch(pixels), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)


def test_torch_backend_is_respected(exported: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    assert type(load_encoder(NAME, device="cpu", backend="torch")) is TorchEncoder
    monkeypatch.setenv("CLIPDESK_BACKEND", "torch")
    assert type(load_encoder(NAME, device="cpu")) is TorchEncoder
    monkeypatch.setenv("CLIPDESK_BACKEND", "fastest")
    with pytest.raises(ValueError, match="backend"):
        load_encoder(NAME, device="cpu")


def test_without_onnxruntime_torch_is_used(exported: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(onnx_backend, "onnx_available", lambda: False)
    assert type(load_encoder(NAME, device="cpu")) is TorchEncoder
    assert type(load_encoder(NAME, device="cpu", backend="onnx")) is TorchEncoder


def test_a_damaged_export_is_not_used(
    env: dict[str, Path], exported: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(env["cache"], cache)
    monkeypatch.setenv("CLIPDESK_CACHE_DIR", str(cache))
    directory = onnx_cache.export_dir(exported["model_key"])
    assert isinstance(load_encoder(NAME, device="cpu"), OnnxEncoder)
    image = directory / exported["image"]["file"]
    image.write_bytes(image.read_bytes()[: image.stat().st_size // 2])
    assert onnx_cache.read_export(directory) is None
    assert type(load_encoder(NAME, device="cpu")) is TorchEncoder


def test_towers_that_miss_the_bar_are_not_used(
    torch_encoder: TorchEncoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import clipdesk.core.models.onnx_export as onnx_export

    monkeypatch.setenv("CLIPDESK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(onnx_export, "MIN_COSINE", 1.5)  # no export can reach it
    upgraded = onnx_backend.upgrade(torch_encoder)
    assert upgraded is torch_encoder
    meta = json.loads((onnx_cache.export_dir(torch_encoder.model_key) / "meta.json").read_text())
    assert meta["image"] is None and meta["text"] is None
    assert not list(onnx_cache.export_dir(torch_encoder.model_key).glob("*.onnx"))
    assert type(load_encoder(NAME, device="cpu")) is TorchEncoder


def test_cold_query_path_does_not_import_torch(env: dict[str, Path], exported: dict) -> None:
    code = (
        "import sys\n"
        "import numpy as np\n"
        "from clipdesk.core.encoder import load_encoder\n"
        f"enc = load_encoder({NAME!r}, device='cpu')\n"
        "vec = enc.encode_texts(['a photo of a dog']).vectors\n"
        "size = enc.preprocess_cfg.size\n"
        "img = enc.encode_image_batch(np.zeros((1, 3, size, size), np.float32))\n"
        "assert vec.shape == (1, enc.dim) and img.shape == (1, enc.dim)\n"
        "assert type(enc).__name__ == 'OnnxEncoder', type(enc)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "assert 'open_clip' not in sys.modules, 'open_clip was imported'\n"
    )
    environ = dict(os.environ)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environ, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.slow
def test_tiny_shapes_zero_shot_is_unchanged_on_onnx(
    tmp_path: Path, monkeypatch, tiny_shapes_installed: str
) -> None:
    """The trained demo model decides the same through ONNX Runtime as through torch."""
    import torch

    from clipdesk.core.models.registry import get_model
    from clipdesk.training.data import generate
    from clipdesk.training.evaluate import heldout_sample
    from clipdesk.training.vocab import COLOURS, SHAPES
    from clipdesk.training.zeroshot import COLOUR_TEMPLATES, SHAPE_TEMPLATES

    monkeypatch.setenv("CLIPDESK_CACHE_DIR", str(tmp_path / "cache"))
    spec = get_model(tiny_shapes_installed)
    reference = load_encoder(spec, device="cpu", backend="torch")
    fast = onnx_backend.upgrade(reference)
    assert isinstance(fast, OnnxEncoder)
    data = generate(heldout_sample, 300, 4242, reference.preprocess_cfg.size, workers=1)
    from clipdesk.training.train import images_to_tensor

    pixels = images_to_tensor(data.images).numpy()
    decisions = {}
    for name, enc in (("torch", reference), ("onnx", fast)):
        images = torch.from_numpy(enc.encode_image_batch(pixels))
        picks = []
        for labels, templates in ((SHAPES, SHAPE_TEMPLATES), (COLOURS, COLOUR_TEMPLATES)):
            prompts = [t.format(label) for label in labels for t in templates]
            text = enc.encode_texts(prompts).vectors.reshape(len(labels), len(templates), -1)
            classes = text.mean(axis=1)
            classes /= np.linalg.norm(classes, axis=1, keepdims=True)
            picks.append((images.numpy() @ classes.T).argmax(axis=1))
        decisions[name] = np.stack(picks)
    agreement = (decisions["torch"] == decisions["onnx"]).mean()
    assert agreement >= 0.99, agreement


def test_library_status_before_the_model_loads_does_not_import_torch(tmp_path: Path) -> None:
    """The window asks for the status (device included) first: that must not cost torch."""
    code = (
        "import sys\n"
        "from clipdesk.core import onnx_backend\n"
        "from clipdesk.core.library import Library\n"
        "if onnx_backend.accelerator_present():\n"
        "    sys.exit(0)  # a GPU may be there: asking torch is then right\n"
        f"lib = Library.open({str(tmp_path / 'lib')!r}, model={NAME!r})\n"
        "assert lib.status()['device'] == 'cpu'\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ),
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.slow  # the default run proves it through an index run: test_perf_indexer[onnx]
def test_an_isolated_export_runs_in_a_child_process(
    torch_encoder: TorchEncoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Indexing exports in a child process, so the interpreter lock stays free for a window
    running beside it; the result is the same checked export."""
    import clipdesk.core.models.onnx_export as onnx_export

    monkeypatch.setenv("CLIPDESK_CACHE_DIR", str(tmp_path / "cache"))

    def not_here(*args: object, **kwargs: object) -> dict:
        raise AssertionError("the export ran in this process")

    monkeypatch.setattr(onnx_export, "export_encoder", not_here)
    upgraded = onnx_backend.upgrade(torch_encoder, isolated=True)
    assert isinstance(upgraded, OnnxEncoder)
    meta = onnx_cache.read_export(onnx_cache.export_dir(torch_encoder.model_key))
    assert meta is not None and meta["model_key"] == torch_encoder.model_key
    photos = _photos(4)
    cosines = _cos(upgraded.encode_images(photos), torch_encoder.encode_images(photos))
    assert cosines.min() >= required_cosine(meta["image"]["precision"])


def test_both_implementations_are_whole_encoders(
    torch_encoder: TorchEncoder, exported: dict
) -> None:
    """Each implementation carries every part of the protocol itself: nothing is None and
    nothing is inherited from the other, so callers never need to ask which one they hold."""
    from clipdesk.core.encoding import Encoder

    fast = load_encoder(NAME, device="cpu")
    assert isinstance(fast, OnnxEncoder) and not isinstance(fast, TorchEncoder)
    assert not issubclass(OnnxEncoder, TorchEncoder) and not issubclass(TorchEncoder, OnnxEncoder)
    for encoder, backend in ((torch_encoder, "torch"), (fast, "onnx")):
        assert isinstance(encoder, Encoder)
        assert encoder.backend == backend
        for name in Encoder.__annotations__:
            assert getattr(encoder, name) is not None, (backend, name)
    assert (fast.spec, fast.model_key, fast.dim) == (
        torch_encoder.spec,
        torch_encoder.model_key,
        torch_encoder.dim,
    )
    assert fast.context_length == torch_encoder.context_length
    assert [fast.count_tokens(t) for t in TEXTS] == [torch_encoder.count_tokens(t) for t in TEXTS]


def test_an_export_without_text_tower_embeds_texts_on_torch(
    torch_encoder: TorchEncoder, exported: dict
) -> None:
    """When only the image tower passed its check, texts go to the torch model whole, so
    they are torch's vectors exactly (chunking and counting included)."""
    meta = dict(exported, text=None)
    directory = onnx_cache.export_dir(torch_encoder.model_key)
    with pytest.raises(ValueError, match="no text tower"):
        OnnxEncoder(torch_encoder.spec, directory, meta)
    fast = OnnxEncoder(torch_encoder.spec, directory, meta, text_fallback=torch_encoder)
    ours, ref = fast.encode_texts(TEXTS), torch_encoder.encode_texts(TEXTS)
    np.testing.assert_array_equal(ours.vectors, ref.vectors)
    assert (ours.token_counts, ours.chunks) == (ref.token_counts, ref.chunks)
    pixels = probe_images(fast.preprocess_cfg, 3, seed=7)
    cosines = _cos(fast.encode_image_batch(pixels), torch_encoder.encode_image_batch(pixels))
    assert cosines.min() >= onnx_cache.MIN_COSINE


def test_a_long_index_run_moves_only_a_cpu_torch_model_to_onnx(
    torch_encoder: TorchEncoder, exported: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clipdesk.core.encoder import faster_encoder, worth_a_faster_encoder

    many, few = onnx_backend.EXPORT_AFTER_FILES, onnx_backend.EXPORT_AFTER_FILES - 1
    assert worth_a_faster_encoder(torch_encoder, many)
    assert not worth_a_faster_encoder(torch_encoder, few)
    fast = faster_encoder(torch_encoder, isolated=False)  # the export is cached: no child
    assert isinstance(fast, OnnxEncoder) and fast.model_key == torch_encoder.model_key
    assert not worth_a_faster_encoder(fast, many)
    assert faster_encoder(fast) is fast
    monkeypatch.setenv("CLIPDESK_BACKEND", "onnx")  # asked for by name: even a small run
    assert worth_a_faster_encoder(torch_encoder, few)
    monkeypatch.setenv("CLIPDESK_BACKEND", "torch")
    assert not worth_a_faster_encoder(torch_encoder, many)


def test_a_cache_folder_that_is_a_file_leaves_the_torch_encoder(
    torch_encoder: TorchEncoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No export can be cached, nor its refusal remembered: indexing goes on with torch."""
    blocker = tmp_path / "cache-file"
    blocker.write_text("x")
    monkeypatch.setenv("CLIPDESK_CACHE_DIR", str(blocker))
    assert onnx_backend.upgrade(torch_encoder) is torch_encoder
    assert blocker.read_text() == "x"
