"""The user's yes and no on photos outlive the tag they were given to.

Decisions are the one part of a tag that cannot be recomputed; a tag removed by mistake
(an empty vocabulary file) and added back later under the same name honours them again.
They wait in the catalog's meta table, keyed by the tag's name.
"""

from __future__ import annotations

import json
import time

from sqlalchemy import delete, insert, select

from clipdesk.core.catalog.schema import file_tags, meta, tags

__all__ = ["delete_tag", "restore_decisions"]


def _kept_key(name: str) -> str:
    return f"kept_decisions:{name.casefold()}"


def delete_tag(conn, tag_id: int, name: str) -> None:  # type: ignore[no-untyped-def]
    """Delete a tag, keeping the user's yes and no on photos under its name.

    Decisions are the one part of a tag that cannot be recomputed; a tag removed by
    mistake (an empty vocabulary file) and added back later honours them again.
    """
    rows = conn.execute(
        select(file_tags.c.fingerprint, file_tags.c.rejected).where(
            file_tags.c.tag_id == tag_id, file_tags.c.source == "manual"
        )
    ).all()
    key = _kept_key(name)
    if rows:
        old = conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar()
        kept = json.loads(old) if old else {}
        kept.update({fp: bool(rejected) for fp, rejected in rows})
        conn.execute(delete(meta).where(meta.c.key == key))
        conn.execute(insert(meta), {"key": key, "value": json.dumps(kept)})
    conn.execute(delete(tags).where(tags.c.id == tag_id))


def restore_decisions(conn, tag_id: int, name: str) -> None:  # type: ignore[no-untyped-def]
    """Give a tag added under a removed tag's name that tag's kept decisions back."""
    key = _kept_key(name)
    old = conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar()
    if not old:
        return
    now = time.time()
    rows = [
        {"tag_id": tag_id, "fingerprint": fp, "source": "manual", "rejected": rejected,
         "score": None, "confidence": 0.0 if rejected else 1.0, "model_key": None,
         "updated_at": now}
        for fp, rejected in json.loads(old).items()
    ]  # fmt: skip
    if rows:
        conn.execute(insert(file_tags), rows)
    conn.execute(delete(meta).where(meta.c.key == key))
