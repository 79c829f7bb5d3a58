"""Plain records the people store hands out: a face, a person, a face in a photo."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class FaceRow:
    """One stored face, as clustering needs it."""

    id: int
    fingerprint: str
    embedding: np.ndarray
    person_id: int | None
    assigned_by: str  # auto | user


@dataclass(frozen=True, slots=True)
class PhotoFace:
    """A face in one photo, as the window draws it: its box (fractions) and its person."""

    id: int
    box: tuple[float, float, float, float]
    person_id: int | None
    person_name: str | None


@dataclass(frozen=True, slots=True)
class PersonInfo:
    """A person as listed: unnamed ones are shown as "Person <id>"."""

    id: int
    name: str | None
    photos: int
    faces: int
    hidden: bool
    cover_path: str | None  # a photo carrying the cover face
    cover_box: tuple[float, float, float, float] | None

    @property
    def label(self) -> str:
        return self.name or f"Person {self.id}"

    def to_json(self) -> dict[str, object]:
        """The shape ``clipdesk people --json`` prints for each person."""
        return {"id": self.id, "name": self.name, "photos": self.photos, "faces": self.faces}
