"""Export a torch encoder's towers to ONNX once, quantise them, and keep what checks out.

Each tower is exported in fp32 with a dynamic batch axis and quantised with ONNX
Runtime's dynamic int8 quantisation (per-channel weights, matrix products only: the
token embedding and layer norms stay fp32, which is what keeps the text tower within
tolerance). Every candidate is compared with the torch fp32 model on probe inputs; the
fastest one whose cosine to torch is at least ``MIN_COSINE`` on every probe is kept,
and ``meta.json`` is written last so a half-written export is never used.

Why per model and not once for all: quantisation error depends on the weights, so the
check runs on the weights the user actually has. Needs torch, onnx and onnxruntime.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from clipdesk.core.clip_tokenizer import CLEANERS
from clipdesk.core.errors import ExportError
from clipdesk.core.hf_tokenizer import HF_TOKENIZER_NAME, save_hf_tokenizer
from clipdesk.core.models.manifest import write_json_atomic
from clipdesk.core.models.openclip_config import read_open_clip_config, uses_hf_text
from clipdesk.core.models.registry import install_dir
from clipdesk.core.onnx_cache import (
    EXPORT_FORMAT,
    META_NAME,
    MIN_COSINE,
    QUANTISED_MARGIN,
    export_dir,
    make_session,
    trim_tokens,
)
from clipdesk.core.preprocess import PreprocessConfig

if TYPE_CHECKING:
    from clipdesk.core.torch_encoder import TorchEncoder

OPSET = 17
PROBE_TEXTS = [
    "a photo of a dog",
    "two people walking on a beach at sunset",
    "a red bicycle leaning against a brick wall",
    "birthday cake with candles",
    "snow",
    "a blurry picture of a street at night with cars and neon signs",
    "my grandmother's kitchen",
    "a screenshot of a spreadsheet",
    "Geburtstagskuchen mit Kerzen",
    "a close-up of a yellow flower in a green field, shallow depth of field, bokeh",
    "3 cats",
    "the Eiffel tower",
]


def probe_images(cfg: PreprocessConfig, n: int = 12, seed: int = 0) -> np.ndarray:
    """Photo-like model inputs: gradients, blobs and sensor noise, normalised like real ones."""
    rng = np.random.default_rng(seed)
    size = cfg.size
    yy, xx = np.mgrid[0:size, 0:size] / size
    images = []
    for _ in range(n):
        top, bottom = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
        img = top * (1 - yy[..., None]) + bottom * yy[..., None]
        for _ in range(rng.integers(2, 7)):
            cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.05, 0.35)
            mask = ((xx - cx) ** 2 + (yy - cy) ** 2) < r * r
            img[mask] = rng.uniform(0, 1, 3)
        img = np.clip(img + rng.normal(0, 0.03, img.shape), 0, 1)
        images.append(img.transpose(2, 0, 1))
    mean = np.asarray(cfg.mean, dtype=np.float32)[:, None, None]
    std = np.asarray(cfg.std, dtype=np.float32)[:, None, None]
    return ((np.stack(images).astype(np.float32) - mean) / std).astype(np.float32)


def tokenizer_info(encoder: TorchEncoder) -> dict[str, Any] | None:
    """How to rebuild the encoder's tokenizer without torch, or None if that is not possible.

    CLIP's BPE is rebuilt from its vocabulary; a Hugging Face tokenizer (XLM-RoBERTa's)
    from the ``tokenizer.json`` the export saves beside the towers, in open_clip's
    default mode only (no separator stripping, no special modes)."""
    folder = install_dir(encoder.spec)
    text_cfg = read_open_clip_config(folder)["model_cfg"].get("text_cfg", {})
    kwargs = dict(text_cfg.get("tokenizer_kwargs", {}))
    if uses_hf_text({"text_cfg": text_cfg}) or text_cfg.get("hf_tokenizer_name"):
        clean = kwargs.pop("clean", "whitespace")
        wrapper = encoder.tokenizer
        if (
            kwargs
            or type(wrapper).__name__ != "HFTokenizer"
            or wrapper.strip_sep_token
            or wrapper.tokenizer_mode
            or clean not in CLEANERS
            or wrapper.tokenizer.pad_token_id is None
        ):
            return None
        return {
            "kind": "hf",
            "file": HF_TOKENIZER_NAME,
            "clean": clean,
            "pad_id": int(wrapper.tokenizer.pad_token_id),
            "context_length": encoder.context_length,
        }
    clean = kwargs.pop("clean", "lower")
    if kwargs or type(encoder.tokenizer).__name__ != "SimpleTokenizer" or clean not in CLEANERS:
        return None
    return {"kind": "clip-bpe", "clean": clean, "context_length": encoder.context_length}


def _towers(model: Any) -> tuple[Any, Any, bool]:
    import torch

    class ImageTower(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, pixels: torch.Tensor) -> torch.Tensor:
            return self.model.encode_image(pixels)

    class TextTower(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            return self.model.encode_text(tokens)

    class TrimmedTextTower(torch.nn.Module):
        """open_clip's ``CLIP.encode_text`` for inputs cut after the last end token.

        Attention is causal and the output is read at the end token, so the padding
        after it never influences the result: a five-word query needs 8 positions of
        the 77, about a tenth of the work. Attention is written out here because the
        exporter bakes the sequence length into ``nn.MultiheadAttention``'s reshapes.
        """

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            m = self.model
            length = tokens.shape[1]
            mask = m.attn_mask[:length, :length]
            x = m.token_embedding(tokens)
            x = x + m.positional_embedding[:length]
            for block in m.transformer.resblocks:
                x = x + block.ls_1(_attention(block.attn, block.ln_1(x), mask))
                x = x + block.ls_2(block.mlp(block.ln_2(x)))
            x = m.ln_final(x)
            x = x[torch.arange(x.shape[0]), tokens.argmax(dim=-1)]
            if isinstance(m.text_projection, torch.nn.Linear):
                return m.text_projection(x)
            return x @ m.text_projection

    trimmable = _trimmable(model)
    text = TrimmedTextTower() if trimmable else TextTower()
    return ImageTower().eval(), text.eval(), trimmable


def _attention(attn: Any, x: Any, mask: Any) -> Any:
    """``nn.MultiheadAttention`` (batch first, self-attention, no weights returned)
    in plain operations whose shapes follow the input."""
    import torch

    qkv = torch.nn.functional.linear(x, attn.in_proj_weight, attn.in_proj_bias)
    q, k, v = (t.unflatten(-1, (attn.num_heads, -1)).transpose(1, 2) for t in qkv.chunk(3, -1))
    scores = (q @ k.transpose(-2, -1)) * (attn.head_dim**-0.5) + mask.to(q.dtype)
    out = (scores.softmax(dim=-1) @ v).transpose(1, 2).flatten(2)
    return attn.out_proj(out)


def _trimmable(model: Any) -> bool:
    """True for open_clip's own text tower with causal attention and end-token pooling."""
    import torch

    if (
        getattr(model, "text_pool_type", None) != "argmax"
        or getattr(model, "attn_mask", None) is None
    ):
        return False
    if not all(hasattr(model, a) for a in ("token_embedding", "positional_embedding", "ln_final")):
        return False
    transformer = getattr(model, "transformer", None)
    if transformer is None or not getattr(transformer, "batch_first", True):
        return False
    for block in transformer.resblocks:
        attn = getattr(block, "attn", None)
        if (
            type(block).__name__ != "ResidualAttentionBlock"
            or hasattr(block, "ln_1_kv")
            or not isinstance(attn, torch.nn.MultiheadAttention)
            or not attn.batch_first
            or not attn._qkv_same_embed_dim
            or attn.bias_k is not None
            or attn.add_zero_attn
        ):
            return False
    return transformer.get_cast_dtype() == torch.float32


