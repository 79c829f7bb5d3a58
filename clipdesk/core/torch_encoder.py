"""An open_clip model on torch turned into normalised image and text vectors.

:func:`load_torch_encoder` builds the model from its installed folder with open_clip's own
``local-dir:`` loader (the same code path as open_clip's hub models, so clipdesk's
vectors are open_clip's vectors), re-parameterises MobileCLIP-style image towers for
inference, and picks device and precision: CUDA in fp16, Apple MPS and CPU in fp32.
torch and open_clip are imported only when a model is loaded. This is also the reference
the ONNX export is checked against.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from clipdesk.core.encoding import (
    Backend,
    LongText,
    TextEmbedding,
    check_pixels,
    embed_images,
    embed_texts,
)
from clipdesk.core.errors import ModelError
from clipdesk.core.models.manifest import weights_digest
from clipdesk.core.models.openclip_config import read_open_clip_config, uses_hf_text
from clipdesk.core.models.registry import ModelSpec, install_dir
from clipdesk.core.preprocess import PreprocessConfig

if TYPE_CHECKING:
    from PIL import Image

PRECISIONS = ("auto", "fp32", "fp16", "bf16")
_DEFAULT_BATCH = {"cuda": 128, "mps": 32, "cpu": 16}


def select_device(preference: str = "auto") -> str:
    """``"cuda"``, ``"mps"`` or ``"cpu"``: the fastest available, or the one asked for."""
    import torch

    preference = (preference or "auto").lower()
    if preference == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if torch.backends.mps.is_available():
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


class TorchEncoder:
    """One model on torch. Calls are serialised by a lock, so one worker thread may use it
    while other threads hold a reference; all outputs are float32 and L2-normalised."""

    backend: Backend = "torch"

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
        self._count = _token_counter(tokenizer)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TorchEncoder({self.model_key}, device={self.device}, dtype={self.dtype})"

    # --- images ---------------------------------------------------------------------

    def encode_image_batch(self, batch: np.ndarray) -> np.ndarray:
        """Preprocessed pixels ``(n, 3, H, W)`` -> ``(n, dim)`` vectors: the indexer's path."""
        batch = check_pixels(batch, self.preprocess_cfg.size)
        if len(batch) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [
            self._run(self.model.encode_image, self._pixels(batch[i : i + self.batch_size]))
            for i in range(0, len(batch), self.batch_size)
        ]
        return np.concatenate(parts)

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        """RGB PIL images -> ``(n, dim)`` vectors, preprocessing them as open_clip would."""
        return embed_images(self, images)

    # --- texts ----------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        """Tokens the model would need for ``text``, start and end tokens included."""
        return self._count(text)

    def encode_texts(self, texts: list[str], *, long_text: LongText = "chunk") -> TextEmbedding:
        """Texts -> vectors. Past the context length, ``"chunk"`` embeds sentence chunks
        and averages them; ``"truncate"`` keeps open_clip's behaviour (drop the rest)."""
        return embed_texts(
            texts,
            long_text=long_text,
            count_tokens=self.count_tokens,
            context_length=self.context_length,
            encode=self.encode_text_list,
            dim=self.dim,
        )

    def encode_text_list(self, texts: list[str]) -> np.ndarray:
        """Texts -> vectors, each cut at the context length as open_clip cuts it (no
        chunking): the reference an ONNX text tower is checked against."""
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
            if str(inputs.device) != self.device:
                inputs = inputs.to(self.device)
            features = fn(inputs).float()
            features = torch.nn.functional.normalize(features, dim=-1)
            return features.cpu().numpy().astype(np.float32, copy=False)


def load_torch_encoder(
    spec: ModelSpec,
    *,
    device: str = "auto",
    threads: int | None = None,
    precision: str = "auto",
    batch_size: int | None = None,
) -> TorchEncoder:
    """The installed model ``spec`` on torch; the caller has checked it is installed."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}")
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

    return TorchEncoder(
        spec,
        model,
        tokenizer,
        preprocess_cfg=PreprocessConfig.from_open_clip(get_model_preprocess_cfg(model)),
        device=dev,
        dtype={"fp16": "float16", "bf16": "bfloat16"}.get(precision, "float32"),
        model_key=f"{spec.name}@{weights_digest(folder)[:12]}",
        dim=int(cfg["model_cfg"]["embed_dim"]),
        context_length=int(tokenizer.context_length),
        batch_size=batch_size or _DEFAULT_BATCH.get(kind, 16),
    )


def _token_counter(tokenizer: Any) -> Callable[[str], int]:
    """How to count ``tokenizer``'s tokens for a text, start and end tokens included."""
    from open_clip.tokenizer import HFTokenizer, SigLipTokenizer, SimpleTokenizer

    if isinstance(tokenizer, SimpleTokenizer):  # open_clip's CLIP BPE
        return lambda text: len(tokenizer.encode(text)) + 2
    if isinstance(tokenizer, HFTokenizer):  # a Hugging Face tokenizer wrapped by open_clip
        return lambda text: len(tokenizer.tokenizer(tokenizer.clean_fn(text))["input_ids"])
    if isinstance(tokenizer, SigLipTokenizer):
        return lambda text: len(tokenizer.tokenizer(text)["input_ids"])
    return lambda text: int((tokenizer([text], context_length=4096) != 0).sum())


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
    # fp16/bf16 run as autocast over these weights (see TorchEncoder._run).
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
    visual = model.visual
    if not any(hasattr(m, "reparameterize") for m in visual.modules()):
        return
    from timm.utils.model import reparameterize_model

    model.visual = reparameterize_model(visual, inplace=True)
