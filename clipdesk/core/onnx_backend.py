"""An ONNX Runtime CPU encoder: the same vectors as torch, faster, and without torch.

On a CPU, ONNX Runtime runs CLIP's towers faster than eager torch, several times faster
for the image tower with dynamic int8 quantisation, and it starts in a fraction of
a second where importing torch and open_clip takes seconds. The towers are exported once
per model from the torch model (``clipdesk.core.models.onnx_export``), checked against
it, and cached under ``paths.cache_dir() / "onnx" / <model_key>``; ``meta.json``, written
last, names the checked files. A tower is used only if its vectors on probe inputs have
cosine >= ``MIN_COSINE`` to torch fp32; otherwise its fp32 export, otherwise torch.

Loading an exported model needs neither torch nor open_clip's tokenizer module, so a cold
``clipdesk search`` answers in well under a second. The backend is chosen with
``load_encoder(..., backend=...)`` or ``CLIPDESK_BACKEND``: ``auto`` (ONNX Runtime on
CPU-only computers once an export exists), ``onnx`` or ``torch``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from clipdesk.core import paths
from clipdesk.core.encoder import Encoder
from clipdesk.core.models.manifest import weights_digest
from clipdesk.core.models.registry import ModelSpec, install_dir
from clipdesk.core.preprocess import PreprocessConfig

if TYPE_CHECKING:
    from clipdesk.core.clip_tokenizer import ClipTokenizer

EXPORT_FORMAT = 3  # 3: quantised towers must clear MIN_COSINE with QUANTISED_MARGIN
META_NAME = "meta.json"
MIN_COSINE = 0.999
# The export's probes are few. A quantised tower that barely clears them may not hold on
# other inputs: the default model's int8 text tower scored 0.99929 on its probes and
# 0.99898 on the encoder benchmark's queries. So quantised towers need this much more.
QUANTISED_MARGIN = 0.0005
BACKENDS = ("auto", "onnx", "torch")


def onnx_available() -> bool:
    """True when onnxruntime is installed (it is optional: torch is the fallback)."""
    return importlib.util.find_spec("onnxruntime") is not None


def requested_backend(backend: str | None = None) -> str:
    """The backend asked for: the argument, else ``CLIPDESK_BACKEND``, else ``auto``."""
    value = (backend or os.environ.get("CLIPDESK_BACKEND") or "auto").strip().lower()
    if value not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {value!r}")
    return value


def accelerator_present() -> bool:
    """A cheap guess, without importing torch, whether torch would pick a GPU.

    CUDA and ROCm drivers create device nodes; Apple silicon has MPS. A wrong "no" costs
    speed, never correctness: the vectors are the same either way.
    """
    if sys.platform == "darwin":
        import platform

        return platform.machine() == "arm64"
    return any(os.path.exists(p) for p in ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd"))


def wants_onnx(backend: str | None, device: str) -> bool:
    """Whether a model should run on ONNX Runtime for this backend and device request."""
    choice = requested_backend(backend)
    if choice == "torch" or not onnx_available():
        return False
    kind = (device or "auto").lower().split(":")[0]
    if kind == "cpu":
        return True
    return kind == "auto" and (choice == "onnx" or not accelerator_present())


def safe_key(model_key: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.@" else "_" for c in model_key)


def export_dir(model_key: str) -> Path:
    """Where one model's exported towers are cached."""
    return paths.cache_dir() / "onnx" / safe_key(model_key)


def model_key_for(spec: ModelSpec) -> str:
    """The key ``load_encoder`` gives this model's vectors (name + weights digest)."""
    return f"{spec.name}@{weights_digest(install_dir(spec))[:12]}"


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


