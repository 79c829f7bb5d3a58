"""Check every edit ``tags vocab`` was given before any of them is applied.

A bad ``--add``/``--remove``/``--rename``/``--prompt`` must be refused while the library
is still as it was: the edits are replayed here over the tag names alone, in the order the
command applies them, and the first one that would fail is the one error.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from clipdesk.core.errors import TagError, VocabularyError
from clipdesk.core.tags.vocabulary import clean_name, clean_prompt, quoted

__all__ = ["check_vocab_edits"]


def check_vocab_edits(
    names: Iterable[str],
    *,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
    rename: Sequence[str] | None = None,
    prompt: Sequence[str] | None = None,
) -> None:
    """Raise TagError for the first edit that would fail on a vocabulary of ``names``."""
    known = {_key(n): n for n in names}

    def existing(name: str) -> str:
        if _key(name) not in known:
            raise TagError(f"no tag called {quoted(name)}; `clipdesk tags list` shows them")
        return _key(name)

    for entry in add:
        name, _, text = entry.partition("|")
        cleaned = _clean(name)
        clean_prompt(text or None)
        if _key(cleaned) in known:
            raise TagError(f"there is already a tag called {cleaned!r}")
        known[_key(cleaned)] = cleaned
    for name in remove:
        del known[existing(name)]
    if rename:
        old, new = rename
        key = existing(old)
        cleaned = _clean(new)
        if _key(cleaned) in known and _key(cleaned) != key:
            raise TagError(f"there is already a tag called {cleaned!r}")
        del known[key]
        known[_key(cleaned)] = cleaned
    if prompt:
        existing(prompt[0])


def _clean(name: str) -> str:
    try:
        return clean_name(name)
    except VocabularyError as exc:
        raise TagError(str(exc)) from exc


def _key(name: str) -> str:
    """How the catalog matches tag names: stripped, ASCII letters in any case (NOCASE)."""
    return "".join(c.lower() if c.isascii() else c for c in name.strip())
