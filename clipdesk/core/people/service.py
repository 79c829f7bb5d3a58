"""People of one library: the API the command line and the window use.

Faces come from indexing (``record``, called by the index job on the writer lane, is the
library's :class:`~clipdesk.core.faces.FaceSink`); people are formed from them as they
arrive (``clustering``), with a threshold read from the library (``calibration``). The
user's word (a name, a merge, "not this person", hiding) is a short job on the writer
lane that holds the library's write guard (another process indexing is waited for: its
clustering writes the same tables) and is never undone by clustering. Reads run on the
caller's thread.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from clipdesk.core.catalog.orphans import PEOPLE_VERSION
from clipdesk.core.catalog.rows import path_bytes
from clipdesk.core.errors import PeopleError
from clipdesk.core.faces.sink import FACES_SETTING, faces_setting
from clipdesk.core.people.calibration import (
    DEFAULT,
    Threshold,
    calibrate,
    same_photo_distances,
    threshold_from,
)
from clipdesk.core.people.clustering import Clusters
from clipdesk.core.people.records import FaceRow, PersonInfo, PhotoFace
from clipdesk.core.people.store import PeopleStore

if TYPE_CHECKING:
    from clipdesk.core.catalog import Catalog
    from clipdesk.core.faces.detect import FoundFace
    from clipdesk.core.lane import WriterLane

__all__ = ["FACES_SETTING", "PeopleService", "PersonInfo", "PhotoFace"]

THRESHOLD_META = "faces_threshold"  # "<value> <same-photo pairs it was read from>"
# Changed by every write to the people tables, by any process: clustering keeps a copy of
# every face in memory, and reads them again when another process (a `clipdesk people`
# edit while the window indexes, a photo removed) changed them since.
VERSION_META = PEOPLE_VERSION
DETECTOR = "hog"
T = TypeVar("T")


def clean_name(name: str) -> str:
    """A person's name as stored: spaces collapsed; refused when empty or not text."""
    clean = " ".join(name.split())
    if not clean:
        raise PeopleError("a person's name cannot be empty")
    try:
        clean.encode("utf-8")
    except UnicodeEncodeError:
        raise PeopleError(f"{clean!r} is not a name that can be stored as text") from None
    return clean


