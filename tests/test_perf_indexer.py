"""The faster indexing path stores what the plain one would.

Encoding runs on a background thread while the next batch is decoded, and a large job
on a CPU switches to the ONNX Runtime export of the model first. Neither may change what
ends up in the catalog: every file once, duplicates embedded once, vectors equal to the
torch model's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clipdesk.core import onnx_backend, onnx_cache
from clipdesk.core.encoder import Encoder, load_encoder
from clipdesk.core.imageio import read_image
from clipdesk.core.library import Library
from clipdesk.core.models.testing import save_random_model, tiny_model_config

NAME = "tiny-random"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("perf-models")
    save_random_model(folder / NAME, tiny_model_config(), name=NAME, seed=5)
    return folder


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """Seven photos, two of them the same bytes under different names."""
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(2)
    for i in range(6):
        arr = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
        arr[:, : 40 + 15 * i] //= 3
        Image.fromarray(arr).save(folder / f"p{i}.jpg", quality=90)
    (folder / "z_copy.jpg").write_bytes((folder / "p0.jpg").read_bytes())
    return folder


def _index(library: Library, folder: Path):
    job = library.index([folder], batch_size=2, workers=1)
    try:
        while True:
            next(job)
    except StopIteration as stop:
        return stop.value


def _stored(library: Library, folder: Path) -> dict[str, np.ndarray]:
    key = library.encoder.model_key
    out = {}
    for path in sorted(folder.iterdir()):
        vector = library.catalog.vector_for_file(str(path.resolve()).encode(), key)
        assert vector is not None, path
        out[path.name] = vector
    return out


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_index_stores_every_photo_once_with_torch_vectors(
    backend: str, models: Path, photos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend == "onnx":
        pytest.importorskip("onnxruntime")
        pytest.importorskip("onnx")
        monkeypatch.setattr(onnx_backend, "EXPORT_AFTER_FILES", 5)  # 7 files: worth it
        import clipdesk.core.models.onnx_export as onnx_export

        def not_here(*args: object, **kwargs: object) -> dict:
            raise AssertionError("the export ran in this process, not in a child")

        # An index run exports in a child process, so a window beside it stays responsive.
        monkeypatch.setattr(onnx_export, "export_encoder", not_here)
    monkeypatch.setenv("CLIPDESK_MODELS_DIR", str(models))
    monkeypatch.setenv("CLIPDESK_BACKEND", "torch" if backend == "torch" else "auto")
    with Library.open(tmp_path / "lib", model=NAME, device="cpu") as library:
        report = _index(library, photos)
        assert (report.decoded, report.encoded, report.reused, report.skipped) == (7, 6, 1, 0)
        assert library.encoder.backend == backend
        assert len(library.vectors) == 6
        stored = _stored(library, photos)
        np.testing.assert_array_equal(stored["p0.jpg"], stored["z_copy.jpg"])
        # Every stored vector is the torch fp32 model's vector for that file.
        reference: Encoder = load_encoder(NAME, device="cpu", backend="torch")
        size = reference.preprocess_cfg.size
        images = [read_image(photos / name, target_size=size).image for name in stored]
        expected = reference.encode_images(images)
        cosines = (np.stack(list(stored.values())) * expected).sum(axis=1)
        assert cosines.min() >= 0.999
        # And a photo finds itself first.
        hits = library.similar(photos / "p3.jpg", k=3).hits
        assert Path(hits[0].path).name == "p3.jpg"


def test_small_jobs_do_not_export(
    models: Path, photos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLIPDESK_MODELS_DIR", str(models))
    monkeypatch.setenv("CLIPDESK_BACKEND", "auto")
    with Library.open(tmp_path / "lib", model=NAME, device="cpu") as library:
        report = _index(library, photos)
        assert report.encoded == 6
        assert library.encoder.backend == "torch"
        assert not onnx_cache.export_dir(library.encoder.model_key).exists()
