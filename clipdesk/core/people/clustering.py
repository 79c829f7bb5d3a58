"""Grouping faces into people, one face at a time, as photos arrive.

A new face joins the person of its nearest face within the threshold, unless the user
said that face is not that person, or the person already has a face in the same photo
(two faces in one photo are two people). A face near only loose faces forms a new person
with them; a face near nothing stays loose until one comes. Then the link is followed
(single linkage): loose faces and people nobody vouched for that lie within the
threshold of the new face join its person too, so the grouping does not depend on the
order photos arrive in. The user's word is never moved: a person the user named or put
a face in ("fixed") is never merged into another, and a face the user took out of a
person is never put back in it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from clipdesk.core.people.records import FaceRow


@dataclass
class Clusters:
    """Every face of a library with its person, as the clustering sees them."""

    ids: list[int] = field(default_factory=list)
    fingerprints: list[str] = field(default_factory=list)
    persons: list[int | None] = field(default_factory=list)
    # Rows past ``len(ids)`` are spare room, grown by doubling: adding one face must not
    # copy every face before it.
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 128), np.float32))
    rejected: set[tuple[int, int]] = field(default_factory=set)  # (face id, person id)
    fixed: set[int] = field(default_factory=set)  # named, or holding a face the user placed
    _members: dict[int, list[int]] = field(default_factory=dict)  # person -> rows
    _photos: dict[int, dict[str, int]] = field(default_factory=dict)  # person -> fp -> faces

    @classmethod
    def of(
        cls,
        rows: Iterable[FaceRow],
        rejected: Iterable[tuple[int, int]],
        fixed: Iterable[int] = (),
    ) -> Clusters:
        out = cls(rejected=set(rejected), fixed=set(fixed))
        for row in rows:
            index = out._append(row.id, row.fingerprint, row.embedding)
            if row.person_id is not None:
                out._set(index, row.person_id, {})
        return out

    def _append(self, face_id: int, fingerprint: str, vector: np.ndarray) -> int:
        self.ids.append(face_id)
        self.fingerprints.append(fingerprint)
        self.persons.append(None)
        row = len(self.ids) - 1
        if row >= len(self.vectors):
            grown = np.zeros((max(64, 2 * len(self.vectors)), vector.shape[0]), np.float32)
            grown[: len(self.vectors)] = self.vectors
            self.vectors = grown
        self.vectors[row] = vector
        return row

    def _set(self, row: int, person: int, placed: dict[int, int]) -> None:
        old = self.persons[row]
        fingerprint = self.fingerprints[row]
        if old is not None:
            self._members[old].remove(row)
            photos = self._photos[old]
            photos[fingerprint] -= 1
            if not photos[fingerprint]:
                del photos[fingerprint]
        self.persons[row] = person
        self._members.setdefault(person, []).append(row)
        photos = self._photos.setdefault(person, {})
        photos[fingerprint] = photos.get(fingerprint, 0) + 1
        placed[self.ids[row]] = person

    def _may_join(self, row: int, person: int) -> bool:
        return (
            self.fingerprints[row] not in self._photos.get(person, {})
            and (self.ids[row], person) not in self.rejected
        )

    def _may_merge(self, gone: int, keep: int) -> bool:
        if gone in self.fixed or self._photos.get(gone, {}).keys() & self._photos.get(keep, {}):
            return False
        return not any((self.ids[r], keep) in self.rejected for r in self._members.get(gone, []))

    def place(
        self,
        face_id: int,
        fingerprint: str,
        vector: np.ndarray,
        threshold: float,
        new_person: Callable[[], int],
    ) -> dict[int, int]:
        """Add one face; returns every face it gave a person ({face id: person id})."""
        known = len(self.ids)
        row = self._append(face_id, fingerprint, vector)
        if known == 0:
            return {}
        distances = np.linalg.norm(self.vectors[:known] - vector[None, :], axis=1)
        close = np.flatnonzero(distances <= threshold)
        near = [
            int(r)
            for r in close[np.argsort(distances[close])]
            if self.fingerprints[r] != fingerprint
        ]
        placed: dict[int, int] = {}
        target = next(
            (p for r in near if (p := self.persons[r]) is not None and self._may_join(row, p)),
            None,
        )
        if target is None:
            loose = next((r for r in near if self.persons[r] is None), None)
            if loose is None:
                return {}
            target = new_person()
            self._set(loose, target, placed)
        self._set(row, target, placed)
        for other in near:
            person = self.persons[other]
            if person == target:
                continue
            if person is None:
                if self._may_join(other, target):
                    self._set(other, target, placed)
            elif self._may_merge(person, target):
                for member in list(self._members[person]):
                    self._set(member, target, placed)
        return placed
