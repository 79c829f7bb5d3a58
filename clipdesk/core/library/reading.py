"""The library's reading side: the one search, an image's vector and the status.

These run on the caller's thread and never wait for the writer lane: the encoder and
index come from :class:`ModelVectors`, taken together at once, and everything else is
read from the catalog.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from clipdesk.core.catalog.catalog import path_bytes
from clipdesk.core.errors import LibraryError
from clipdesk.core.scanner import waiting_in_new_roots
from clipdesk.core.search import Filters, SearchParts, SearchQuery, SearchResults, search

if TYPE_CHECKING:
    from clipdesk.core.catalog import Catalog
    from clipdesk.core.encoder import Encoder
    from clipdesk.core.library.model_vectors import ModelVectors
    from clipdesk.core.model_slot import ModelSlot
    from clipdesk.core.people.service import PeopleService
    from clipdesk.core.tags.service import TagService
    from clipdesk.core.vectors import VectorIndex

__all__ = ["LibraryReader", "device_name"]


def device_name(model: ModelSlot) -> str:
    """The device the model runs (or will run) on."""
    loaded = model.loaded
    if loaded is not None:
        return loaded.device
    from clipdesk.core.onnx_backend import accelerator_present
    from clipdesk.core.onnx_devices import requested_device

    requested = requested_device(model.device_request)
    if requested in ("auto", "cpu") and not accelerator_present():
        return "cpu"  # known without importing torch (seconds the window would wait)
    from clipdesk.core.encoder import expected_device

    return expected_device(requested)


class LibraryReader:
    """Searches and the status of one library (see the module docstring)."""

    def __init__(
        self,
        catalog: Catalog,
        model: ModelSlot,
        vectors: ModelVectors,
        tags: Callable[[], TagService],
        people: Callable[[], PeopleService],
    ) -> None:
        self._catalog = catalog
        self._model = model
        self._vectors = vectors
        self._tags = tags  # the tag service is built on first use
        self._people = people  # so is the people service

    def _check_searchable(self, encoder: Encoder, vectors: VectorIndex) -> None:
        if len(vectors) == 0:
            known = self._catalog.model_keys()
            if known and encoder.model_key not in known:
                raise LibraryError(
                    f"this library was indexed with another model ({', '.join(known)}); "
                    f"run `clipdesk index` to embed it with {encoder.model_key}"
                )

    def find(self, query: SearchQuery) -> SearchResults:
        """The one search: text, image, negatives and filters in one query object.

        Filters are an allowed set in SQL, so ``query.k`` results come back whenever
        that many photos pass them. A query with only a tag lists the tag's photos.
        """
        if query.filters.tag is not None:
            self._tags().tag(query.filters.tag)  # an unknown tag is an error, not "none"
        for person in query.filters.persons:
            self._people().person(person)  # so is an unknown person
        taken: list[tuple[Encoder, VectorIndex]] = []

        def current() -> tuple[Encoder, VectorIndex]:
            """The model's encoder and index, taken together once (a model switch swaps
            both at once) and only when needed (a tag's list loads no model)."""
            if not taken:
                taken.append(self._vectors.searchable())
            return taken[0]

        if query.has_vector:
            self._check_searchable(*current())
        parts = SearchParts(
            catalog=self._catalog,
            model_name=self._model.name,
            vectors=lambda: current()[1],
            encoder=lambda: current()[0],
            image_vector=lambda image: self.image_vector(image, encoder=current()[0]),
        )
        return search(query, parts)

    def search(
        self,
        text: str = "",
        *,
        image: str | os.PathLike[str] | None = None,
        k: int = 20,
        folder: str | os.PathLike[str] | None = None,
        tag: str | None = None,
        filters: Filters | None = None,
        all_scenes: bool = False,
    ) -> SearchResults:
        """Photos matching a text, an image, or both (see :meth:`Library.search`)."""
        base = filters or Filters()
        base = replace(
            base,
            folder=os.fspath(folder) if folder else base.folder,
            tag=tag if tag is not None else base.tag,
        )
        query = SearchQuery.from_text(text, image=image, k=k, filters=base, all_scenes=all_scenes)
        results = self.find(query)
        results.query = text
        return results

    def image_vector(
        self, image: str | os.PathLike[str], *, encoder: Encoder | None = None
    ) -> np.ndarray:
        """The embedding of an image file: stored if the library has it, else computed.
        A video stands for its scenes: the mean of their vectors."""
        encoder = encoder or self._model.get()
        path = Path(image).expanduser().resolve()
        stored = self._catalog.vector_for_file(path_bytes(path), encoder.model_key)
        if stored is not None:
            return stored
        scenes = self._catalog.scenes_of_file(path_bytes(path))
        if scenes:  # a video of the library: what its scenes have in common
            from clipdesk.core.video.vectors import mean_vector

            return mean_vector(self._catalog.scene_vectors(scenes, encoder.model_key))
        from clipdesk.core.errors import ImageReadError
        from clipdesk.core.imageio import read_image
        from clipdesk.core.mediatypes import is_video_path

        try:
            if is_video_path(path):  # a video from elsewhere: its scenes, read here
                from clipdesk.core.video.reader import read_video
                from clipdesk.core.video.vectors import mean_vector

                video = read_video(path_bytes(path), target_size=encoder.preprocess_cfg.size)
                return mean_vector(encoder.encode_images([s.image for s in video.scenes]))
            decoded = read_image(path, target_size=encoder.preprocess_cfg.size)
        except ImageReadError as exc:
            raise LibraryError(f"cannot read {path}: {exc}") from exc
        except FileNotFoundError as exc:
            raise LibraryError(f"no such file: {path}") from exc
        return encoder.encode_images([decoded.image])[0]

    def status(self) -> dict[str, object]:
        """Counts of files on disk by state, as ``clipdesk status --json`` prints them."""
        key = self._model.model_key() or ""
        counts = self._catalog.counts(key)
        roots = self._catalog.roots()
        return {
            "indexed": counts.indexed,
            "pending": counts.pending + waiting_in_new_roots(roots),
            "skipped": counts.skipped,
            "offline": counts.offline,
            "unread": counts.unread,
            "model": self._model.name,
            "device": device_name(self._model),
            "roots": [
                {"path": r.fspath, "online": r.online, "last_scan_at": r.last_scan_at}
                for r in roots
            ],
            "skipped_files": [
                {"path": f.fspath, "reason": f.skip_reason} for f in self._catalog.skipped_files()
            ],
            "unread_files": [
                {"path": f.fspath, "reason": f.skip_reason} for f in self._catalog.unread_files()
            ],
        }
