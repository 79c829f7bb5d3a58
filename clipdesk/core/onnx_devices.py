"""Which ONNX Runtime execution providers run a model: a GPU's where there is one, the CPU
always behind it.

ONNX Runtime runs the same exported towers on CUDA (the ``onnxruntime-gpu`` package),
DirectML (``onnxruntime-directml``, any GPU on Windows) or Core ML (Apple's, in the
macOS package), so a GPU helps without torch. Which providers an install has is asked
of ONNX Runtime only where a GPU may be present: on a Linux computer without a GPU's
device node the answer is the CPU, known without importing ONNX Runtime (a cold search
should not pay for that import twice). The CPU provider is always listed last, so a
node the GPU provider cannot run, or a GPU that fails to start, falls back to it.
``device="cpu"`` (the window's device setting, ``embed --device``, ``CLIPDESK_DEVICE``)
forces the CPU.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache

CPU = "CPUExecutionProvider"
# Preference order, and the device name each provider is reported as.
ACCELERATORS = {
    "CUDAExecutionProvider": "cuda",
    "DmlExecutionProvider": "dml",
    "CoreMLExecutionProvider": "coreml",
}
# What a device request may name, and the providers it asks for.
_REQUESTS = {
    "cuda": ("CUDAExecutionProvider",),
    "dml": ("DmlExecutionProvider",),
    "directml": ("DmlExecutionProvider",),
    "coreml": ("CoreMLExecutionProvider",),
    "mps": ("CoreMLExecutionProvider",),
    "auto": tuple(ACCELERATORS),
}


def requested_device(device: str | None) -> str:
    """The device asked for: ``device`` unless it is ``auto``, else ``CLIPDESK_DEVICE``,
    else ``auto``; lower case, without a ``:index``."""
    value = (device or "auto").strip().lower()
    if value == "auto":
        value = (os.environ.get("CLIPDESK_DEVICE") or "auto").strip().lower()
    return value


def gpu_may_be_present() -> bool:
    """A cheap guess, without importing torch or ONNX Runtime, whether a GPU is here.

    CUDA and ROCm drivers create device nodes; Apple silicon has its GPU; Windows has
    DirectML for any GPU. A wrong "no" costs speed, never correctness.
    """
    if sys.platform == "darwin":
        import platform

        return platform.machine() == "arm64"
    if sys.platform == "win32":
        return True
    return any(os.path.exists(p) for p in ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd"))


@lru_cache(maxsize=1)
def available_providers() -> tuple[str, ...]:
    """The execution providers this ONNX Runtime was built with (not that a GPU works)."""
    import onnxruntime as ort

    return tuple(ort.get_available_providers())


def accelerated_providers(device: str | None) -> tuple[str, ...]:
    """The GPU providers ONNX Runtime has for the request, best first; empty for the CPU,
    for a computer with no GPU, or an ONNX Runtime without that provider."""
    kind = requested_device(device).split(":")[0]
    wanted = _REQUESTS.get(kind, ())
    if not wanted or (kind == "auto" and not gpu_may_be_present()):
        return ()
    have = available_providers()
    return tuple(p for p in wanted if p in have)


def choose_providers(device: str | None) -> tuple[str, ...]:
    """Providers for a session: the best GPU provider for the request, then the CPU's."""
    accelerated = accelerated_providers(device)
    return (*accelerated[:1], CPU)


def device_of(providers: tuple[str, ...] | list[str]) -> str:
    """The device a session with these providers runs on: ``cuda``, ``dml``, ``coreml``
    or ``cpu``."""
    return ACCELERATORS.get(providers[0], "cpu") if providers else "cpu"