class OnnxEncoder(Encoder):
    """An :class:`Encoder` whose towers run on ONNX Runtime (sessions made on first use).

    ``text_fallback`` encodes texts when the text tower was not exported (a Hugging Face
    tokenizer, or an export that failed its check); without it such an export is unusable.
    """

    backend = "onnx"

    def __init__(
        self,
        spec: ModelSpec,
        directory: Path,
        meta: dict[str, Any],
        *,
        threads: int | None = None,
        batch_size: int | None = None,
        text_fallback: Encoder | None = None,
    ) -> None:
        tokenizer: ClipTokenizer | Any
        if meta.get("text"):
            from clipdesk.core.clip_tokenizer import ClipTokenizer

            tok = meta["tokenizer"]
            tokenizer = ClipTokenizer(int(tok["context_length"]), clean=tok.get("clean", "lower"))
        elif text_fallback is not None:
            tokenizer = text_fallback.tokenizer
        else:
            raise ValueError("this export has no text tower and no fallback was given")
        super().__init__(
            spec,
            None,
            tokenizer,
            preprocess_cfg=PreprocessConfig.from_open_clip(meta["preprocess"]),
            device="cpu",
            dtype=str(meta["image"]["precision"]),
            model_key=str(meta["model_key"]),
            dim=int(meta["dim"]),
            context_length=int(meta["tokenizer"]["context_length"]),
            batch_size=batch_size or 16,
        )
        self.directory = directory
        self.meta = meta
        self.threads = threads
        self.text_fallback = text_fallback
        self._sessions: dict[str, Any] = {}
        self._session_lock = threading.Lock()

    def __repr__(self) -> str:
        text = self.meta["text"]["precision"] if self.meta.get("text") else "torch"
        return f"OnnxEncoder({self.model_key}, image={self.dtype}, text={text})"

    def session(self, tower: str) -> Any:
        """The tower's ONNX Runtime session, created on first use."""
        with self._session_lock:
            if tower not in self._sessions:
                entry = self.meta[tower]
                path = self.directory / entry["file"]
                self._sessions[tower] = make_session(path, self.threads)
            return self._sessions[tower]

    def encode_image_batch(self, batch: np.ndarray) -> np.ndarray:
        batch = np.asarray(batch, dtype=np.float32)
        size = self.preprocess_cfg.size
        if batch.ndim != 4 or batch.shape[1:] != (3, size, size):
            raise ValueError(f"expected a batch of shape (n, 3, {size}, {size}), got {batch.shape}")
        if len(batch) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        session = self.session("image")
        parts = []
        with self._lock:
            for i in range(0, len(batch), self.batch_size):
                chunk = np.ascontiguousarray(batch[i : i + self.batch_size])
                parts.append(session.run(None, {"pixels": chunk})[0])
        return _normalise(np.concatenate(parts))

    def _encode_text_list(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if not self.meta.get("text"):
            assert self.text_fallback is not None
            return self.text_fallback._encode_text_list(texts)
        session = self.session("text")
        trim = bool(self.meta["text"].get("trim"))
        parts = []
        with self._lock:
            for i in range(0, len(texts), self.batch_size):
                tokens = self.tokenizer(texts[i : i + self.batch_size])
                if trim:
                    tokens = trim_tokens(tokens)
                parts.append(session.run(None, {"tokens": tokens})[0])
        return _normalise(np.concatenate(parts))


def trim_tokens(tokens: np.ndarray) -> np.ndarray:
    """Token ids cut after the last end token of the batch (the end token has the
    highest id, so its position is the argmax); what follows is padding."""
    length = int(tokens.argmax(axis=1).max()) + 1
    return np.ascontiguousarray(tokens[:, :length])


def _normalise(features: np.ndarray) -> np.ndarray:
    features = features.astype(np.float32, copy=False)
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    return features / np.maximum(norms, 1e-12)


def make_session(path: Path, threads: int | None = None) -> Any:
    """A CPU session; threads default to the cores, and idle threads do not spin (the
    decode workers need those cycles while the encoder waits for the next batch)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads or os.cpu_count() or 1)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def load_onnx_encoder(
    spec: ModelSpec,
    *,
    threads: int | None = None,
    batch_size: int | None = None,
    text_fallback: Encoder | None = None,
) -> OnnxEncoder | None:
    """The model on ONNX Runtime if a checked export is cached, else None (use torch)."""
    if not onnx_available():
        return None
    try:
        key = model_key_for(spec)
    except OSError:
        return None
    directory = export_dir(key)
    meta = read_export(directory)
    if meta is None or meta.get("model_key") != key or not meta.get("image"):
        return None
    if not meta.get("text") and text_fallback is None:
        return None
    return OnnxEncoder(
        spec,
        directory,
        meta,
        threads=threads,
        batch_size=batch_size,
        text_fallback=text_fallback,
    )


EXPORT_AFTER_FILES = 200  # an export costs about a minute once; indexing pays it back


def upgrade(
    encoder: Encoder, *, threads: int | None = None, export: bool = True, isolated: bool = False
) -> Encoder:
    """The same model on ONNX Runtime, exporting and checking it now if needed.

    Returns ``encoder`` itself when that is not possible or not better: not a torch fp32
    CPU encoder, onnxruntime missing, an architecture the exporter cannot handle, or no
    tower that matches torch closely enough (that verdict is cached too). ``isolated``
    exports in a child process: tracing and quantising are Python work that holds the
    interpreter lock for long stretches, which would freeze a window running beside it.
    """
    if (
        getattr(encoder, "backend", "torch") != "torch"
        or encoder.device != "cpu"
        or encoder.dtype != "float32"
        or not onnx_available()
    ):
        return encoder
    directory = export_dir(encoder.model_key)
    meta = read_export(directory)
    if meta is None or meta.get("model_key") != encoder.model_key or _stale_refusal(meta):
        if not export:
            return encoder
        from clipdesk.core.errors import ExportError
        from clipdesk.core.models.onnx_export import export_encoder, write_refusal

        try:
            if isolated:
                meta = _export_in_child_process(encoder, threads)
            else:
                meta = export_encoder(encoder, threads=threads)
        except ImportError:  # onnx (needed to quantise) is missing: try again once it is not
            return encoder
        except Exception as exc:  # whatever fails, indexing goes on with torch
            reason = str(exc) if isinstance(exc, ExportError) else f"{type(exc).__name__}: {exc}"
            write_refusal(encoder, reason)
            return encoder
    if not meta.get("image"):
        return encoder
    return OnnxEncoder(
        encoder.spec,
        directory,
        meta,
        threads=threads,
        batch_size=encoder.batch_size,
        text_fallback=None if meta.get("text") else encoder,
    )


def _export_in_child_process(encoder: Encoder, threads: int | None) -> dict[str, Any]:
    """:func:`export_encoder` for ``encoder``'s model, run in a child process that loads
    the model again; here when no child process can be started."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from clipdesk.core.models.onnx_export import export_encoder

    context = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(1, mp_context=context) as pool:
            job = pool.submit(_export_model, encoder.spec, encoder.model_key, threads)
            return job.result()
    except (BrokenProcessPool, OSError):  # the child died or never started: export here
        return export_encoder(encoder, threads=threads)


def _export_model(spec: ModelSpec, model_key: str, threads: int | None) -> dict[str, Any]:
    """In the child process: load the torch fp32 model and export it."""
    from clipdesk.core.encoder import load_encoder
    from clipdesk.core.errors import ExportError
    from clipdesk.core.models.onnx_export import export_encoder

    encoder = load_encoder(spec, device="cpu", precision="fp32", backend="torch")
    if encoder.model_key != model_key:
        raise ExportError("the model's files changed while it was being exported")
    return export_encoder(encoder, threads=threads)


def _stale_refusal(meta: dict[str, Any]) -> bool:
    """A model refused by older versions of the exporter deserves another try."""
    if not meta.get("refused"):
        return False
    from importlib.metadata import version

    try:
        now = {"torch": version("torch"), "onnxruntime": version("onnxruntime")}
    except Exception:
        return False
    seen = meta.get("versions", {})
    return any(seen.get(k) != v for k, v in now.items())
