"""What an encoder is: the :class:`Encoder` protocol every implementation satisfies.

There are two implementations, each whole on its own: torch running open_clip
(:mod:`clipdesk.core.torch_encoder`) and ONNX Runtime running towers exported from it
(:mod:`clipdesk.core.onnx_backend`). :func:`clipdesk.core.encoder.load_encoder` is the one
factory that picks between them, so callers never ask which kind they hold.

This module imports neither implementation, so both can depend on it without a cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

import numpy as np

from clipdesk.core.models.text_chunks import split_to_fit
from clipdesk.core.preprocess import preprocess_batch

if TYPE_CHECKING:
    from PIL import Image

    from clipdesk.core.models.registry import ModelSpec
    from clipdesk.core.preprocess import PreprocessConfig

Backend = Literal["torch", "onnx"]
LongText = Literal["chunk", "truncate"]


@dataclass(frozen=True, slots=True)
class TextEmbedding:
    """Vectors for several texts, and what happened to texts longer than the context."""

    vectors: np.ndarray  # (n, dim) float32, L2-normalised
    truncated: list[bool]  # True where words were dropped (only with long_text="truncate")
    token_counts: list[int]  # tokens of the whole text, start and end tokens included
    chunks: list[int]  # pieces averaged per text (1 unless it was long and chunked)


@runtime_checkable
class Encoder(Protocol):
    """One loaded model turning photos and texts into comparable unit vectors.

    Calls may come from several threads; an implementation serialises them itself. Every
    output is float32 and L2-normalised. Two encoders with the same ``model_key`` give the
    same vectors (to cosine >= 0.999), whatever their backend, so they share one index.
    """

    backend: Backend  # which implementation runs the model
    spec: ModelSpec  # the registry entry it was loaded from
    model_key: str  # name@weights-digest: what the vectors are stored under
    dim: int  # length of every vector
    preprocess_cfg: PreprocessConfig  # how photos are turned into pixels for it
    device: str  # "cpu", "cuda", "cuda:1", "mps"
    dtype: str  # "float32", "float16", "bfloat16", or "int8" for a quantised ONNX tower
    context_length: int  # tokens a text may have, start and end tokens included
    batch_size: int  # how many inputs go through the model at once

    def encode_image_batch(self, batch: np.ndarray) -> np.ndarray:
        """Preprocessed pixels ``(n, 3, H, W)`` -> ``(n, dim)`` vectors: the indexer's path."""
        ...

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        """RGB PIL images -> ``(n, dim)`` vectors, preprocessing them as open_clip would."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens the model would need for ``text``, start and end tokens included."""
        ...

    def encode_texts(self, texts: list[str], *, long_text: LongText = "chunk") -> TextEmbedding:
        """Texts -> vectors. Past the context length, ``"chunk"`` embeds sentence chunks
        and averages them; ``"truncate"`` keeps open_clip's behaviour (drop the rest)."""
        ...


def embed_texts(
    texts: list[str],
    *,
    long_text: LongText,
    count_tokens: Callable[[str], int],
    context_length: int,
    encode: Callable[[list[str]], np.ndarray],
    dim: int,
) -> TextEmbedding:
    """The long-text rule both implementations share, so they chunk identically.

    ``encode`` embeds texts that are each cut at the context length (open_clip's rule)
    and returns normalised vectors; chunks of one text are averaged and normalised again.
    """
    if long_text not in ("chunk", "truncate"):
        raise ValueError(f"long_text must be 'chunk' or 'truncate', not {long_text!r}")
    counts = [count_tokens(t) for t in texts]
    pieces: list[list[str]] = []
    truncated: list[bool] = []
    for text, count in zip(texts, counts, strict=True):
        if count <= context_length or long_text == "truncate":
            pieces.append([text])
            truncated.append(count > context_length)
        else:
            chunks = split_to_fit(text, count_tokens, context_length)
            pieces.append(chunks)
            truncated.append(any(count_tokens(c) > context_length for c in chunks))
    flat = [p for group in pieces for p in group]
    vectors = encode(flat) if flat else np.zeros((0, dim), dtype=np.float32)
    out = np.empty((len(texts), dim), dtype=np.float32)
    start = 0
    for i, group in enumerate(pieces):
        mean = vectors[start : start + len(group)].mean(axis=0)
        out[i] = mean / max(float(np.linalg.norm(mean)), 1e-12)
        start += len(group)
    return TextEmbedding(out, truncated, counts, [len(g) for g in pieces])


def check_pixels(batch: np.ndarray, size: int) -> np.ndarray:
    """``batch`` as float32, refused unless it is ``(n, 3, size, size)``."""
    batch = np.asarray(batch, dtype=np.float32)
    if batch.ndim != 4 or batch.shape[1:] != (3, size, size):
        raise ValueError(f"expected a batch of shape (n, 3, {size}, {size}), got {batch.shape}")
    return batch


def normalise(features: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, as float32 (a zero row stays zero)."""
    features = features.astype(np.float32, copy=False)
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    return features / np.maximum(norms, 1e-12)


def embed_images(encoder: Encoder, images: list[Image.Image]) -> np.ndarray:
    """RGB PIL images -> ``(n, dim)`` vectors, preprocessed as open_clip would, a batch at
    a time: the one way both backends' ``encode_images`` turn pictures into pixels."""
    if not images:
        return np.zeros((0, encoder.dim), dtype=np.float32)
    step = encoder.batch_size
    parts = [
        encoder.encode_image_batch(preprocess_batch(images[i : i + step], encoder.preprocess_cfg))
        for i in range(0, len(images), step)
    ]
    return np.concatenate(parts)