def _export(
    module: Any, example: Any, path: Path, input_name: str, *, dynamic_length: bool = False
) -> None:
    import torch

    # With gradients off, torch's attention takes a fused fast path that the ONNX
    # exporter cannot translate; with them on it traces the plain operations.
    with warnings.catch_warnings(), torch.inference_mode(False), torch.enable_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (example,),
            str(path),
            dynamo=False,
            input_names=[input_name],
            output_names=["features"],
            dynamic_axes={
                input_name: {0: "batch", 1: "length"} if dynamic_length else {0: "batch"},
                "features": {0: "batch"},
            },
            opset_version=OPSET,
            do_constant_folding=True,
        )


def _quantise(source: Path, target: Path) -> None:
    """Dynamic int8 with 7-bit weights (``reduce_range``). On processors without VNNI
    (many AMD and older Intel ones) ONNX Runtime's int8 kernels add pairs of 8-bit
    products in 16 bits, which saturate with full-range weights: a random ViT-B-32 image
    tower quantised that way reached cosine 0.994 to fp32 on such a processor and
    failed the check, 0.9998 with 7-bit weights. A tower is checked where it is
    exported and runs wherever its pack goes, so it is quantised to hold on both."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logger = logging.getLogger()
    level = logger.level
    logger.setLevel(logging.ERROR)  # "consider pre-processing" is advice, not a problem
    try:
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=True,
            op_types_to_quantize=["MatMul", "Gemm"],
        )
    finally:
        logger.setLevel(level)


def _cosines(
    session: Any, name: str, inputs: np.ndarray, reference: np.ndarray, pad_id: int
) -> np.ndarray:
    if name == "tokens":  # one by one, cut as the encoder will cut them
        out = np.concatenate(
            [session.run(None, {name: trim_tokens(t[None], pad_id)})[0] for t in inputs]
        )
    else:
        out = session.run(None, {name: inputs})[0]
    out = out.astype(np.float32)
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return (out * reference).sum(axis=1)


def _check(
    tower: str,
    fp32: Path,
    inputs: np.ndarray,
    reference: np.ndarray,
    quantise: bool,
    threads: int | None,
    pad_id: int = 0,
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """Quantise if asked, measure each candidate, pick the fastest that holds."""
    name = "pixels" if tower == "image" else "tokens"
    candidates = []
    results: list[dict[str, Any]] = []
    if quantise:
        int8 = fp32.with_name(f"{tower}.int8.onnx")
        try:
            _quantise(fp32, int8)
            candidates.append(("int8", int8))
        except Exception as exc:  # the quantiser rejects some graphs: fp32 still helps
            results.append({"precision": "int8", "error": f"{type(exc).__name__}: {exc}"[:300]})
    candidates.append(("float32", fp32))
    chosen = None
    for precision, path in candidates:
        cos = _cosines(make_session(path, threads), name, inputs, reference, pad_id)
        entry = {
            "file": path.name,
            "precision": precision,
            "min_cosine": round(float(cos.min()), 6),
            "mean_cosine": round(float(cos.mean()), 6),
            "size": path.stat().st_size,
        }
        results.append(entry)
        if chosen is None and float(cos.min()) >= required_cosine(precision):
            chosen = entry
    return chosen, results


def required_cosine(precision: str) -> float:
    """The least cosine to torch fp32 a tower of this precision must reach on every probe."""
    return MIN_COSINE if precision == "float32" else MIN_COSINE + QUANTISED_MARGIN


def export_encoder(
    encoder: TorchEncoder,
    *,
    quantise: bool = True,
    keep_all: bool = False,
    directory: Path | None = None,
    threads: int | None = None,
) -> dict[str, Any]:
    """Export, check and cache ``encoder``'s towers; returns the metadata written.

    The encoder must be the torch fp32 CPU one (the reference). ``keep_all`` keeps every
    candidate file (for benchmarks); otherwise only the chosen ones stay on disk.
    """
    if encoder.backend != "torch" or encoder.dtype != "float32":
        raise ValueError("export from the torch fp32 encoder (it is also the reference)")
    started = time.monotonic()
    target = directory or export_dir(encoder.model_key)
    work = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        meta = _export_into(encoder, work, quantise=quantise, threads=threads)
        if not keep_all:
            keep = {meta[t]["file"] for t in ("image", "text") if meta.get(t)}
            for path in work.glob("*.onnx"):
                if path.name not in keep:
                    path.unlink()
        meta["export_seconds"] = round(time.monotonic() - started, 1)
        write_json_atomic(work / META_NAME, meta)
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return meta


def _export_into(
    encoder: TorchEncoder, work: Path, *, quantise: bool, threads: int | None
) -> dict[str, Any]:
    import torch

    image_tower, text_tower, trimmable = _towers(encoder.model)
    pixels = probe_images(encoder.preprocess_cfg)
    reference_images = encoder.encode_image_batch(pixels)
    try:
        _export(image_tower, torch.from_numpy(pixels[:2]), work / "image.onnx", "pixels")
    except Exception as exc:
        raise ExportError(f"the image tower cannot be exported: {exc}") from exc
    image, image_results = _check(
        "image", work / "image.onnx", pixels, reference_images, quantise, threads
    )
    tok = tokenizer_info(encoder)
    text, text_results = None, []
    if tok is not None:
        # A Hugging Face tower attends to the tokens that are not padding and pools over
        # them, so padding cut off changes nothing (the checks below would show it).
        trimmable = trimmable or tok["kind"] == "hf"
        pad_id = int(tok.get("pad_id", 0))
        tokens = np.asarray(encoder.tokenizer(PROBE_TEXTS), dtype=np.int64)
        reference_texts = encoder.encode_text_list(PROBE_TEXTS)
        with contextlib.suppress(Exception):  # a text tower that will not export: use torch
            if tok["kind"] == "hf":
                save_hf_tokenizer(encoder.tokenizer.tokenizer, work / HF_TOKENIZER_NAME)
            example = torch.from_numpy(tokens[:2])
            _export(text_tower, example, work / "text.onnx", "tokens", dynamic_length=trimmable)
            text, text_results = _check(
                "text", work / "text.onnx", tokens, reference_texts, quantise, threads, pad_id
            )
            if text is not None:
                text["trim"] = trimmable
    return {
        "format": EXPORT_FORMAT,
        "model_key": encoder.model_key,
        "model": encoder.spec.name,
        "dim": encoder.dim,
        "preprocess": encoder.preprocess_cfg.to_open_clip(),
        "tokenizer": tok or {"kind": "other", "context_length": encoder.context_length},
        "image": image,
        "text": text,
        "checks": {"image": image_results, "text": text_results, "min_cosine": MIN_COSINE},
        "versions": _versions(),
        "created_at": time.time(),
    }


def _versions() -> dict[str, Any]:
    from importlib.metadata import version

    return {"torch": version("torch"), "onnxruntime": version("onnxruntime"), "opset": OPSET}


def write_refusal(encoder: TorchEncoder, reason: str) -> None:
    """Remember that this model cannot be exported, so indexing does not retry each time.

    Only a cache: when its folder cannot be written (a file in the way, a read-only
    disk) nothing is remembered and indexing goes on with torch.
    """
    target = export_dir(encoder.model_key)
    meta = {
        "format": EXPORT_FORMAT,
        "model_key": encoder.model_key,
        "image": None,
        "text": None,
        "refused": reason[:500],
        "versions": _versions(),
        "created_at": time.time(),
    }
    with contextlib.suppress(OSError):
        target.mkdir(parents=True, exist_ok=True)
        write_json_atomic(target / META_NAME, meta)


def describe(meta: dict[str, Any]) -> str:
    """One line for logs: which precision each tower got and how close it came."""
    parts = []
    for tower in ("image", "text"):
        entry = meta.get(tower)
        parts.append(
            f"{tower}: {entry['precision']} (cos {entry['min_cosine']:.5f})"
            if entry
            else f"{tower}: torch"
        )
    return ", ".join(parts)


__all__ = [
    "ExportError",
    "describe",
    "export_encoder",
    "probe_images",
    "tokenizer_info",
    "write_refusal",
]
