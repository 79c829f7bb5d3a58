"""When the library's tags are out of date: the rule that ``TagService.stale`` and the
quick search both apply, kept free of SQLAlchemy so that the quick search can import it.

The photo set is the count and sum of the embedding ids tagging would read: a photo
added, changed or removed changes it (ids only grow), a photo moved or renamed does not.
"""

from __future__ import annotations

__all__ = ["photo_set_digest", "tagged_key", "tags_stale"]


def tagged_key(model_key: str) -> str:
    """The ``meta`` key holding the photo set the whole vocabulary was last decided on."""
    return f"tags_photo_set:{model_key}"


def photo_set_digest(count: int, total: int) -> str:
    return f"{int(count)}:{int(total)}"


def tags_stale(current: str, tagged: str | None) -> bool:
    """Whether photos came, changed or went since the last tagging (a library without
    photos has nothing to tag)."""
    return current != photo_set_digest(0, 0) and tagged != current
