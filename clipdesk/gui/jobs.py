"""Plain functions and records for the work the service runs off the GUI thread.

Nothing here touches Qt: each function takes a Library (or a path) and returns a record
that travels back to the GUI thread through a signal. The edits here run on the
library's writer lane (:mod:`clipdesk.gui.writer_jobs` submits them); the rest are
reads, run in a worker.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from clipdesk.core.dupes import DupeReport
    from clipdesk.core.library import Library
    from clipdesk.core.progress import CancelToken, Progress
    from clipdesk.core.search import SearchHit, SearchQuery
    from clipdesk.core.tags.service import PhotoTag

T = TypeVar("T")


@dataclass(frozen=True)
class SearchRequest:
    """Everything the user asked for in one search: text, a dropped image, filters."""

    text: str = ""
    image: str | None = None
    k: int = 200
    folder: str | None = None
    date_from: float | None = None  # epoch seconds, inclusive
    date_to: float | None = None  # epoch seconds, exclusive
    types: tuple[str, ...] = ()  # file types by name, as core.search.FILE_TYPES has them
    excluded: tuple[str, ...] = ()  # folders whose photos are hidden
    tag: str | None = None  # only photos carrying this tag
    person: str | None = None  # only photos of this person (an id, a name)
    sort: str = "relevance"  # or "date": newest first

    @property
    def empty(self) -> bool:
        return not self.text.strip() and self.image is None and self.tag is None and not self.person

    def to_query(self) -> SearchQuery:
        """The core's query: every filter is applied by the one search, in SQL."""
        from clipdesk.core.search import Filters, SearchQuery

        filters = Filters(
            folder=self.folder,
            excluded=self.excluded,
            after=self.date_from,
            before=self.date_to,
            types=self.types,
            tag=self.tag,
            persons=(self.person,) if self.person else (),
        )
        return SearchQuery.from_text(
            self.text, image=self.image, k=self.k, filters=filters, sort=self.sort
        )


@dataclass
class SearchOutcome:
    request: SearchRequest
    hits: list[SearchHit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    error: str | None = None
    fetched: int = 0  # hits the core returned: k when there may be more
    scored: bool = True  # False: listed by filters alone, so no score badges


@dataclass(frozen=True)
class RootInfo:
    """One watched folder as the side panel shows it."""

    path: str
    online: bool
    photos: int
    last_scan_at: float | None


def open_library(directory: str | None, model: str | None, device: str) -> Library:
    from clipdesk.core.library import Library

    return Library.open(directory, model=model, device=device)


def warm_up(library: Library) -> tuple[str, str]:
    """Load the model (torch and weights: seconds), open the index and start the text
    tower, so that the first search is quick.

    torch's own thread pool is kept one core short of the machine, so that encoding
    never takes every core away from the window.
    """
    encoder, _index = library.searchable()  # the index, checked against the database
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
    encoder.encode_texts(["a photo"])  # the text tower's session and the tokenizer
    return encoder.spec.name, encoder.device


def run_search(library: Library, request: SearchRequest) -> SearchOutcome:
    """One search, filters included; errors come back as a message."""
    started = time.perf_counter()
    outcome = SearchOutcome(request)
    if request.empty:
        return outcome
    try:
        results = library.find(request.to_query())
    except Exception as exc:  # a search error must never take the window down
        outcome.error = str(exc) or type(exc).__name__
        outcome.elapsed_s = time.perf_counter() - started
        return outcome
    outcome.fetched = len(results.hits)
    outcome.hits = results.hits
    outcome.scored = results.scored
    outcome.notes = list(results.notes)
    outcome.elapsed_s = time.perf_counter() - started
    return outcome


def library_tags(library: Library) -> list[tuple[str, int]]:
    """Tags that some photo carries, most used first; none where tags are unavailable."""
    tags = getattr(library, "tags", None)
    if tags is None:
        return []
    try:
        return [(t.name, t.count) for t in tags.list_tags() if t.count > 0]
    except Exception:  # tags are an extra: a problem there must not hide the library
        return []


def photo_tags(library: Library, path: str) -> tuple[str, list[PhotoTag]]:
    """A photo's tags (the ones the user took off it too), for the detail view."""
    tags = getattr(library, "tags", None)
    if tags is None:
        return path, []
    try:
        return path, tags.tags_of(path)
    except Exception:  # not indexed yet, or no tags for this model
        return path, []


def tag_names(library: Library) -> list[str]:
    """Every tag of the vocabulary, for completing a name the user types."""
    try:
        return sorted((t.name for t in library.tags.vocabulary()), key=str.casefold)
    except Exception:  # tags are an extra
        return []


DECISIONS = ("yes", "no", "forget")


def decide_tag(library: Library, path: str, tag: str, decision: str) -> str:
    """The user's word on one photo: ``yes`` (a new name makes a custom tag), ``no``, or
    ``forget`` (let the models decide again). Returns the tag's name as stored."""
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}")
    tags = library.tags
    if decision == "yes":
        return tags.teach(tag, [path]).name
    if decision == "no":
        tags.reject(tag, [path])
    else:
        tags.forget(tag, path)
    record = tags.store.tag(tag)
    return record.name if record is not None else tag


