"""Zero-shot tag scores: ensembled label features and image-to-tag similarities.

:func:`label_features` and :func:`zero_shot_scores` are pure functions of their inputs
(vectors in, vectors out); :class:`LabelFeatureCache` keeps label features per model and
per caption set on disk, so a vocabulary of hundreds of tags is embedded once, and
adding one tag embeds only that tag. A model pack ships its default vocabulary's
features (:func:`write_shipped_features`); :meth:`LabelFeatureCache.seed` hands them to
the cache, so the first tag run with a newly installed model embeds no vocabulary prompt.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clipdesk.core.errors import FolderError
from clipdesk.core.files import atomic_path, safe_file_name
from clipdesk.core.paths import ensure_folder
from clipdesk.core.tags.prompts import PromptSet
from clipdesk.core.tags.vocabulary import TagDef

TextEncoder = Callable[[list[str]], np.ndarray]
ENCODE_BATCH = 256
FILL_BATCH = 1024  # captions embedded between two progress steps of a first tag run
SHIPPED_MODEL_KEY = "__model_key__"  # the entry naming the model of a shipped features file


def normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def label_features(encode: TextEncoder, groups: Sequence[Sequence[str]]) -> np.ndarray:
    """``(len(groups), dim)``: each group of captions embedded, averaged, re-normalised."""
    flat = [text for group in groups for text in group]
    if not flat:
        raise ValueError("no captions to embed")
    parts = [encode(flat[i : i + ENCODE_BATCH]) for i in range(0, len(flat), ENCODE_BATCH)]
    vectors = normalise(np.concatenate(parts).astype(np.float32))
    out = np.empty((len(groups), vectors.shape[1]), dtype=np.float32)
    start = 0
    for row, group in enumerate(groups):
        if not group:
            raise ValueError("every tag needs at least one caption")
        out[row] = vectors[start : start + len(group)].mean(axis=0)
        start += len(group)
    return normalise(out)


@dataclass(frozen=True)
class LabelFeatures:
    """Ensembled text features of some tags and of the neutral baseline, for one model."""

    names: tuple[str, ...]
    vectors: np.ndarray  # (tags, dim), rows L2-normalised
    neutral: np.ndarray  # (dim,), L2-normalised
    model_key: str

    def row(self, name: str) -> np.ndarray:
        return self.vectors[self.names.index(name)]


def zero_shot_scores(images: np.ndarray, features: LabelFeatures) -> tuple[np.ndarray, np.ndarray]:
    """``(scores (n, tags), baseline (n,))``: cosine of each image to each tag and to neutral.

    ``images`` must be L2-normalised rows, as the catalog stores them.
    """
    images = np.asarray(images, dtype=np.float32)
    return images @ features.vectors.T, images @ features.neutral


def caption_key(texts: Sequence[str]) -> str:
    """The cache key of one tag's captions: a changed phrase or template is a new key."""
    h = hashlib.sha256()
    for text in texts:
        h.update(text.encode("utf-8") + b"\0")
    return h.hexdigest()[:24]


_SHARED_MEMORY: dict[str, dict[str, np.ndarray]] = {}
_SHARED_LOCK = threading.Lock()


