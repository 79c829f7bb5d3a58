"""ONNX Runtime's optimised graphs, cached per model file: made once, used by the next
session, never for another file, and never a reason for a session to fail."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from clipdesk.core import onnx_optimised, paths
from clipdesk.core.models.onnx_export import probe_images
from clipdesk.core.onnx_cache import make_session
from clipdesk.core.onnx_optimised import FOLDER
from clipdesk.core.preprocess import PreprocessConfig

SHIPPED = paths.resources_dir() / "models" / "tiny-shapes" / "onnx"


def _image_tower(tmp_path: Path) -> Path:
    source = next(SHIPPED.glob("image*.onnx"))
    copy = tmp_path / source.name
    shutil.copy2(source, copy)
    return copy


def _run(session) -> np.ndarray:
    size = session.get_inputs()[0].shape[-1]
    pixels = probe_images(PreprocessConfig(int(size)), n=2, seed=1)
    return session.run(None, {"pixels": pixels})[0]


def test_the_optimised_copy_is_made_once_and_answers_alike(tmp_path: Path) -> None:
    model = _image_tower(tmp_path)
    plain = _run(make_session(model))  # an export's candidate: nothing cached
    assert not (paths.cache_dir() / FOLDER).exists()
    first = _run(make_session(model, keep_optimised=True))
    import onnxruntime as ort

    copy = onnx_optimised.optimised_path(model, ort.__version__)
    assert copy is not None and copy.is_file()
    weights = copy.parent / onnx_optimised.WEIGHTS_NAME  # mapped at start, not parsed
    assert weights.stat().st_size > 10 * copy.stat().st_size
    made = copy.stat().st_mtime_ns
    second = _run(make_session(model, keep_optimised=True))
    unpacked = _run(make_session(model, keep_optimised=True, prepack=False))
    assert copy.stat().st_mtime_ns == made  # loaded, not made again
    np.testing.assert_allclose(first, plain, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(second, plain, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(unpacked, plain, rtol=1e-5, atol=1e-5)
    assert not list(paths.cache_dir().glob(f"{FOLDER}/.*.tmp"))

    text = next(SHIPPED.glob("text*.onnx"))
    shutil.copy(text, model)  # other bytes at the same path: never the old copy
    assert onnx_optimised.optimised_path(model, ort.__version__) != copy
    assert onnx_optimised.optimised_path(text, "0.0.0") != onnx_optimised.optimised_path(
        text, ort.__version__
    )


def test_a_broken_copy_or_an_unwritable_cache_still_gives_a_session(tmp_path: Path) -> None:
    import onnxruntime as ort

    model = _image_tower(tmp_path)
    reference = _run(make_session(model))
    copy = onnx_optimised.optimised_path(model, ort.__version__)
    assert copy is not None
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_bytes(b"not a model")
    np.testing.assert_allclose(_run(make_session(model, keep_optimised=True)), reference, atol=1e-6)
    assert copy.is_file() and copy.read_bytes() != b"not a model"  # made again

    shutil.rmtree(paths.cache_dir())
    paths.cache_dir().parent.mkdir(parents=True, exist_ok=True)
    paths.cache_dir().write_bytes(b"a file where the cache folder should be")
    np.testing.assert_allclose(_run(make_session(model, keep_optimised=True)), reference, atol=1e-6)


def test_a_copy_that_cannot_be_saved_still_gives_a_session(tmp_path: Path, monkeypatch) -> None:
    """ONNX Runtime fails a session whose optimised copy it cannot write (a full disk);
    clipdesk then makes the session without keeping a copy."""
    model = _image_tower(tmp_path)
    reference = _run(make_session(model))
    nowhere = tmp_path / "no-such-folder" / "copy.onnx.tmp"
    monkeypatch.setattr(onnx_optimised, "writing_path", lambda _target: nowhere)
    np.testing.assert_allclose(_run(make_session(model, keep_optimised=True)), reference, atol=1e-6)
    assert not nowhere.exists()


def test_a_new_copy_replaces_the_single_file_copy_of_earlier_releases(tmp_path: Path) -> None:
    import onnxruntime as ort

    model = _image_tower(tmp_path)
    copy = onnx_optimised.optimised_path(model, ort.__version__)
    assert copy is not None
    legacy = copy.parent.with_name(f"{copy.parent.name}.onnx")
    legacy.parent.mkdir(parents=True, exist_ok=True)
    legacy.write_bytes(b"a whole optimised model, as earlier releases kept it")
    reference = _run(make_session(model))
    np.testing.assert_allclose(_run(make_session(model, keep_optimised=True)), reference, atol=1e-6)
    assert copy.is_file() and not legacy.exists()


def test_a_half_written_copy_left_by_a_killed_process_is_removed(tmp_path: Path) -> None:
    import os
    import time

    import onnxruntime as ort

    model = _image_tower(tmp_path)
    copy = onnx_optimised.optimised_path(model, ort.__version__)
    assert copy is not None
    abandoned = copy.parent.with_name(f".{copy.parent.name}.99999-1.tmp")
    writing = copy.parent.with_name(f".{copy.parent.name}.99998-1.tmp")  # a live writer's
    for folder in (abandoned, writing):
        folder.mkdir(parents=True)
        (folder / onnx_optimised.WEIGHTS_NAME).write_bytes(b"half of a model")
    hours_ago = time.time() - 2 * onnx_optimised.ABANDONED_AFTER_S
    os.utime(abandoned, (hours_ago, hours_ago))
    reference = _run(make_session(model))
    np.testing.assert_allclose(_run(make_session(model, keep_optimised=True)), reference, atol=1e-6)
    assert copy.is_file() and not abandoned.exists() and writing.exists()
