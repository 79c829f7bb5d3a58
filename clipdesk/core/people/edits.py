"""The user's edits of people: names, merges, "not this person", hiding, forgetting all.

Part of :class:`~clipdesk.core.people.store.PeopleStore`, kept apart so each file has one
job; each edit is one transaction, called from the writer lane only.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, and_, delete, insert, select, update

from clipdesk.core.catalog.schema import face_rejections, face_scans, faces, persons


class PersonEdits:
    """Writes that carry the user's word; faces they touch become ``assigned_by="user"``."""

    engine: Engine

    def rename(self, person_id: int, name: str, *, confirm: bool = False) -> None:
        """Name a person; with ``confirm`` their faces so far become the user's word."""
        with self.engine.begin() as conn:
            conn.execute(
                update(persons)
                .where(persons.c.id == person_id)
                .values(name=name, name_key=name.casefold())
            )
            if confirm:
                conn.execute(
                    update(faces).where(faces.c.person_id == person_id).values(assigned_by="user")
                )

    def set_hidden(self, person_id: int, hidden: bool) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(persons).where(persons.c.id == person_id).values(hidden=hidden))

    def merge(self, keep: int, gone: int) -> None:
        """Move every face of ``gone`` to ``keep`` (but those the user took out of
        ``keep``), carry the user's "not this person", keep a name, and drop ``gone``."""
        with self.engine.begin() as conn:
            kept_out = select(face_rejections.c.face_id).where(face_rejections.c.person_id == keep)
            conn.execute(
                update(faces)
                .where(faces.c.person_id == gone, faces.c.id.in_(kept_out))
                .values(person_id=None)
            )
            conn.execute(update(faces).where(faces.c.person_id == gone).values(person_id=keep))
            # The user said these are one person: clustering leaves the group as it is.
            conn.execute(update(faces).where(faces.c.person_id == keep).values(assigned_by="user"))
            already = select(face_rejections.c.face_id).where(face_rejections.c.person_id == keep)
            conn.execute(
                update(face_rejections)
                .where(
                    face_rejections.c.person_id == gone, face_rejections.c.face_id.not_in(already)
                )
                .values(person_id=keep)
            )
            names = {
                r[0]: (r[1], r[2])
                for r in conn.execute(
                    select(persons.c.id, persons.c.name, persons.c.hidden).where(
                        persons.c.id.in_([keep, gone])
                    )
                )
            }
            conn.execute(delete(persons).where(persons.c.id == gone))
            if names[keep][0] is None and names[gone][0] is not None:
                name = names[gone][0]
                conn.execute(
                    update(persons)
                    .where(persons.c.id == keep)
                    .values(name=name, name_key=name.casefold())
                )

    def reject(self, face_ids: Sequence[int], person_id: int) -> None:
        """ "Not this person": out of the person, and kept out."""
        with self.engine.begin() as conn:
            known = {
                r[0]
                for r in conn.execute(
                    select(face_rejections.c.face_id).where(
                        face_rejections.c.person_id == person_id,
                        face_rejections.c.face_id.in_(list(face_ids)),
                    )
                )
            }
            for face_id in face_ids:
                if face_id not in known:
                    conn.execute(
                        insert(face_rejections).values(face_id=face_id, person_id=person_id)
                    )
            conn.execute(
                update(faces)
                .where(faces.c.id.in_(list(face_ids)), faces.c.person_id == person_id)
                .values(person_id=None, assigned_by="user")
            )
            # The user looked at this person: the faces left in it are their word too, so
            # grouping again keeps the person (and with it the "not").
            conn.execute(
                update(faces).where(faces.c.person_id == person_id).values(assigned_by="user")
            )

    def accept(self, face_id: int, person_id: int) -> None:
        """The user's "this is that person": their word wins over an earlier "not"."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(face_rejections).where(
                    and_(
                        face_rejections.c.face_id == face_id,
                        face_rejections.c.person_id == person_id,
                    )
                )
            )
            conn.execute(
                update(faces)
                .where(faces.c.id == face_id)
                .values(person_id=person_id, assigned_by="user")
            )

    def unassign_auto(self) -> None:
        """Loosen every face clustering placed, before clustering the library again."""
        with self.engine.begin() as conn:
            conn.execute(update(faces).where(faces.c.assigned_by == "auto").values(person_id=None))

    def drop_empty_unnamed(self) -> None:
        with self.engine.begin() as conn:
            used = select(faces.c.person_id).where(faces.c.person_id.is_not(None))
            conn.execute(delete(persons).where(persons.c.name.is_(None), persons.c.id.not_in(used)))

    def forget_all(self) -> None:
        """Every face, embedding, name and decision: gone, in one transaction."""
        with self.engine.begin() as conn:
            for table in (face_rejections, faces, face_scans, persons):
                conn.execute(delete(table))
