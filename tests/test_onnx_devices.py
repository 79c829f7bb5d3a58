"""ONNX Runtime on a GPU without torch: the provider chosen in the one encoder factory,
the CPU behind it, and a way to force the CPU.

This computer has no GPU, so the GPU's presence and ONNX Runtime's provider list are
stood in for; the sessions are real, and ONNX Runtime itself falls back to the CPU when
a GPU provider cannot run (``benchmarks/gpu_check.py`` compares real GPU vectors with
the CPU's on a computer that has one).
"""

from __future__ import annotations

import numpy as np
import pytest

from clipdesk.core import onnx_devices
from clipdesk.core.encoder import expected_device, load_encoder
from clipdesk.core.models import get_model
from clipdesk.core.models.onnx_export import PROBE_TEXTS, probe_images
from clipdesk.core.onnx_backend import OnnxEncoder, load_onnx_encoder, wants_onnx
from clipdesk.core.onnx_devices import CPU, choose_providers

CUDA, DML = "CUDAExecutionProvider", "DmlExecutionProvider"


@pytest.fixture
def gpu_here(monkeypatch: pytest.MonkeyPatch):
    """A computer with a GPU whose ONNX Runtime lists CUDA and DirectML."""
    monkeypatch.setattr(onnx_devices, "gpu_may_be_present", lambda: True)
    monkeypatch.setattr(onnx_devices, "available_providers", lambda: (DML, CUDA, CPU))
    monkeypatch.delenv("CLIPDESK_DEVICE", raising=False)


def test_the_best_gpu_provider_leads_and_the_cpu_follows(gpu_here) -> None:
    assert choose_providers("auto") == (CUDA, CPU)
    assert choose_providers("cuda:0") == (CUDA, CPU)
    assert choose_providers("dml") == (DML, CPU)
    assert choose_providers("coreml") == (CPU,)  # not in this ONNX Runtime
    assert choose_providers("cpu") == (CPU,)
    assert wants_onnx(None, "auto") and wants_onnx(None, "cuda")
    assert not wants_onnx("torch", "cuda")


def test_no_gpu_means_the_cpu_without_asking_onnx_runtime(monkeypatch) -> None:
    monkeypatch.setattr(onnx_devices, "gpu_may_be_present", lambda: False)

    def never() -> tuple[str, ...]:
        raise AssertionError("ONNX Runtime was asked for its providers")

    monkeypatch.setattr(onnx_devices, "available_providers", never)
    monkeypatch.delenv("CLIPDESK_DEVICE", raising=False)
    assert choose_providers("auto") == (CPU,)
    assert expected_device("auto") == "cpu"


def test_clipdesk_device_cpu_forces_the_cpu(gpu_here, monkeypatch, tiny_shapes_installed) -> None:
    monkeypatch.setenv("CLIPDESK_DEVICE", "cpu")
    assert choose_providers("auto") == (CPU,)
    encoder = load_encoder(tiny_shapes_installed)
    assert isinstance(encoder, OnnxEncoder)
    assert encoder.providers == (CPU,) and encoder.device == "cpu"
    assert expected_device() == "cpu"


def test_a_gpu_provider_that_cannot_run_falls_back_to_equal_cpu_vectors(
    gpu_here, tiny_shapes_installed
) -> None:
    spec = get_model(tiny_shapes_installed)
    gpu = load_onnx_encoder(spec, device="auto")
    assert isinstance(gpu, OnnxEncoder)
    assert gpu.providers == (CUDA, CPU) and gpu.device == "cuda"
    cpu = load_onnx_encoder(spec, device="cpu")
    assert isinstance(cpu, OnnxEncoder) and cpu.device == "cpu"
    pixels = probe_images(cpu.preprocess_cfg, n=4, seed=3)
    image_cos = (gpu.encode_image_batch(pixels) * cpu.encode_image_batch(pixels)).sum(1)
    text_cos = (gpu.encode_texts(PROBE_TEXTS).vectors * cpu.encode_texts(PROBE_TEXTS).vectors).sum(
        1
    )
    assert image_cos.min() >= 0.999 and text_cos.min() >= 0.999
    assert gpu.device == "cpu"  # this ONNX Runtime has no CUDA: its sessions run on the CPU
    assert float(np.abs(image_cos - 1).max()) < 1e-5
