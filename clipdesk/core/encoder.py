"""An open_clip model turned into normalised image and text vectors.

:func:`load_encoder` builds the model from its installed folder with open_clip's own
``local-dir:`` loader (the same code path as open_clip's hub models, so clipdesk's
vectors are open_clip's vectors), re-parameterises MobileCLIP-style image towers for
inference, and picks device and precision: CUDA in fp16, Apple MPS and CPU in fp32.
torch and open_clip are imported only when a model is loaded.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from clipdesk.core.errors import MissingDependencyError, ModelError, ModelNotInstalledError
from clipdesk.core.models.manifest import weights_digest
from clipdesk.core.models.openclip_config import read_open_clip_config, uses_hf_text
from clipdesk.core.models.registry import (
    ModelSpec,
    install_dir,
    is_installed,
    missing_requirements,
    resolve_model,
)
from clipdesk.core.models.text_chunks import split_to_fit
from clipdesk.core.preprocess import PreprocessConfig, preprocess_batch

if TYPE_CHECKING:
    from PIL import Image

LongText = Literal["chunk", "truncate"]
_PRECISIONS = ("auto", "fp32", "fp16", "bf16")
_DEFAULT_BATCH = {"cuda": 128, "mps": 32, "cpu": 16}


@dataclass(frozen=True, slots=True)
class TextEmbedding:
    """Vectors for several texts, and what happened to texts longer than the context."""

    vectors: np.ndarray  # (n, dim) float32, L2-normalised
    truncated: list[bool]  # True where words were dropped (only with long_text="truncate")
    token_counts: list[int]  # tokens of the whole text, start and end tokens included
    chunks: list[int]  # pieces averaged per text (1 unless it was long and chunked)


def select_device(preference: str = "auto") -> str:
    """``"cuda"``, ``"mps"`` or ``"cpu"``: the fastest available, or the one asked for."""
    import torch

    preference = (preference or "auto").lower()
    if preference == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    kind = preference.split(":")[0]
    if kind == "cuda" and not torch.cuda.is_available():
        raise ModelError("CUDA was asked for but no CUDA device is available")
    if kind == "mps" and not torch.backends.mps.is_available():
        raise ModelError("MPS was asked for but it is not available on this computer")
    if kind not in ("cuda", "mps", "cpu"):
        raise ModelError(f"unknown device {preference!r} (use auto, cuda, mps or cpu)")
    return preference


class Encoder:
    """One loaded model. Calls are serialised by a lock, so one worker thread may use it
    while other threads hold a reference; all outputs are float32 and L2-normalised."""

    def __init__(
        self,
        spec: ModelSpec,
        model: Any,
        tokenizer: Any,
        *,
        preprocess_cfg: PreprocessConfig,
        device: str,
        dtype: str,
        model_key: str,
        dim: int,
        context_length: int,
        batch_size: int,
    ) -> None:
        self.spec = spec
        self.model = model
        self.tokenizer = tokenizer
        self.preprocess_cfg = preprocess_cfg
        self.device = device
        self.dtype = dtype
        self.model_key = model_key
        self.dim = dim
        self.context_length = context_length
        self.batch_size = batch_size
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Encoder({self.model_key}, device={self.device}, dtype={self.dtype})"

    # --- images ---------------------------------------------------------------------

    def encode_image_batch(self, batch: np.ndarray) -> np.ndarray:
        """Preprocessed pixels ``(n, 3, H, W)`` -> ``(n, dim)`` vectors: the indexer's path."""
        batch = np.asarray(batch, dtype=np.float32)
        size = self.preprocess_cfg.size
        if batch.ndim != 4 or batch.shape[1:] != (3, size, size):
            raise ValueError(f"expected a batch of shape (n, 3, {size}, {size}), got {batch.shape}")
        if len(batch) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [
            self._run(self.model.encode_image, self._pixels(batch[i : i + self.batch_size]))
            for i in range(0, len(batch), self.batch_size)
        ]
        return np.concatenate(parts)

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        """RGB PIL images -> ``(n, dim)`` vectors, preprocessing them as open_clip would."""
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        step = self.batch_size
        parts = [
            self.encode_image_batch(preprocess_batch(images[i : i + step], self.preprocess_cfg))
            for i in range(0, len(images), step)
        ]
        return np.concatenate(parts)

    # --- texts ----------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        """Tokens the model would need for ``text``, start and end tokens included."""
        tok = self.tokenizer
        if hasattr(tok, "encode") and hasattr(tok, "sot_token_id"):  # open_clip's CLIP BPE
            return len(tok.encode(text)) + 2
        inner = getattr(tok, "tokenizer", None)
        if inner is not None:  # a Hugging Face tokenizer wrapped by open_clip
            clean = getattr(tok, "clean_fn", lambda s: s)
            return len(inner(clean(text))["input_ids"])
        ids = tok([text], context_length=4096)
        return int((ids != 0).sum())

    def encode_texts(self, texts: list[str], *, long_text: LongText = "chunk") -> TextEmbedding:
        """Texts -> vectors. Past the context length, ``"chunk"`` embeds sentence chunks
        and averages them; ``"truncate"`` keeps open_clip's behaviour (drop the rest)."""
        if long_text not in ("chunk", "truncate"):
            raise ValueError(f"long_text must be 'chunk' or 'truncate', not {long_text!r}")
        counts = [self.count_tokens(t) for t in texts]
        pieces: list[list[str]] = []
        truncated: list[bool] = []
        for text, count in zip(texts, counts, strict=True):
            if count <= self.context_length or long_text == "truncate":
                pieces.append([text])
                truncated.append(count > self.context_length)
            else:
                chunks = split_to_fit(text, self.count_tokens, self.context_length)
                pieces.append(chunks)
                truncated.append(any(self.count_tokens(c) > self.context_length for c in chunks))
        flat = [p for group in pieces for p in group]
        vectors = self._encode_text_list(flat)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        start = 0
        for i, group in enumerate(pieces):
            mean = vectors[start : start + len(group)].mean(axis=0)
            out[i] = mean / max(float(np.linalg.norm(mean)), 1e-12)
            start += len(group)
        return TextEmbedding(out, truncated, counts, [len(g) for g in pieces])

    def _encode_text_list(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = []
        for i in range(0, len(texts), self.batch_size):
            tokens = self.tokenizer(texts[i : i + self.batch_size])
            parts.append(self._run(self.model.encode_text, tokens))
        return np.concatenate(parts)

    # --- torch ----------------------------------------------------------------------

    def _pixels(self, batch: np.ndarray) -> Any:
        import torch

        tensor = torch.from_numpy(np.ascontiguousarray(batch))
        return tensor.to(self.device, non_blocking=True)

    def _run(self, fn: Any, inputs: Any) -> np.ndarray:
        import contextlib

        import torch

        # Half precision is autocast over fp32 weights: matrix products run in fp16/bf16,
        # layer norms, softmax and the final normalisation stay in fp32.
        low = {"float16": torch.float16, "bfloat16": torch.bfloat16}.get(self.dtype)
        kind = self.device.split(":")[0]
        autocast = torch.autocast(device_type=kind, dtype=low) if low else contextlib.nullcontext()
        with self._lock, torch.inference_mode(), autocast:
            if not hasattr(inputs, "device") or str(inputs.device) != self.device:
                inputs = inputs.to(self.device)
            features = fn(inputs).float()
            features = torch.nn.functional.normalize(features, dim=-1)
            return features.cpu().numpy().astype(np.float32, copy=False)


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
    Runtime on a CPU-only computer when a checked export of the model is cached (no
    torch import at all), ``onnx`` also exports it now if needed, ``torch`` never uses
    ONNX Runtime; see :mod:`clipdesk.core.onnx_backend`."""
    spec = name_or_spec if isinstance(name_or_spec, ModelSpec) else resolve_model(name_or_spec)
    if not is_installed(spec):
        how = (
            f"run: clipdesk models download {spec.name}"
            if spec.downloadable
            else "its files are missing"
        )
        raise ModelNotInstalledError(f"model {spec.name} is not installed; {how}")
    missing = missing_requirements(spec)
    if missing:
        raise MissingDependencyError(
            f"model {spec.name} needs the Python packages {', '.join(missing)}: "
            f"pip install {' '.join(missing)}"
        )
    if precision not in _PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(_PRECISIONS)}")
    from clipdesk.core import onnx_backend

    use_onnx = precision in ("auto", "fp32") and onnx_backend.wants_onnx(backend, device)
    if use_onnx:
        fast = onnx_backend.load_onnx_encoder(spec, threads=threads, batch_size=batch_size)
        if fast is not None:
            return fast

    import torch

    if threads:
        torch.set_num_threads(int(threads))
    dev = select_device(device)
    kind = dev.split(":")[0]
    if precision == "auto":
        precision = "fp16" if kind == "cuda" else "fp32"
    folder = install_dir(spec)
    model, tokenizer = _build(folder, dev)
    cfg = read_open_clip_config(folder)
    from open_clip import get_model_preprocess_cfg

    preprocess_cfg = PreprocessConfig.from_open_clip(get_model_preprocess_cfg(model))
    encoder = Encoder(
        spec,
        model,
        tokenizer,
        preprocess_cfg=preprocess_cfg,
        device=dev,
        dtype={"fp16": "float16", "bf16": "bfloat16"}.get(precision, "float32"),
        model_key=f"{spec.name}@{weights_digest(folder)[:12]}",
        dim=int(cfg["model_cfg"]["embed_dim"]),
        context_length=int(tokenizer.context_length),
        batch_size=batch_size or _DEFAULT_BATCH.get(kind, 16),
    )
    if use_onnx and kind == "cpu" and onnx_backend.requested_backend(backend) == "onnx":
        return onnx_backend.upgrade(encoder, threads=threads)
    return encoder


def _build(folder: Path, device: str) -> tuple[Any, Any]:
    """open_clip model and tokenizer from a model folder, never touching the network."""
    import open_clip

    cfg = read_open_clip_config(folder)
    overrides: dict[str, Any] = {}
    if uses_hf_text(cfg["model_cfg"]):
        # The Hugging Face tower's config and tokenizer were installed beside the weights.
        text_cfg = dict(cfg["model_cfg"]["text_cfg"])
        text_cfg.update(
            hf_model_name=str(folder), hf_tokenizer_name=str(folder), hf_model_pretrained=False
        )
        overrides["text_cfg"] = text_cfg
    # Always built in fp32: re-parameterisation folds batch norms at full precision, and
    # fp16/bf16 run as autocast over these weights (see Encoder._run).
    model = open_clip.create_model(
        f"local-dir:{folder}",
        precision="fp32",
        device=device,
        weights_only=True,
        require_pretrained=True,
        **overrides,
    )
    tokenizer = open_clip.get_tokenizer(f"local-dir:{folder}")
    model.eval()
    _reparameterize(model)
    return model, tokenizer


def _reparameterize(model: Any) -> None:
    """Fold MobileOne/FastViT training branches into single convolutions for inference."""
    visual = getattr(model, "visual", None)
    if visual is None or not any(hasattr(m, "reparameterize") for m in visual.modules()):
        return
    from timm.utils.model import reparameterize_model

    model.visual = reparameterize_model(visual, inplace=True)
