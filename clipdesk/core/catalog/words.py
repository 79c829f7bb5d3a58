"""Words read in photos, normalised the one way both the index and a query use.

Matching ignores case and accents because both sides go through :func:`normalise` before
any full-text index sees them (SQLite's FTS5 and PostgreSQL's tsvector then only split on
spaces, and agree). OCR's usual slips are met on the query side: a word also matches as
the start of a longer word, and every word one letter away (a letter dropped, added,
swapped with its neighbour or read wrong) is asked for too, so the index stays exact.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["FUZZY_MIN", "PREFIX_MIN", "fts5_query", "normalise", "tsquery", "variants", "words_of"]

_WORD = re.compile(r"[^\W_]+")
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
PREFIX_MIN = 3  # shorter words match only whole words
FUZZY_MIN = 4  # shorter words tolerate no wrong letter: "cat" would match "car", "hat"...


def normalise(text: str) -> str:
    """Case-folded words of letters and digits without accents, one space apart."""
    # Compatibility forms first (a mathematical bold A is an A), then case, then again:
    # folding case can itself produce letters that decompose.
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    bare = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return " ".join(_WORD.findall(bare))


def words_of(text: str) -> list[str]:
    return normalise(text).split()


def variants(word: str) -> set[str]:
    """Every word one edit from ``word`` (over a-z and 0-9), ``word`` itself left out."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    out |= {a + c + b[1:] for a, b in splits if b for c in _ALPHABET}
    out |= {a + c + b for a, b in splits for c in _ALPHABET}
    out.discard(word)
    out.discard("")
    return out


def _alternatives(word: str) -> tuple[str, list[str]]:
    """The word (as a prefix when long enough) and its one-edit neighbours."""
    near = sorted(variants(word)) if len(word) >= FUZZY_MIN else []
    return word, near


def fts5_query(phrase: str) -> str:
    """An FTS5 MATCH expression: every word of ``phrase``, each allowing its slips."""
    groups = []
    for word in words_of(phrase):
        word, near = _alternatives(word)
        first = f'"{word}"*' if len(word) >= PREFIX_MIN else f'"{word}"'
        groups.append("(" + " OR ".join([first, *(f'"{v}"' for v in near)]) + ")")
    if not groups:
        raise ValueError(f"no words in {phrase!r}")
    return " AND ".join(groups)


def tsquery(phrase: str) -> str:
    """The same as :func:`fts5_query` for PostgreSQL's ``to_tsquery('simple', ...)``."""
    groups = []
    for word in words_of(phrase):
        word, near = _alternatives(word)
        first = f"'{word}':*" if len(word) >= PREFIX_MIN else f"'{word}'"
        groups.append("(" + " | ".join([first, *(f"'{v}'" for v in near)]) + ")")
    if not groups:
        raise ValueError(f"no words in {phrase!r}")
    return " & ".join(groups)