class LabelFeatureCache:
    """Label features per (model, captions), in memory and in one file per model.

    Features depend only on the model's weights (its key) and the captions, so by default
    every cache in the process shares one memory: a library opened again, or a second
    library, does not embed the same captions twice.
    """

    def __init__(self, directory: Path | None, *, shared: bool = True) -> None:
        self.directory = directory
        self._memory: dict[str, dict[str, np.ndarray]] = _SHARED_MEMORY if shared else {}
        self._lock = _SHARED_LOCK if shared else threading.Lock()
        self._read: set[Path] = set()
        self._unwritable: set[Path] = set()
        self.embedded = 0  # caption groups this cache had to embed (its misses)

    def _file(self, model_key: str) -> Path | None:
        if self.directory is None:
            return None
        return self.directory / f"{safe_file_name(model_key)}.npz"

    def _load(self, model_key: str) -> dict[str, np.ndarray]:
        table = self._memory.setdefault(model_key, {})
        path = self._file(model_key)
        if path is not None and path.is_file() and path not in self._read:
            self._read.add(path)
            try:
                with np.load(path) as data:
                    for key in data.files:
                        table.setdefault(key, data[key].astype(np.float32))
            except (OSError, ValueError, EOFError):  # a damaged cache is rebuilt, not trusted
                pass
        return table

    def _saved_here(self, model_key: str) -> bool:
        path = self._file(model_key)
        return path is None or path in self._unwritable or path.is_file()

    def _save(self, model_key: str, table: dict[str, np.ndarray]) -> None:
        """Write the table to disk if the cache folder allows it.

        A cache that cannot be written (its folder is a file, the disk is full or
        read-only) must not stop tagging: the features stay in memory, and this process
        does not try that file again.
        """
        path = self._file(model_key)
        if path is None or path in self._unwritable:
            return
        try:
            ensure_folder(path.parent, "cache folder")
            with atomic_path(path, durable=False) as tmp, open(tmp, "wb") as out:
                np.savez(out, **table)
        except (FolderError, OSError):
            self._unwritable.add(path)

    def features(
        self, model_key: str, encode: TextEncoder, tags: Sequence[TagDef], prompts: PromptSet
    ) -> LabelFeatures:
        """Features for ``tags`` (in order) and the neutral prompt, embedding only new ones."""
        groups = [prompts.texts_for(tag) for tag in tags] + [prompts.neutral_texts()]
        keys = [caption_key(group) for group in groups]
        with self._lock:
            table = self._load(model_key)
            missing = [i for i, key in enumerate(keys) if key not in table]
            if missing:
                new = label_features(encode, [groups[i] for i in missing])
                self.embedded += len(missing)
                for i, vector in zip(missing, new, strict=True):
                    table[keys[i]] = vector
            if missing or not self._saved_here(model_key):
                self._save(model_key, table)
            stacked = np.stack([table[key] for key in keys]).astype(np.float32)
        return LabelFeatures(
            names=tuple(tag.name for tag in tags),
            vectors=stacked[:-1].reshape(len(tags), -1),
            neutral=stacked[-1],
            model_key=model_key,
        )

    def seed(self, model_key: str, path: Path | None) -> int:
        """Add the features a model ships (``path``, see :func:`write_shipped_features`)
        to the memory of ``model_key``; returns how many were new. A file made for another
        model, or damaged, adds nothing: the features are then embedded as usual."""
        if path is None or not path.is_file():
            return 0
        with self._lock:
            if path in self._read:
                return 0
            self._read.add(path)
            try:
                with np.load(path) as data:
                    if str(data[SHIPPED_MODEL_KEY]) != model_key:
                        return 0
                    shipped = {
                        k: data[k].astype(np.float32) for k in data.files if k != SHIPPED_MODEL_KEY
                    }
            except (OSError, ValueError, EOFError, KeyError):
                return 0
            table = self._load(model_key)
            new = [k for k in shipped if k not in table]
            for key in new:
                table[key] = shipped[key]
            return len(new)

    def missing(
        self, model_key: str, tags: Sequence[TagDef], prompts: PromptSet
    ) -> list[list[str]]:
        """The caption groups of ``tags`` (and the neutral one) not yet embedded, once each."""
        groups = [prompts.texts_for(tag) for tag in tags] + [prompts.neutral_texts()]
        with self._lock:
            table = self._load(model_key)
            out: dict[str, list[str]] = {}
            for group in groups:
                key = caption_key(group)
                if key not in table:
                    out.setdefault(key, group)
        return list(out.values())

    def fill(
        self, model_key: str, encode: TextEncoder, groups: Sequence[Sequence[str]]
    ) -> Generator[tuple[int, int], None, None]:
        """Embed ``groups`` in large batches, yielding ``(captions done, captions)`` after
        each, so a first tag run with a model shows its progress and can stop between
        batches (what is done stays cached). The lock is held only to store a batch."""
        total = sum(len(g) for g in groups)
        done = 0
        batch: list[Sequence[str]] = []
        for i, group in enumerate(groups):
            batch.append(group)
            if sum(len(g) for g in batch) < FILL_BATCH and i + 1 < len(groups):
                continue
            vectors = label_features(encode, batch)
            with self._lock:
                table = self._load(model_key)
                for captions, vector in zip(batch, vectors, strict=True):
                    table.setdefault(caption_key(captions), vector)
                self.embedded += len(batch)
                self._save(model_key, table)
            done += sum(len(g) for g in batch)
            batch = []
            yield done, total


def write_shipped_features(
    path: Path, model_key: str, encode: TextEncoder, tags: Sequence[TagDef], prompts: PromptSet
) -> int:
    """Embed a vocabulary's captions for one model into ``path``, the file a model pack
    ships; returns the number of caption groups. Keys are :func:`caption_key`, so a tag
    whose words or templates changed since finds no entry and is embedded as usual."""
    groups = [prompts.texts_for(tag) for tag in tags] + [prompts.neutral_texts()]
    vectors = label_features(encode, groups)
    table = {caption_key(g): v for g, v in zip(groups, vectors, strict=True)}
    with atomic_path(path, durable=False) as tmp, open(tmp, "wb") as out:
        np.savez(out, **table, **{SHIPPED_MODEL_KEY: np.array(model_key)})
    return len(table)
