"""An ONNX Runtime CPU encoder: the same vectors as torch, faster, and without torch.

On a CPU, ONNX Runtime runs CLIP's towers faster than eager torch, several times faster
for the image tower with dynamic int8 quantisation, and it starts in a fraction of
a second where importing torch and open_clip takes seconds. The towers are exported once
per model from the torch model (:mod:`clipdesk.core.models.onnx_export`), checked
against it, and cached (:mod:`clipdesk.core.onnx_cache`). A tower is used only if its
vectors on probe inputs have cosine >= ``MIN_COSINE`` to torch fp32; otherwise its fp32
export, otherwise torch.

Loading an exported model needs neither torch nor open_clip's tokenizer module, so a cold
``clipdesk search`` answers in well under a second. The backend is chosen with
``load_encoder(..., backend=...)`` or ``CLIPDESK_BACKEND``: ``auto`` (ONNX Runtime on
CPU-only computers once an export exists), ``onnx`` or ``torch``.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from clipdesk.core import onnx_devices
from clipdesk.core.encoding import (
    Backend,
    LongText,
    TextEmbedding,
    check_pixels,
    embed_images,
    embed_texts,
    normalise,
)
from clipdesk.core.models.registry import ModelSpec
from clipdesk.core.onnx_cache import (
    TextTokenizer,
    export_dir,
    load_tokenizer,
    make_session,
    model_key_for,
    onnx_available,
    packed_export,
    read_export,
    trim_tokens,
)
from clipdesk.core.onnx_devices import (
    CPU,
    accelerated_providers,
    choose_providers,
    device_of,
    requested_device,
)
from clipdesk.core.preprocess import PreprocessConfig

if TYPE_CHECKING:
    from PIL import Image

    from clipdesk.core.torch_encoder import TorchEncoder

BACKENDS = ("auto", "onnx", "torch")
EXPORT_AFTER_FILES = 200  # an export costs about a minute once; indexing pays it back


def requested_backend(backend: str | None = None) -> str:
    """The backend asked for: the argument, else ``CLIPDESK_BACKEND``, else ``auto``."""
    value = (backend or os.environ.get("CLIPDESK_BACKEND") or "auto").strip().lower()
    if value not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {value!r}")
    return value


def accelerator_present() -> bool:
    """A cheap guess, without importing torch, whether torch or ONNX Runtime would pick a
    GPU (see :func:`clipdesk.core.onnx_devices.gpu_may_be_present`)."""
    return onnx_devices.gpu_may_be_present()


def wants_onnx(backend: str | None, device: str) -> bool:
    """Whether a model should run on ONNX Runtime for this backend and device request:
    on a CPU, on a GPU whose provider ONNX Runtime has (CUDA, DirectML, Core ML), and
    wherever torch is not installed."""
    choice = requested_backend(backend)
    if choice == "torch" or not onnx_available():
        return False
    kind = requested_device(device).split(":")[0]
    if kind == "cpu" or choice == "onnx" or accelerated_providers(kind):
        return True
    return kind == "auto" and not onnx_devices.gpu_may_be_present()


class OnnxEncoder:
    """A model whose towers run on ONNX Runtime (sessions made on first use).

    ``text_fallback`` encodes texts when the text tower was not exported (a Hugging Face
    tokenizer, or an export that failed its check); without it such an export is unusable.
    ``keep_optimised`` caches ONNX Runtime's optimised graphs (not for files about to go).
    """

    backend: Backend = "onnx"

    def __init__(
        self,
        spec: ModelSpec,
        directory: Path,
        meta: dict[str, Any],
        *,
        threads: int | None = None,
        batch_size: int | None = None,
        text_fallback: TorchEncoder | None = None,
        providers: tuple[str, ...] = (CPU,),
        keep_optimised: bool = True,
    ) -> None:
        # The tokenizer is read on the first text (a few hundredths of a second for
        # CLIP's 49k merges): an index run that finds nothing new never needs it.
        self._tokenizer: TextTokenizer | None = None
        self._has_text = bool(meta.get("text"))
        if not self._has_text and text_fallback is None:
            raise ValueError("this export has no text tower and no fallback was given")
        self.spec = spec
        self.directory = directory
        self.meta = meta
        self.threads = threads
        self.text_fallback = None if self._has_text else text_fallback
        self.preprocess_cfg = PreprocessConfig.from_open_clip(meta["preprocess"])
        self.providers = tuple(providers)
        self.keep_optimised = keep_optimised
        self.device = device_of(self.providers)
        self.dtype = str(meta["image"]["precision"])
        self.model_key = str(meta["model_key"])
        self.dim = int(meta["dim"])
        self.context_length = int(meta["tokenizer"]["context_length"])
        self.batch_size = batch_size or (16 if self.device == "cpu" else 64)
        self._lock = threading.Lock()
        self._sessions: dict[str, Any] = {}
        self._session_lock = threading.Lock()

    def tokenizer(self) -> TextTokenizer:
        """The text tower's tokenizer, read on first use."""
        with self._session_lock:
            if self._tokenizer is None:
                self._tokenizer = load_tokenizer(self.directory, self.meta["tokenizer"])
            return self._tokenizer

    def __repr__(self) -> str:
        text = self.meta["text"]["precision"] if self.meta.get("text") else "torch"
        return f"OnnxEncoder({self.model_key}, image={self.dtype}, text={text})"

    def session(self, tower: str) -> Any:
        """The tower's ONNX Runtime session, created on first use."""
        with self._session_lock:
            if tower not in self._sessions:
                entry = self.meta[tower]
                path = self.directory / entry["file"]
                session = make_session(
                    path,
                    self.threads,
                    self.providers,
                    keep_optimised=self.keep_optimised,
                    prepack=tower != "text",  # queries come one at a time: start fast
                )
                if device_of(session.get_providers()) != self.device:  # the GPU failed
                    self.providers, self.device = (CPU,), "cpu"
                self._sessions[tower] = session
            return self._sessions[tower]

    # --- images ---------------------------------------------------------------------

    def encode_image_batch(self, batch: np.ndarray) -> np.ndarray:
        """Preprocessed pixels ``(n, 3, H, W)`` -> ``(n, dim)`` vectors: the indexer's path."""
        batch = check_pixels(batch, self.preprocess_cfg.size)
        if len(batch) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        session = self.session("image")
        parts = []
        with self._lock:
            for i in range(0, len(batch), self.batch_size):
                chunk = np.ascontiguousarray(batch[i : i + self.batch_size])
                parts.append(session.run(None, {"pixels": chunk})[0])
        return normalise(np.concatenate(parts))

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        """RGB PIL images -> ``(n, dim)`` vectors, preprocessing them as open_clip would."""
        return embed_images(self, images)

    # --- texts ----------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        """Tokens the model would need for ``text``, start and end tokens included."""
        if not self._has_text:
            assert self.text_fallback is not None
            return self.text_fallback.count_tokens(text)
        return self.tokenizer().count(text)

    def encode_texts(self, texts: list[str], *, long_text: LongText = "chunk") -> TextEmbedding:
        """Texts -> vectors. Past the context length, ``"chunk"`` embeds sentence chunks
        and averages them; ``"truncate"`` keeps open_clip's behaviour (drop the rest)."""
        if not self._has_text:  # no text tower: torch embeds texts
            assert self.text_fallback is not None
            return self.text_fallback.encode_texts(texts, long_text=long_text)
        return embed_texts(
            texts,
            long_text=long_text,
            count_tokens=self.count_tokens,
            context_length=self.context_length,
            encode=self._encode_text_list,
            dim=self.dim,
        )

    def _encode_text_list(self, texts: list[str]) -> np.ndarray:
        tokenizer = self.tokenizer()
        session = self.session("text")
        trim = bool(self.meta["text"].get("trim"))
        parts = []
        with self._lock:
            for i in range(0, len(texts), self.batch_size):
                tokens = tokenizer(texts[i : i + self.batch_size])
                if trim:
                    tokens = trim_tokens(tokens, tokenizer.pad_id)
                parts.append(session.run(None, {"tokens": tokens})[0])
        return normalise(np.concatenate(parts))


