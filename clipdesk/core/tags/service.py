"""Tags of one library: the API the command line and the GUI's tag panel use.

Everything here is Qt-free and cheap except :meth:`TagService.run` and
:meth:`TagService.export_xmp`, which are generators of :class:`Progress` to run in a
worker. Photos are named by path; tags by name (case does not matter).

The service is handed its parts: the tag store, the catalog (files and settings), the
library's model (an :class:`EncoderProvider`) and the writer lane. Reading runs on the
caller's thread; every change (an edit, the user's word on a photo, the tagging job)
is a job on the writer lane, so an edit made during a long index lands between two of
its steps instead of racing it.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from clipdesk.core import paths
from clipdesk.core.catalog.catalog import path_bytes
from clipdesk.core.errors import TagError
from clipdesk.core.models.manifest import shipped_label_features
from clipdesk.core.progress import CancelToken, Progress
from clipdesk.core.tags.answers import PhotoTag, TaggedPhoto, TagInfo
from clipdesk.core.tags.job import TagReport, run_tagging
from clipdesk.core.tags.photo_set import tags_stale
from clipdesk.core.tags.prompts import PromptSet, prompt_set_for_model, with_article
from clipdesk.core.tags.store import TagRecord, TagStore
from clipdesk.core.tags.vocabulary import (
    TagDef,
    VocabularyError,
    clean_name,
    clean_prompt,
    model_vocabulary_file,
    quoted,
    vocabulary_for_model,
)
from clipdesk.core.tags.zeroshot import LabelFeatureCache

if TYPE_CHECKING:
    from clipdesk.core.catalog import Catalog
    from clipdesk.core.lane import WriterLane
    from clipdesk.core.model_slot import EncoderProvider
    from clipdesk.core.tags.xmp import XmpReport

# The answers are named here too: callers import them with the service.
__all__ = ["VOCABULARY_META", "PhotoTag", "TagInfo", "TagService", "TaggedPhoto"]

VOCABULARY_META = "tags_vocabulary"  # where the vocabulary came from; "user" once edited


class TagService:
    """Vocabulary, tags on photos, the user's decisions and the tagging job of a library."""

    def __init__(
        self,
        store: TagStore,
        catalog: Catalog,
        encoders: EncoderProvider,
        writer: WriterLane,
        cache: LabelFeatureCache | None = None,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.encoders = encoders
        self.writer = writer
        self.cache = cache or LabelFeatureCache(paths.cache_dir() / "tag-features")

    # -- vocabulary ---------------------------------------------------------------------

    def _model_dir(self) -> Path | None:
        try:
            from clipdesk.core.models.registry import get_model, install_dir

            encoder = self.encoders.loaded  # the loaded model's own folder, if loaded
            spec = encoder.spec if encoder is not None else get_model(self.encoders.name)
            return install_dir(spec)
        except Exception:  # an unknown or missing model: fall back to the default words
            return None

    def _vocabulary_due(self) -> bool:
        current = self.catalog.get_meta(VOCABULARY_META)
        if current == "user":
            return False
        own = model_vocabulary_file(self._model_dir())
        return current != (f"model:{self.encoders.name}" if own is not None else "default")

    def ensure_vocabulary(self) -> None:
        """Give the library the model's vocabulary, unless the user made one of their own.

        Reading only looks; the one-time write (a new library, another model) is a job on
        the writer, like every other change.
        """
        if self._vocabulary_due():
            self.writer.call(self._install_vocabulary, name="set up the tags")

    def _install_vocabulary(self) -> None:
        if not self._vocabulary_due():  # another job did it meanwhile
            return
        source, defs = vocabulary_for_model(self.encoders.name, self._model_dir())
        self.store.replace_vocabulary(defs)
        self.catalog.set_meta(VOCABULARY_META, source)

    def _edited(self) -> None:
        self.catalog.set_meta(VOCABULARY_META, "user")

    def vocabulary(self) -> list[TagDef]:
        self.ensure_vocabulary()
        return [t.definition for t in self.store.tags()]

    def set_vocabulary(self, tags: Sequence[TagDef]) -> tuple[int, int]:
        """Replace the vocabulary (custom tags stay); returns ``(added, removed)``."""

        def replace() -> tuple[int, int]:
            self._install_vocabulary()
            result = self.store.replace_vocabulary(tags)
            self._edited()
            return result

        return self.writer.call(replace, guarded=True, name="replace the vocabulary")

    def tag(self, name: str) -> TagRecord:
        """The tag called ``name`` (any case); TagError when the vocabulary has none."""
        self.ensure_vocabulary()
        record = self.store.tag(name)
        if record is None:
            raise TagError(f"no tag called {quoted(name)}; `clipdesk tags list` shows them")
        return record

    def add_tag(self, name: str, prompt: str | None = None, *, custom: bool = False) -> TagInfo:
        try:
            tag = TagDef(clean_name(name), clean_prompt(prompt))
        except VocabularyError as exc:
            raise TagError(str(exc)) from exc
        return self.writer.call(lambda: self._add(tag, custom), guarded=True, name="add a tag")

    def _add(self, tag: TagDef, custom: bool) -> TagInfo:
        self._install_vocabulary()
        if self.store.tag(tag.name) is not None:
            raise TagError(f"there is already a tag called {tag.name!r}")
        record = self.store.add_tag(tag, "custom" if custom else "vocabulary")
        self._edited()
        return TagInfo(record.name, record.prompt, record.origin, 0)

    def remove_tag(self, name: str) -> None:
        """Forget a tag, its photos and its lessons; the user's yes and no on photos are
        kept aside, and honoured again if a tag of that name is added back."""

        def remove() -> None:
            self.store.remove_tag(self.tag(name).id)
            self._edited()

        self.writer.call(remove, guarded=True, name="remove a tag")

    def rename_tag(self, old: str, new: str) -> None:
        """Rename a tag; its photos, decisions and lessons stay.

        A tag without its own prompt is described to the model by its name, so the old
        name becomes its prompt: "dog" renamed "Rex" still looks for a dog (the model
        knows no Rex), and "my star" is not a new question to ask of every photo.
        """
        try:
            cleaned = clean_name(new)
        except VocabularyError as exc:
            raise TagError(str(exc)) from exc

        def rename() -> None:
            record = self.tag(old)
            other = self.store.tag(cleaned)
            if other is not None and other.id != record.id:
                raise TagError(f"there is already a tag called {cleaned!r}")
            if cleaned == record.name:
                return
            if record.prompt is None:
                self.store.update_tag(record.id, name=cleaned, prompt=with_article(record.name))
            else:
                self.store.update_tag(record.id, name=cleaned)
            self._edited()

        self.writer.call(rename, guarded=True, name="rename a tag")

    def set_prompt(self, name: str, prompt: str | None) -> None:
        """Describe a tag to the model in other words (``;`` between phrases); None: its name."""
        cleaned = clean_prompt(prompt)

        def describe() -> None:
            self.store.update_tag(self.tag(name).id, prompt=cleaned)
            self._edited()

        self.writer.call(describe, guarded=True, name="describe a tag")

    # -- reading ------------------------------------------------------------------------

    def list_tags(self) -> list[TagInfo]:
        """Every tag, most used first."""
        self.ensure_vocabulary()
        counts = self.store.counts()
        key = self._model_key_or_none()
        models = self.store.models(key) if key else {}
        out = []
        for record in self.store.tags():
            sources = counts.get(record.id, {})
            model = models.get(record.id)
            out.append(
                TagInfo(
                    record.name,
                    record.prompt,
                    record.origin,
                    sum(sources.values()),
                    dict(sorted(sources.items())),
                    model.kind if model else None,
                )
            )
        return sorted(out, key=lambda t: (-t.count, t.name.casefold()))

    def _model_key_or_none(self) -> str | None:
        return self.encoders.model_key()  # no model load just to list tags

    def photos(self, tag: str, *, limit: int | None = None) -> list[TaggedPhoto]:
        """Photos carrying a tag, most confident first; the user's own first of all."""
        rows = self.store.files_with_tag(self.tag(tag).id, limit=limit)
        return [TaggedPhoto(f.fspath, a.source, a.score, a.confidence) for f, a in rows]

    def fingerprint(self, path: str | os.PathLike[str]) -> str:
        resolved = Path(path).expanduser().resolve()
        record = self.catalog.file_by_path(path_bytes(resolved))
        if record is None or not record.fingerprint:
            raise TagError(f"not an indexed photo of this library: {resolved}")
        return record.fingerprint

    def tags_of(self, path: str | os.PathLike[str]) -> list[PhotoTag]:
        """A photo's tags, most confident first, then the ones the user took off it."""
        fp = self.fingerprint(path)
        rows = self.store.assignments_for(fp)
        tags = [
            PhotoTag(a.tag.name, a.source, a.score, a.confidence, bool(a.rejected)) for a in rows
        ]
        return sorted(tags, key=lambda t: t.rejected)

    # -- decisions ----------------------------------------------------------------------

    def confirm(self, tag: str, paths: Iterable[str | os.PathLike[str]]) -> None:
        """The user says these photos carry ``tag``; no model will take it off."""
        fps = [self.fingerprint(p) for p in paths]
        self.writer.call(
            lambda: self.store.decide(self.tag(tag).id, fps, positive=True),
            guarded=True,
            name="tag photos",
        )

    def reject(self, tag: str, paths: Iterable[str | os.PathLike[str]]) -> None:
        """The user says these photos do not carry ``tag``; no model will put it back."""
        fps = [self.fingerprint(p) for p in paths]
        self.writer.call(
            lambda: self.store.decide(self.tag(tag).id, fps, positive=False),
            guarded=True,
            name="untag photos",
        )

    def forget(self, tag: str, path: str | os.PathLike[str]) -> bool:
        """Undo a confirm or reject; the models decide again at the next run."""
        fp = self.fingerprint(path)
        return self.writer.call(
            lambda: self.store.forget_decision(self.tag(tag).id, fp),
            guarded=True,
            name="forget a tag decision",
        )

    def teach(
        self,
        tag: str,
        yes: Sequence[str | os.PathLike[str]],
        no: Sequence[str | os.PathLike[str]] = (),
        *,
        prompt: str | None = None,
    ) -> TagInfo:
        """Record examples for a tag, creating it (as a custom tag) if it is new.

        Run :meth:`run` with this tag afterwards to learn from them and re-tag the library.
        """
        if not yes and not no:
            raise TagError("give at least one example photo")
        yes_fps = [self.fingerprint(p) for p in yes]
        no_fps = [self.fingerprint(p) for p in no]
        if set(yes_fps) & set(no_fps):
            raise TagError("a photo cannot be both an example and a counter-example")

        def record_examples() -> str:
            self._install_vocabulary()
            record = self.store.tag(tag)
            if record is None:
                self.add_tag(tag, prompt, custom=True)  # inline: we are on the writer
                record = self.store.tag(tag)
                assert record is not None
            elif prompt is not None:
                self.set_prompt(tag, prompt)
            self.store.decide(record.id, yes_fps, positive=True)
            self.store.decide(record.id, no_fps, positive=False)
            return record.name

        name = self.writer.call(record_examples, guarded=True, name="teach a tag")
        return next(t for t in self.list_tags() if t.name == name)

    # -- jobs ---------------------------------------------------------------------------

    def prompts(self) -> PromptSet:
        return prompt_set_for_model(self.encoders.name)

    def run(
        self, tags: Sequence[str] | None = None, *, cancel: CancelToken | None = None
    ) -> Generator[Progress, None, TagReport]:
        """(Re)tag the library with ``tags`` (default: all), learning from the examples;
        runs on the writer lane, after the long jobs submitted before it."""
        return self.writer.run(self.job(tags, cancel=cancel), cancel=cancel, name="tag")

    def job(
        self, tags: Sequence[str] | None = None, *, cancel: CancelToken | None = None
    ) -> Generator[Progress, None, TagReport]:
        """The tagging job itself, for the writer (:meth:`WriterLane.submit`)."""
        self._install_vocabulary()
        only = None if tags is None else [self.tag(name) for name in tags]
        encoder = self.encoders.get()
        self.cache.seed(encoder.model_key, shipped_label_features(self._model_dir()))

        def encode(texts: list[str]) -> np.ndarray:
            return encoder.encode_texts(texts).vectors

        return (
            yield from run_tagging(
                self.store, encoder.model_key, encode, self.prompts(), self.cache,
                only=only, cancel=cancel,
            )
        )  # fmt: skip

    def stale(self) -> bool:
        """Whether photos were added, changed or removed since the library was last tagged
        (or it never was): the app then tags in the background without being asked."""
        key = self._model_key_or_none()
        if key is None:
            return False
        return tags_stale(self.store.photo_set(key), self.store.tagged_photo_set(key))

    def export_xmp(
        self,
        paths: Sequence[str | os.PathLike[str]] | None = None,
        *,
        sources: Sequence[str] = ("manual", "learned", "zero-shot"),
        dry_run: bool = False,
        cancel: CancelToken | None = None,
    ) -> Generator[Progress, None, XmpReport]:
        """Write ``photo.jpg.xmp`` sidecars with each photo's tags; originals stay as they are."""
        from clipdesk.core.tags.xmp import export_sidecars

        self.ensure_vocabulary()
        fps = None if paths is None else [self.fingerprint(p) for p in paths]
        return export_sidecars(self.store, fps, sources=sources, dry_run=dry_run, cancel=cancel)