class PeopleService:
    """Faces, people and the user's word on them, for one library."""

    def __init__(self, store: PeopleStore, catalog: Catalog, writer: WriterLane) -> None:
        self.store = store
        self.catalog = catalog
        self.writer = writer
        self._clusters: Clusters | None = None  # the lane's own copy, rebuilt after edits
        self._pairs = np.zeros(0, np.float32)  # distances of faces sharing a photo
        self._version: str | None = None  # VERSION_META when ``_clusters`` was read

    # -- indexing (on the lane) -----------------------------------------------------------

    def scanned(self) -> set[str]:
        return self.store.scanned()

    def record(self, found: Sequence[tuple[str, tuple[FoundFace, ...]]]) -> int:
        """Store newly found faces, read the threshold again, and place each with a person."""
        clusters = self._loaded()  # before the new faces are stored: they come below
        new = self.store.record(found, DETECTOR)
        if not new:
            return 0
        # Faces of one photo arrive together, so the new same-photo pairs are all within
        # the new faces: the pooled distances grow without a pass over the library.
        fresh = same_photo_distances([f.fingerprint for f in new], _stack(new))
        self._pairs = np.concatenate([self._pairs, fresh])
        threshold = threshold_from(self._pairs)
        self.catalog.set_meta(THRESHOLD_META, f"{threshold.value:.4f} {threshold.pairs}")
        placed: dict[int, int] = {}
        for face in new:
            placed.update(
                clusters.place(
                    face.id,
                    face.fingerprint,
                    face.embedding,
                    threshold.value,
                    self.store.new_person,
                )
            )
        self.store.assign(placed)
        self.store.drop_empty_unnamed()  # people merged into others by the new faces
        self._version = self._changed()
        return len(new)

    def _loaded(self) -> Clusters:
        if self._clusters is None or self.catalog.get_meta(VERSION_META) != self._version:
            self._version = self.catalog.get_meta(VERSION_META)
            rows = self.store.face_rows()
            self._clusters = Clusters.of(rows, self.store.rejections(), self.store.fixed_persons())
            self._pairs = same_photo_distances([r.fingerprint for r in rows], _stack(rows))
        return self._clusters

    def _changed(self) -> str:
        """Mark the people tables changed (on the lane, after a write); the new mark."""
        mark = f"{os.getpid()}-{time.monotonic_ns()}"
        self.catalog.set_meta(VERSION_META, mark)
        return mark

    def threshold(self) -> Threshold:
        """The library's threshold as last read from its faces."""
        stored = self.catalog.get_meta(THRESHOLD_META)
        if not stored:
            return Threshold(DEFAULT, 0)
        value, pairs = stored.split()
        return Threshold(float(value), int(pairs))

    def recluster(self) -> None:
        """Group every face again from scratch, keeping the user's word (a lane job)."""

        def run() -> None:
            rows = self.store.face_rows()
            threshold = calibrate([r.fingerprint for r in rows], _stack(rows))
            self.store.unassign_auto()
            kept = [r for r in rows if r.assigned_by == "user"]
            clusters = Clusters.of(kept, self.store.rejections(), self.store.fixed_persons())
            placed: dict[int, int] = {}
            for row in rows:
                if row.assigned_by != "user":
                    placed.update(
                        clusters.place(
                            row.id,
                            row.fingerprint,
                            row.embedding,
                            threshold.value,
                            self.store.new_person,
                        )
                    )
            self.store.assign(placed)
            self.store.drop_empty_unnamed()

        self._edit(run, "group faces again")

    # -- reading --------------------------------------------------------------------------

    def people(self, *, include_hidden: bool = False) -> list[PersonInfo]:
        return self.store.people(include_hidden=include_hidden)

    def person(self, ref: str | int) -> PersonInfo:
        """A person by id, name or "Person <id>" (hidden ones too)."""
        person_id = self._resolve(ref)
        for person in self.store.people(include_hidden=True):
            if person.id == person_id:
                return person
        raise PeopleError(f"no person called {ref}: `clipdesk people` lists them")

    def faces_in(self, path: str | os.PathLike[str]) -> list[PhotoFace]:
        """The faces found in one indexed photo, left to right."""
        return self.store.faces_in_photo(self._fingerprint(path))

    def _resolve(self, ref: str | int) -> int:
        found = self.store.find_person(str(ref))
        if found is None:
            raise PeopleError(f"no person called {ref}: `clipdesk people` lists them")
        return found

    def _fingerprint(self, path: str | os.PathLike[str]) -> str:
        record = self.catalog.file_by_path(path_bytes(os.path.abspath(Path(path))))
        if record is None or record.fingerprint is None:
            raise PeopleError(f"{os.fspath(path)} is not an indexed photo")
        return record.fingerprint

    # -- the user's word (lane jobs) -------------------------------------------------------

    def _edit(self, func: Callable[[], T], name: str) -> T:
        """Run one edit on the writer lane; clustering reads the tables afresh after it."""

        def run() -> T:
            try:
                return func()
            finally:
                self._clusters = None
                self._changed()

        return self.writer.call(run, guarded=True, name=name)

    def name(self, ref: str | int, name: str) -> PersonInfo:
        """Name a person; their faces so far become the user's word."""
        clean = clean_name(name)
        person_id = self._resolve(ref)
        if self.store.name_taken(clean, person_id):
            raise PeopleError(
                f"someone is already named {clean!r}: `clipdesk people merge` joins two people"
            )
        self._edit(lambda: self.store.rename(person_id, clean, confirm=True), "name a person")
        return self.person(person_id)

    def merge(self, keep: str | int, gone: str | int) -> PersonInfo:
        """Join ``gone`` into ``keep``: one person, the name either had."""
        keep_id, gone_id = self._resolve(keep), self._resolve(gone)
        if keep_id == gone_id:
            raise PeopleError("a person cannot be merged with themselves")
        if self.store.person_name(keep_id) and self.store.person_name(gone_id):
            raise PeopleError("both people have names: rename one first, or merge into it")
        self._edit(lambda: self.store.merge(keep_id, gone_id), "merge two people")
        return self.person(keep_id)

    def forget_face(self, path: str | os.PathLike[str], person: str | int) -> int:
        """ "Not this person" for the person's faces in one photo; how many were moved out."""
        person_id = self._resolve(person)
        face_ids = self.store.faces_of(self._fingerprint(path), person_id)
        if not face_ids:
            raise PeopleError(f"{os.fspath(path)} has no face of {person}")
        self._edit(lambda: self.store.reject(face_ids, person_id), "not this person")
        return len(face_ids)

    def set_face(self, face_id: int, name: str) -> int:
        """The window's word on one face: it is ``name`` (a person made if new); returns
        the person's id. A face moved from another person is kept out of that one."""
        clean = clean_name(name)

        def run() -> int:
            target = self.store.find_person(clean)
            if target is None:
                target = self.store.new_person()
                self.store.rename(target, clean)
            current = self.store.person_of(face_id)
            if current is not None and current != target:
                self.store.reject([face_id], current)
            self.store.accept(face_id, target)
            return target

        return self._edit(run, "name a face")

    def hide(self, ref: str | int, hidden: bool = True) -> None:
        person_id = self._resolve(ref)
        self._edit(lambda: self.store.set_hidden(person_id, hidden), "hide a person")

    def forget_all(self) -> None:
        """Delete every face, embedding, name and decision; stop finding faces until an
        index is asked for them (``index --faces``)."""

        def run() -> None:
            self.store.forget_all()
            self.catalog.set_meta(THRESHOLD_META, "")
            self.catalog.set_meta(FACES_SETTING, "off")

        self._edit(run, "forget every face")

    def faces_on(self) -> bool | None:
        """The library's own setting: False after ``forget-all``, None when never set."""
        return faces_setting(self.catalog.get_meta(FACES_SETTING))

    def set_faces_on(self, on: bool) -> None:
        self.writer.call(
            lambda: self.catalog.set_meta(FACES_SETTING, "on" if on else "off"),
            guarded=True,
            name="faces setting",
        )


def _stack(rows: Sequence[FaceRow]) -> np.ndarray:
    if not rows:
        return np.zeros((0, 128), np.float32)
    return np.stack([r.embedding for r in rows])
