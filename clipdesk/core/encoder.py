"""The one place an encoder is made: :func:`load_encoder` picks torch or ONNX Runtime.

Callers hold an :class:`~clipdesk.core.encoding.Encoder` and never ask which kind it is;
the choice (and the later move of a torch model onto ONNX Runtime before a long indexing
run, :func:`faster_encoder`) is made here, the only module that knows both
implementations. torch and open_clip are imported only when a torch model is loaded.
"""

from __future__ import annotations

from clipdesk.core import onnx_backend
from clipdesk.core.encoding import Encoder, LongText, TextEmbedding
from clipdesk.core.errors import MissingDependencyError, ModelNotInstalledError
from clipdesk.core.models.manifest import find_weights
from clipdesk.core.models.registry import (
    ModelSpec,
    install_dir,
    is_installed,
    missing_requirements,
    needs_torch_message,
    resolve_model,
    torch_available,
)
from clipdesk.core.onnx_devices import choose_providers, device_of, requested_device
from clipdesk.core.torch_encoder import PRECISIONS, TorchEncoder, load_torch_encoder, select_device

__all__ = [
    "Encoder",
    "LongText",
    "TextEmbedding",
    "expected_device",
    "faster_encoder",
    "load_encoder",
    "select_device",
    "worth_a_faster_encoder",
]


def load_encoder(
    name_or_spec: str | ModelSpec | None = None,
    *,
    device: str = "auto",
    threads: int | None = None,
    precision: str = "auto",
    batch_size: int | None = None,
    backend: str | None = None,
) -> Encoder:
    """Load a model for use. ``None`` means the default model if installed, else the best
    installed one, else the bundled demo (see :func:`registry.resolve_model`).

    ``backend`` (default ``CLIPDESK_BACKEND``, else ``auto``): ``auto`` runs on ONNX
    Runtime when a checked export of the model is cached (no torch import at all) on a
    CPU-only computer or a GPU whose execution provider ONNX Runtime has, ``onnx`` also
    exports it now if needed, ``torch`` never uses ONNX Runtime; see
    :mod:`clipdesk.core.onnx_backend`. ``device`` ``auto`` reads ``CLIPDESK_DEVICE``;
    ``cpu`` keeps ONNX Runtime on the CPU (:mod:`clipdesk.core.onnx_devices`)."""
    spec = name_or_spec if isinstance(name_or_spec, ModelSpec) else resolve_model(name_or_spec)
    if not is_installed(spec):
        how = (
            f"run: clipdesk models download {spec.name}"
            if spec.downloadable
            else "its files are missing"
        )
        raise ModelNotInstalledError(f"model {spec.name} is not installed; {how}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}")
    device = requested_device(device)
    use_onnx = precision in ("auto", "fp32") and onnx_backend.wants_onnx(backend, device)
    # A model installed from an ONNX pack has no weights for torch: ONNX Runtime it is.
    if use_onnx or find_weights(install_dir(spec)) is None:
        fast = onnx_backend.load_onnx_encoder(
            spec, threads=threads, batch_size=batch_size, device=device
        )
        if fast is not None:
            return fast
    if not torch_available():  # a plain install: only ONNX exports can run
        raise MissingDependencyError(needs_torch_message(spec))
    missing = missing_requirements(spec)  # what open_clip needs for this model on torch
    if missing:
        raise MissingDependencyError(
            f"model {spec.name} needs the Python packages {', '.join(missing)}: "
            f"pip install {' '.join(missing)}"
        )
    encoder = load_torch_encoder(
        spec, device=device, threads=threads, precision=precision, batch_size=batch_size
    )
    on_cpu = encoder.device.split(":")[0] == "cpu"
    if use_onnx and on_cpu and onnx_backend.requested_backend(backend) == "onnx":
        return onnx_backend.upgrade(encoder, threads=threads)
    return encoder


def expected_device(device: str = "auto", backend: str | None = None) -> str:
    """The device a model loaded for this request will run on, answered without
    importing torch where ONNX Runtime would run it (or torch is not installed)."""
    device = requested_device(device)
    if onnx_backend.wants_onnx(backend, device) or not torch_available():
        return device_of(choose_providers(device))
    return select_device(device)


def worth_a_faster_encoder(encoder: Encoder, files: int) -> bool:
    """Whether to move ``encoder`` onto ONNX Runtime before embedding ``files`` photos.

    Only a torch model on a CPU gains; exporting costs about a minute once, so it is
    done for a run of at least ``onnx_backend.EXPORT_AFTER_FILES`` photos, or whenever
    the ONNX backend was asked for by name.
    """
    backend = onnx_backend.requested_backend()
    if not isinstance(encoder, TorchEncoder) or not onnx_backend.wants_onnx(
        backend, encoder.device
    ):
        return False
    return files >= onnx_backend.EXPORT_AFTER_FILES or backend == "onnx"


def faster_encoder(encoder: Encoder, *, isolated: bool = True) -> Encoder:
    """``encoder``'s model on ONNX Runtime, exported and checked now if needed, or
    ``encoder`` itself when that is not possible or not better. ``isolated`` exports in a
    child process, so a window running beside the export stays responsive."""
    if not isinstance(encoder, TorchEncoder):
        return encoder
    return onnx_backend.upgrade(encoder, isolated=isolated)
