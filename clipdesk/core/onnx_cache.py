"""Where exported ONNX towers are kept, how a complete export is recognised, how one runs.

Shared by the exporter (:mod:`clipdesk.core.models.onnx_export`), which writes the cache,
and the ONNX Runtime encoder (:mod:`clipdesk.core.onnx_backend`), which reads it. Living
apart from both is what lets the encoder call the exporter without an import cycle.

Exports are cached under ``paths.cache_dir() / "onnx" / <model_key>``; ``meta.json``,
written last, names the checked files. A model folder may also hold its own export in
``onnx/`` (tiny-shapes ships one; an ONNX pack installs one), used before the cache.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from clipdesk.core import paths
from clipdesk.core.files import safe_file_name
from clipdesk.core.models.manifest import PACKED_DIR, find_weights, weights_digest
from clipdesk.core.models.registry import ModelSpec, install_dir
from clipdesk.core.onnx_devices import CPU

EXPORT_FORMAT = 3  # 3: quantised towers must clear MIN_COSINE with QUANTISED_MARGIN
META_NAME = "meta.json"
MIN_COSINE = 0.999
# The export's probes are few. A quantised tower that barely clears them may not hold on
# other inputs: the default model's int8 text tower scored 0.99929 on its probes and
# 0.99898 on the encoder benchmark's queries. So quantised towers need this much more.
QUANTISED_MARGIN = 0.0005


def onnx_available() -> bool:
    """True when onnxruntime is installed (it is optional: torch is the fallback)."""
    return importlib.util.find_spec("onnxruntime") is not None


def export_dir(model_key: str) -> Path:
    """Where one model's exported towers are cached."""
    return paths.cache_dir() / "onnx" / safe_file_name(model_key)


def model_key_for(spec: ModelSpec) -> str:
    """The key a loaded encoder gives this model's vectors (name + weights digest)."""
    return f"{spec.name}@{weights_digest(install_dir(spec))[:12]}"


def packed_export(spec: ModelSpec) -> tuple[Path, dict[str, Any]] | None:
    """The model folder's own export (shipped, or installed from a pack) and its metadata,
    when it is complete; beside weights, only if it was exported from those weights."""
    folder = install_dir(spec)
    directory = folder / PACKED_DIR
    meta = read_export(directory)
    if meta is None or not meta.get("image") or not meta.get("text"):
        return None
    if find_weights(folder) is not None:
        try:
            if meta.get("model_key") != model_key_for(spec):
                return None
        except OSError:
            return None
    return directory, meta


def read_export(directory: Path) -> dict[str, Any] | None:
    """The export's metadata if it is complete and its files are the ones checked."""
    try:
        meta = json.loads((directory / META_NAME).read_text(encoding="utf-8"))
        if int(meta.get("format", 0)) != EXPORT_FORMAT:
            return None
        for tower in ("image", "text"):
            entry = meta.get(tower)
            if entry and (directory / entry["file"]).stat().st_size != entry["size"]:
                return None
        return meta
    except (OSError, ValueError, KeyError, TypeError):
        return None