def teach_tag(library: Library, tag: str, paths: Sequence[str]) -> str:
    """Photos the user says carry ``tag`` (a new name makes a custom tag)."""
    return library.tags.teach(tag, list(paths)).name


def edit_vocabulary(library: Library, action: str, tag: str, value: str | None = None) -> None:
    """Add (``value``: how to describe it, or None), rename (``value``: the new name),
    describe (``value``: phrases, or None for the name itself) or remove a tag."""
    tags = library.tags
    if action == "add":
        tags.add_tag(tag, value)
    elif action == "rename":
        tags.rename_tag(tag, value or "")
    elif action == "describe":
        tags.set_prompt(tag, value)
    elif action == "remove":
        tags.remove_tag(tag)
    else:
        raise ValueError(f"unknown vocabulary edit {action!r}")


def duplicates_job(
    library: Library, threshold: float | None, cancel: CancelToken
) -> Generator[Progress, None, DupeReport]:
    """Groups of near-duplicate photos, the one to keep first in each."""
    from clipdesk.core.dupes import DEFAULT_THRESHOLD, find_duplicates

    limit = DEFAULT_THRESHOLD if threshold is None else threshold
    return (yield from _closing(find_duplicates(library, threshold=limit, cancel=cancel)))


def library_people(library: Library) -> list:
    """The people panel's entries, cover faces cut out; none when reading them fails."""
    from clipdesk.gui.people_panel import cover_faces

    try:
        return cover_faces(library.people.people())
    except Exception:  # people are an extra: a problem there must not hide the library
        return []


def library_state(
    library: Library,
) -> tuple[dict[str, object], list[RootInfo], list[tuple[str, int]], list]:
    """The status dict, the watched folders with their photo counts, the tags and the
    people."""
    try:
        status = library.status()
    except Exception as exc:  # no model installed yet: the counts are still worth showing
        key = library.catalog.get_meta("model_key") or ""
        counts = library.catalog.counts(key)
        status = {
            "indexed": counts.indexed,
            "pending": counts.pending,
            "skipped": counts.skipped,
            "offline": counts.offline,
            "unread": counts.unread,
            "model": None,
            "device": None,
            "model_problem": str(exc),
        }
    roots = [
        RootInfo(r.fspath, r.online, len(library.catalog.files_of_root(r.id)), r.last_scan_at)
        for r in library.roots()
    ]
    return status, roots, library_tags(library), library_people(library)


def watch_activity(progress: Progress) -> str:
    """The folder watcher's progress as the status bar says it."""
    if progress.stage == "embed" and progress.total:
        return f"Reading new and changed photos… {progress.done:,} / {progress.total:,}"
    if progress.stage == "read" and progress.total:  # the photos can be searched already
        return f"Reading text and faces… {progress.done:,} / {progress.total:,}"
    return "Looking for new and changed photos…"


def _closing(job: Generator[Progress, None, T]) -> Generator[Progress, None, T]:
    """``job``'s progress and result; closing this closes ``job``, so its own clean-up
    runs in the worker thread."""
    try:
        return (yield from job)
    finally:
        job.close()


def photo_faces(library: Library, path: str) -> tuple[str, list]:
    """The faces found in one photo (none when it is not indexed, or faces are off)."""
    try:
        return path, library.people.faces_in(path)
    except Exception:  # people are an extra: the preview shows without boxes
        return path, []
