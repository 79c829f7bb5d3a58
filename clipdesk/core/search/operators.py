"""The query language of the search box and ``clipdesk search``: operators, words, ``-word``.

``beach text:"menu del dia" place:Lisbon after:2023-06 camera:canon -people`` is a meaning
query (``beach``) for CLIP, a word excluded (``people``), and operators that each become a
field of :class:`Filters`, so each is a condition in SQL like every other filter. The
window and the command line both read what the user typed with :func:`parse_search`; a
query it cannot read is a :class:`QueryError` that says what is wrong, never a search for
everything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from clipdesk.core.errors import DateError, FileTypeError, QueryError
from clipdesk.core.search.dates import parse_date
from clipdesk.core.search.filetypes import TYPE_NAMES, extensions_of
from clipdesk.core.search.filter_set import Filters

__all__ = ["OPERATORS", "ParsedSearch", "QueryError", "parse_search", "tokens"]

# Every operator, with an example value for messages and the window's suggestions.
OPERATORS: dict[str, str] = {
    "text": 'text:"open daily"',
    "place": "place:Lisbon",
    "after": "after:2023-06",
    "before": "before:2024",
    "camera": "camera:canon",
    "tag": "tag:beach",
    "folder": "folder:~/Pictures/2023",
    "type": "type:photo",
    "person": "person:Ana",
}
_OPERATOR = re.compile(r"([A-Za-z]+):(.*)", re.S)
_NEGATIVE = re.compile(r"-(?!\d)")  # "-3" is a number, not an exclusion


@dataclass(frozen=True, slots=True)
class ParsedSearch:
    """What a typed query asks for: the meaning text, excluded words and the filters."""

    text: str
    negatives: tuple[str, ...]
    filters: Filters


@dataclass(frozen=True, slots=True)
class _Token:
    raw: str
    quoted: bool  # some of it was inside double quotes


def tokens(text: str) -> list[_Token]:
    """Split on spaces outside double quotes; an unclosed quote is an error."""
    out: list[_Token] = []
    current: list[str] = []
    quoted = in_quote = False
    for ch in text:
        if ch == '"':
            in_quote = not in_quote
            quoted = True
            current.append(ch)
        elif ch.isspace() and not in_quote:
            if current:
                out.append(_Token("".join(current), quoted))
            current, quoted = [], False
        else:
            current.append(ch)
    if in_quote:
        raise QueryError('a quote is not closed: end the phrase with "')
    if current:
        out.append(_Token("".join(current), quoted))
    return out


def _unquote(raw: str) -> str:
    return raw.replace('"', "").strip()


def parse_search(text: str, base: Filters | None = None) -> ParsedSearch:
    """Read a typed query; ``base`` holds filters set elsewhere (flags, the side panel).

    Operators narrow ``base``: dates take the later start and the earlier end, text,
    places and cameras add to what must match, and a folder, tag or type that disagrees
    with one already set is an error rather than a guess.
    """
    filters = base or Filters()
    words: list[str] = []
    negatives: list[str] = []
    for token in tokens(text):
        body = token.raw
        negative = len(body) > 1 and _NEGATIVE.match(body) is not None
        if negative:
            body = body[1:]
        operator = _OPERATOR.fullmatch(body)
        if operator and not body.startswith('"'):
            name, value = operator.group(1).lower(), operator.group(2)
            if negative:
                raise QueryError(
                    f"-{name}: operators cannot be excluded; "
                    f"-word excludes a word of the meaning query"
                )
            filters = _apply(filters, name, value)
            continue
        if token.quoted and not _unquote(body):
            raise QueryError('an empty quoted phrase ("") has nothing to search for')
        word = _unquote(body)
        if not word:
            continue
        (negatives if negative else words).append(word)
    return ParsedSearch(" ".join(words), tuple(negatives), filters)


def _value(name: str, raw: str) -> str:
    value = _unquote(raw)
    if not value:
        if '"' in raw:
            raise QueryError(f"{name}: has an empty quoted phrase; e.g. {OPERATORS[name]}")
        raise QueryError(f"{name}: needs a value, e.g. {OPERATORS[name]}")
    return value


def _apply(filters: Filters, name: str, raw: str) -> Filters:
    """``filters`` narrowed by one operator."""
    if name not in OPERATORS:
        known = ", ".join(f"{op}:" for op in OPERATORS)
        raise QueryError(
            f'unknown operator "{name}:" (known: {known}); '
            f'to search for the word itself, put it in quotes: "{name}:{_unquote(raw)}"'
        )
    value = _value(name, raw)
    if name == "text":
        from clipdesk.core.catalog.words import words_of

        if not words_of(value):
            raise QueryError(f"text:{value}: has no letters or digits to look for")
        return replace(filters, texts=(*filters.texts, value))
    if name == "place":
        return replace(filters, places=(*filters.places, value))
    if name == "camera":
        return replace(filters, cameras=(*filters.cameras, value))
    if name in ("after", "before"):
        try:
            when = parse_date(value)
        except DateError as exc:
            raise QueryError(f"{name}: {exc}") from exc
        if name == "after":
            after = when if filters.after is None else max(filters.after, when)
            return replace(filters, after=after)
        before = when if filters.before is None else min(filters.before, when)
        return replace(filters, before=before)
    if name == "type":
        return replace(filters, types=_types(filters.types, value))
    if name == "person":
        return _person(filters, value)
    return _single(filters, name, value)


def _types(current: tuple[str, ...], value: str) -> tuple[str, ...]:
    names = tuple(t.strip().lower() for t in value.split(",") if t.strip())
    try:
        extensions_of(names)
    except FileTypeError as exc:
        raise QueryError(f"type: {exc}") from exc
    if not current:
        return names
    both = set(extensions_of(current)) & set(extensions_of(names))
    if not both:
        raise QueryError(
            f"type:{value} and type {', '.join(current)} have no file in common "
            f"(one of: {', '.join(TYPE_NAMES)})"
        )
    return tuple(n for n in (*current, *names) if set(extensions_of([n])) <= both) or current


def _person(filters: Filters, value: str) -> Filters:
    """Every person named must be in the photo; an unknown one is the people service's
    error when the search runs (names live in the library, not in the query)."""
    return replace(filters, persons=(*filters.persons, value))


def _single(filters: Filters, name: str, value: str) -> Filters:
    """``tag:`` and ``folder:``: one of each; a second that differs is an error."""
    current = filters.tag if name == "tag" else filters.folder
    if current is not None and current != value:
        raise QueryError(f"{name}: given twice ({current!r} and {value!r}); give one")
    return replace(filters, **{name: value})
