"""Grouping faces into people, one face at a time, as photos arrive.

A new face joins the person of its nearest face within the threshold, unless the user
said that face is not that person, or the person already has a face in the same photo
(two faces in one photo are two people). A face near only loose faces forms a new person
with the nearest of them; a face near nothing stays loose until one comes. The user's
word is never moved: faces the user put somewhere stay, and a face the user took out of
a person is never put back in it.
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

    @classmethod
    def of(cls, rows: Iterable[FaceRow], rejected: set[tuple[int, int]]) -> Clusters:
        rows = list(rows)
        out = cls(rejected=set(rejected))
        out.ids = [r.id for r in rows]
        out.fingerprints = [r.fingerprint for r in rows]
        out.persons = [r.person_id for r in rows]
        if rows:
            out.vectors = np.stack([r.embedding for r in rows]).astype(np.float32)
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

    def place(
        self,
        face_id: int,
        fingerprint: str,
        vector: np.ndarray,
        threshold: float,
        new_person: Callable[[], int],
    ) -> dict[int, int]:
        """Add one face; returns the faces given a person by it ({face id: person id})."""
        known = len(self.ids)
        row = self._append(face_id, fingerprint, vector)
        if known == 0:
            return {}
        distances = np.linalg.norm(self.vectors[:known] - vector[None, :], axis=1)
        order = np.argsort(distances)
        in_photo = {
            p for p, fp in zip(self.persons, self.fingerprints, strict=True) if fp == fingerprint
        }
        loose: int | None = None
        for other in order:
            if distances[other] > threshold:
                break
            if self.fingerprints[other] == fingerprint:
                continue
            person = self.persons[other]
            if person is None:
                loose = int(other) if loose is None else loose
                continue
            if person in in_photo or (face_id, person) in self.rejected:
                continue
            self.persons[row] = person
            return {face_id: person}
        if loose is None:
            return {}
        person = new_person()
        self.persons[row] = person
        self.persons[loose] = person
        return {face_id: person, self.ids[loose]: person}
