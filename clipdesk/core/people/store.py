"""People tables: faces (by fingerprint), the people they form and the user's word.

Queries live here rather than in the catalog so that people stay one self-contained part
sharing the catalog's engine, as tags do. Every method that writes is called from the
writer lane only (``PeopleService``); reads may come from any thread.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import Connection, Engine, func, insert, select, update

from clipdesk.core.catalog.mounts import to_local
from clipdesk.core.catalog.schema import face_rejections, face_scans, faces, files, persons, roots
from clipdesk.core.people.edits import PersonEdits
from clipdesk.core.people.records import FaceRow, PersonInfo, PhotoFace

if TYPE_CHECKING:
    from clipdesk.core.faces.detect import FoundFace

__all__ = ["PeopleStore"]


def _visible_fps() -> object:
    """Fingerprints of readable files in online roots: what the people lists count."""
    online = files.c.root_id.in_(select(roots.c.id).where(roots.c.online.is_(True)))
    return select(files.c.fingerprint).where(files.c.status == "ok", online)


def _storable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class PeopleStore(PersonEdits):
    """Reads and writes of the people tables (the user's edits in ``PersonEdits``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- faces ---------------------------------------------------------------------------

    def scanned(self) -> set[str]:
        with self.engine.connect() as conn:
            return {row[0] for row in conn.execute(select(face_scans.c.fingerprint))}

    def record(
        self, found: Sequence[tuple[str, tuple[FoundFace, ...]]], detector: str
    ) -> list[FaceRow]:
        """Store the faces of photos looked at; a photo already looked at is left as is."""
        now = time.time()
        new: list[FaceRow] = []
        with self.engine.begin() as conn:
            fps = [fp for fp, _ in found]
            done = {
                row[0]
                for row in conn.execute(
                    select(face_scans.c.fingerprint).where(face_scans.c.fingerprint.in_(fps))
                )
            }
            for fingerprint, found_faces in found:
                if fingerprint in done:
                    continue
                done.add(fingerprint)
                conn.execute(
                    insert(face_scans).values(
                        fingerprint=fingerprint,
                        faces=len(found_faces),
                        detector=detector,
                        scanned_at=now,
                    )
                )
                for face in found_faces:
                    vector = np.ascontiguousarray(face.embedding, dtype=np.float32)
                    left, top, right, bottom = face.box
                    result = conn.execute(
                        insert(faces).values(
                            fingerprint=fingerprint,
                            left=left,
                            top=top,
                            right=right,
                            bottom=bottom,
                            score=face.score,
                            embedding=vector.tobytes(),
                        )
                    )
                    face_id = int(result.inserted_primary_key[0])
                    new.append(FaceRow(face_id, fingerprint, vector, None, "auto"))
        return new

    def face_rows(self) -> list[FaceRow]:
        query = select(
            faces.c.id,
            faces.c.fingerprint,
            faces.c.embedding,
            faces.c.person_id,
            faces.c.assigned_by,
        ).order_by(faces.c.id)
        with self.engine.connect() as conn:
            return [
                FaceRow(r[0], r[1], np.frombuffer(r[2], np.float32), r[3], r[4])
                for r in conn.execute(query)
            ]

    def rejections(self) -> set[tuple[int, int]]:
        with self.engine.connect() as conn:
            return {(r[0], r[1]) for r in conn.execute(select(face_rejections))}

    def faces_in_photo(self, fingerprint: str) -> list[PhotoFace]:
        query = (
            select(
                faces.c.id,
                faces.c.left,
                faces.c.top,
                faces.c.right,
                faces.c.bottom,
                faces.c.person_id,
                persons.c.name,
            )
            .outerjoin(persons, persons.c.id == faces.c.person_id)
            .where(faces.c.fingerprint == fingerprint)
            .order_by(faces.c.left)
        )
        with self.engine.connect() as conn:
            return [
                PhotoFace(r[0], (r[1], r[2], r[3], r[4]), r[5], r[6]) for r in conn.execute(query)
            ]

    # -- people --------------------------------------------------------------------------

    def new_person(self) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(insert(persons).values(created_at=time.time()))
            return int(result.inserted_primary_key[0])

    def assign(self, placed: dict[int, int], *, by: str = "auto") -> None:
        """Give faces their person ({face id: person id})."""
        with self.engine.begin() as conn:
            for face_id, person_id in placed.items():
                conn.execute(
                    update(faces)
                    .where(faces.c.id == face_id)
                    .values(person_id=person_id, assigned_by=by)
                )

    def fixed_persons(self) -> set[int]:
        """People clustering must not merge away: named, or holding a face the user placed."""
        user = select(faces.c.person_id).where(
            faces.c.assigned_by == "user", faces.c.person_id.is_not(None)
        )
        query = select(persons.c.id).where(persons.c.name.is_not(None) | persons.c.id.in_(user))
        with self.engine.connect() as conn:
            return {r[0] for r in conn.execute(query)}

    def person_ids(self) -> set[int]:
        with self.engine.connect() as conn:
            return {r[0] for r in conn.execute(select(persons.c.id))}

    def find_person(self, ref: str) -> int | None:
        """A person by name (any case), by id, or by "Person <id>"."""
        key = " ".join(ref.split()).casefold()
        if not _storable(key):
            return None  # a name no person can have (lone surrogates from a file name)
        with self.engine.connect() as conn:
            found = conn.execute(select(persons.c.id).where(persons.c.name_key == key)).first()
            if found is not None:
                return int(found[0])
            digits = key.removeprefix("person").strip()
            if digits.isdigit():
                found = conn.execute(
                    select(persons.c.id).where(persons.c.id == int(digits))
                ).first()
                if found is not None:
                    return int(found[0])
        return None

    def people(self, *, include_hidden: bool = False) -> list[PersonInfo]:
        """People with at least one face in a visible photo (or a name): named first,
        then by how many photos they are in."""
        visible = faces.c.fingerprint.in_(_visible_fps())
        counts = (
            select(
                faces.c.person_id.label("pid"),
                func.count(func.distinct(faces.c.fingerprint)).label("photos"),
                func.count(faces.c.id).label("faces"),
            )
            .where(visible, faces.c.person_id.is_not(None))
            .group_by(faces.c.person_id)
            .subquery()
        )
        query = select(
            persons.c.id,
            persons.c.name,
            persons.c.hidden,
            func.coalesce(counts.c.photos, 0),
            func.coalesce(counts.c.faces, 0),
        ).outerjoin(counts, counts.c.pid == persons.c.id)
        if not include_hidden:
            query = query.where(persons.c.hidden.is_(False))
        with self.engine.connect() as conn:
            rows = [r for r in conn.execute(query) if r[3] > 0 or r[1] is not None]
            covers = self._covers(conn, [r[0] for r in rows])
        out = [
            PersonInfo(
                r[0], r[1], int(r[3]), int(r[4]), bool(r[2]), *covers.get(r[0], (None, None))
            )
            for r in rows
        ]
        out.sort(key=lambda p: (p.name is None, -p.photos, p.id))
        return out

    def _covers(
        self, conn: Connection, ids: Iterable[int]
    ) -> dict[int, tuple[str, tuple[float, float, float, float]]]:
        """Each person's cover: their most certain face in a visible photo."""
        from os import fsdecode

        wanted = list(ids)
        if not wanted:
            return {}
        query = (
            select(
                faces.c.person_id,
                files.c.path,
                faces.c.left,
                faces.c.top,
                faces.c.right,
                faces.c.bottom,
            )
            .join(files, files.c.fingerprint == faces.c.fingerprint)
            .where(faces.c.person_id.in_(wanted), faces.c.fingerprint.in_(_visible_fps()))
            .order_by(faces.c.person_id, faces.c.score.desc(), faces.c.id)
        )
        out: dict[int, tuple[str, tuple[float, float, float, float]]] = {}
        for row in conn.execute(query):
            where = fsdecode(to_local(row[1]))  # as this computer sees it
            out.setdefault(row[0], (where, (row[2], row[3], row[4], row[5])))
        return out

    def person_of(self, face_id: int) -> int | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(faces.c.person_id).where(faces.c.id == face_id)).first()
            return None if row is None else row[0]

    def name_taken(self, name: str, by_other_than: int) -> bool:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(persons.c.id).where(
                    persons.c.name_key == name.casefold(), persons.c.id != by_other_than
                )
            ).first()
            return row is not None

    def person_name(self, person_id: int) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(persons.c.name).where(persons.c.id == person_id)).first()
            return None if row is None else row[0]

    def faces_of(self, fingerprint: str, person_id: int) -> list[int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(faces.c.id).where(
                    faces.c.fingerprint == fingerprint, faces.c.person_id == person_id
                )
            )
            return [r[0] for r in rows]