def load_onnx_encoder(
    spec: ModelSpec,
    *,
    threads: int | None = None,
    batch_size: int | None = None,
    text_fallback: TorchEncoder | None = None,
    device: str = "auto",
) -> OnnxEncoder | None:
    """The model on ONNX Runtime if the model folder holds its own export (shipped, or
    from a pack) or a checked export is cached, else None (use torch). ``device`` picks
    the execution providers (:func:`clipdesk.core.onnx_devices.choose_providers`)."""
    if not onnx_available():
        return None
    providers = choose_providers(device)
    packed = packed_export(spec)
    if packed is not None:
        directory, meta = packed
        return OnnxEncoder(
            spec, directory, meta, threads=threads, batch_size=batch_size, providers=providers
        )
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
        providers=providers,
    )


def upgrade(
    encoder: TorchEncoder,
    *,
    threads: int | None = None,
    export: bool = True,
    isolated: bool = False,
) -> TorchEncoder | OnnxEncoder:
    """The same model on ONNX Runtime, exporting and checking it now if needed.

    Returns ``encoder`` itself when that is not possible or not better: not a torch fp32
    CPU encoder, onnxruntime missing, an architecture the exporter cannot handle, or no
    tower that matches torch closely enough (that verdict is cached too). ``isolated``
    exports in a child process: tracing and quantising are Python work that holds the
    interpreter lock for long stretches, which would freeze a window running beside it.
    """
    if encoder.device != "cpu" or encoder.dtype != "float32" or not onnx_available():
        return encoder
    directory = export_dir(encoder.model_key)
    meta = read_export(directory)
    if meta is None or meta.get("model_key") != encoder.model_key or _stale_refusal(meta):
        if not export:
            return encoder
        from clipdesk.core.errors import ExportError
        from clipdesk.core.models import onnx_export

        try:
            if isolated:
                meta = _export_in_child_process(encoder, threads)
            else:
                meta = onnx_export.export_encoder(encoder, threads=threads)
        except ImportError:  # onnx (needed to quantise) is missing: try again once it is not
            return encoder
        except Exception as exc:  # whatever fails, indexing goes on with torch
            reason = str(exc) if isinstance(exc, ExportError) else f"{type(exc).__name__}: {exc}"
            onnx_export.write_refusal(encoder, reason)
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


def _export_in_child_process(encoder: TorchEncoder, threads: int | None) -> dict[str, Any]:
    """The model's export, run in a child process that loads the model again; here when
    no child process can be started."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from clipdesk.core.lifeline import Lifeline, die_with_parent
    from clipdesk.core.models import onnx_export

    context = multiprocessing.get_context("spawn")
    try:
        with (
            Lifeline(context) as lifeline,
            ProcessPoolExecutor(
                1, mp_context=context, initializer=die_with_parent, initargs=(lifeline.link(),)
            ) as pool,
        ):
            job = pool.submit(_export_model, encoder.spec, encoder.model_key, threads)
            return job.result()
    except (BrokenProcessPool, OSError):  # the child died or never started: export here
        return onnx_export.export_encoder(encoder, threads=threads)


def _export_model(spec: ModelSpec, model_key: str, threads: int | None) -> dict[str, Any]:
    """In the child process: load the torch fp32 model and export it."""
    from clipdesk.core.errors import ExportError
    from clipdesk.core.models.onnx_export import export_encoder
    from clipdesk.core.torch_encoder import load_torch_encoder

    encoder = load_torch_encoder(spec, device="cpu", precision="fp32")
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