def make_session(
    path: Path,
    threads: int | None = None,
    providers: tuple[str, ...] = (CPU,),
    *,
    keep_optimised: bool = False,
    prepack: bool = True,
) -> Any:
    """A session on ``providers`` (see :mod:`clipdesk.core.onnx_devices`; the CPU's by
    default); CPU threads default to the cores, and idle threads do not spin (the decode
    workers need those cycles while the encoder waits for the next batch). A GPU
    provider that fails to start leaves a CPU session. With ``keep_optimised`` (a model
    that will be used again, not an export's candidate) a CPU session loads the cached
    optimised copy of the model (:mod:`clipdesk.core.onnx_optimised`), making it once.
    Without ``prepack`` the CPU does not repack the weights for its matrix kernels at
    start: a text tower that answers one query starts in 0.01 s instead of 0.1 s, and
    large batches run about 15% slower."""
    import onnxruntime as ort

    def options(level: Any) -> Any:
        made = ort.SessionOptions()
        made.intra_op_num_threads = int(threads or os.cpu_count() or 1)
        made.inter_op_num_threads = 1
        made.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        made.graph_optimization_level = level
        made.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if not prepack:
            made.add_session_config_entry("session.disable_prepacking", "1")
        made.log_severity_level = 3
        return made

    full = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if tuple(providers) != (CPU,):
        try:
            return ort.InferenceSession(str(path), options(full), providers=list(providers))
        except Exception:  # a GPU provider that cannot start here: the CPU it is
            pass
    if not keep_optimised:
        return ort.InferenceSession(str(path), options(full), providers=[CPU])
    from clipdesk.core import onnx_optimised

    target = onnx_optimised.optimised_path(Path(path), ort.__version__)
    if target is not None and target.is_file():
        try:  # already optimised: optimising again would only cost time
            off = options(ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
            return ort.InferenceSession(str(target), off, providers=[CPU])
        except Exception:
            onnx_optimised.forget(target)
    made = options(full)
    written = onnx_optimised.writing_path(target) if target is not None else None
    if written is not None:
        made.optimized_model_filepath = str(written)
        weights = onnx_optimised.WEIGHTS_NAME
        made.add_session_config_entry(
            "session.optimized_model_external_initializers_file_name", weights
        )
        made.add_session_config_entry(
            "session.optimized_model_external_initializers_min_size_in_bytes", "1024"
        )
    try:
        session = ort.InferenceSession(str(path), made, providers=[CPU])
    except Exception:
        if written is None:
            raise
        # ONNX Runtime fails the session when it cannot save the optimised copy (a full
        # disk: "Protobuf serialization failed"); the session does not need the copy.
        onnx_optimised.forget(written)
        return ort.InferenceSession(str(path), options(full), providers=[CPU])
    if written is not None and target is not None and written.is_file():
        onnx_optimised.keep(written, target)
    elif written is not None:
        onnx_optimised.forget(written)
    return session


def trim_tokens(tokens: np.ndarray, pad_id: int = 0) -> np.ndarray:
    """Token ids cut after the batch's last column that is not padding: what follows
    the end token is ``pad_id`` (CLIP's 0, XLM-RoBERTa's 1) in every row."""
    used = np.flatnonzero((tokens != pad_id).any(axis=0))
    length = int(used[-1]) + 1 if len(used) else 1
    return np.ascontiguousarray(tokens[:, :length])


class TextTokenizer(Protocol):
    """What the ONNX encoder needs of a tokenizer: CLIP's BPE or a Hugging Face one."""

    pad_id: int

    def __call__(self, texts: str | list[str], context_length: int | None = None) -> np.ndarray:
        """``(n, context_length)`` int64 ids, as open_clip's tokenizer gives them."""
        ...

    def count(self, text: str) -> int:
        """Tokens ``text`` needs, special tokens included."""
        ...


def load_tokenizer(directory: Path, info: dict[str, Any]) -> TextTokenizer:
    """The tokenizer an export's ``meta["tokenizer"]`` names, from the export's folder
    (a pack carries its vocabulary; CLIP's is also shipped with clipdesk)."""
    context_length = int(info["context_length"])
    if info.get("kind") == "hf":
        from clipdesk.core.hf_tokenizer import HfTokenizer

        return HfTokenizer(
            directory / str(info["file"]),
            context_length,
            pad_id=int(info["pad_id"]),
            clean=str(info.get("clean", "whitespace")),
        )
    from clipdesk.core.clip_tokenizer import VOCAB_NAME, ClipTokenizer

    vocab = directory / VOCAB_NAME
    return ClipTokenizer(
        context_length,
        clean=str(info.get("clean", "lower")),
        vocab_path=vocab if vocab.is_file() else None,
    )
