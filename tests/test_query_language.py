"""The query language: what the search box and ``clipdesk search`` read from one line.

Unit cases pin each operator to its ``Filters`` field; property tests build queries from
parts, render them as a user would type them, and check the parser gives the parts back,
and that anything at all typed either parses or fails with one ``QueryError``.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from clipdesk.core.catalog.words import fts5_query, normalise, variants, words_of
from clipdesk.core.errors import QueryError
from clipdesk.core.search import Filters, SearchQuery, parse_date
from clipdesk.core.search.operators import OPERATORS, parse_search


def test_each_operator_sets_its_filter_and_the_rest_is_the_meaning_query():
    parsed = parse_search(
        'beach text:"menu do dia" place:Lisbon after:2023-06 before:2024 camera:canon '
        "tag:sea folder:/photos/trip type:jpeg -people sunset text:total"
    )
    assert parsed.text == "beach sunset"
    assert parsed.negatives == ("people",)
    assert parsed.filters == Filters(
        folder="/photos/trip",
        after=parse_date("2023-06"),
        before=parse_date("2024"),
        types=("jpeg",),
        tag="sea",
        texts=("menu do dia", "total"),
        places=("Lisbon",),
        cameras=("canon",),
    )


def test_person_operator_is_the_persons_filter():
    assert parse_search("person:Ana Person:Rui dog").filters == Filters(persons=("Ana", "Rui"))


def test_operators_alone_leave_no_meaning_query_and_names_are_any_case():
    parsed = parse_search("PLACE:Portugal Camera:Nikon")
    assert parsed.text == ""
    assert parsed.filters == Filters(places=("Portugal",), cameras=("Nikon",))
    assert SearchQuery.from_text("place:Portugal").has_vector is False


def test_operators_narrow_filters_given_elsewhere():
    base = Filters(after=parse_date("2022"), before=parse_date("2025"), types=("photo",))
    parsed = parse_search("after:2023 before:2026 type:jpeg", base)
    assert parsed.filters.after == parse_date("2023")  # the later start
    assert parsed.filters.before == parse_date("2025")  # the earlier end
    assert parsed.filters.types == ("jpeg",)  # photo and jpeg: jpeg


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("colour:red", 'unknown operator "colour:"'),
        ("after:2023-13", "after: not a date"),
        ("before:yesterday", "before: not a date"),
        ('text:""', "empty quoted phrase"),
        ('beach ""', "empty quoted phrase"),
        ("place:", "place: needs a value"),
        ('text:"menu', "quote is not closed"),
        ("text:!!!", "no letters or digits"),
        ("type:slides", "type: unknown file type"),
        ("-place:Lisbon", "cannot be excluded"),
        ("tag:sea tag:snow", "tag: given twice"),
        ("type:png type:jpeg", "no file in common"),
    ],
)
def test_bad_queries_say_what_is_wrong(query, message):
    with pytest.raises(QueryError, match=message):
        parse_search(query)


def test_a_quoted_operator_is_searched_as_words_and_numbers_are_not_negatives():
    parsed = parse_search('"colour:red" -3 degrees -"red car"')
    assert parsed.text == "colour:red -3 degrees"
    assert parsed.negatives == ("red car",)


def test_normalising_ignores_case_and_accents_and_fuzzy_words_are_one_edit_away():
    assert normalise("Café  ÀLVARO's, Straße!") == "cafe alvaro s strasse"
    near = variants("menu")
    assert {"meny", "mnu", "emnu", "menus"} <= near and "menu" not in near
    assert '"menu"*' in fts5_query("MENÚ")  # a prefix of a longer word matches too
    assert fts5_query("at") == '("at")'  # short words: exact only


# -- properties --------------------------------------------------------------------------

_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzàéß", min_size=1, max_size=8).filter(
    lambda w: not w.startswith("-")
)
_date = st.builds(
    lambda y, m, d: f"{y:04d}" + (f"-{m:02d}" if m else "") + (f"-{d:02d}" if m and d else ""),
    st.integers(1900, 2100),
    st.integers(0, 12),
    st.integers(0, 28),
)
_phrase = st.lists(_word, min_size=1, max_size=3).map(" ".join)


@st.composite
def _queries(draw):
    words = draw(st.lists(_word, max_size=4))
    negatives = draw(st.lists(_word, max_size=2))
    texts = draw(st.lists(_phrase, max_size=2))
    places = draw(st.lists(_word, max_size=2))
    cameras = draw(st.lists(_word, max_size=2))
    after = draw(st.none() | _date)
    tag = draw(st.none() | _word)
    parts = (
        list(words)
        + [f"-{n}" for n in negatives]
        + [f'text:"{t}"' if " " in t else f"text:{t}" for t in texts]
        + [f"place:{p}" for p in places]
        + [f"camera:{c}" for c in cameras]
        + ([f"after:{after}"] if after else [])
        + ([f"tag:{tag}"] if tag else [])
    )
    order = draw(st.permutations(range(len(parts))))
    expected = Filters(
        after=parse_date(after) if after else None,
        tag=tag,
        texts=tuple(texts),
        places=tuple(places),
        cameras=tuple(cameras),
    )
    return " ".join(parts[i] for i in order), words, negatives, expected


@settings(max_examples=150, deadline=None)
@given(_queries())
def test_rendered_queries_parse_back_to_their_parts(case):
    query, words, negatives, expected = case
    parsed = parse_search(query)
    assert sorted(parsed.text.split()) == sorted(words)
    assert sorted(parsed.negatives) == sorted(negatives)
    # Operators keep their order among their own kind, whatever the words around them.
    got = parsed.filters
    assert (got.after, got.tag) == (expected.after, expected.tag)
    assert sorted(got.texts) == sorted(expected.texts)
    assert sorted(got.places) == sorted(expected.places)
    assert sorted(got.cameras) == sorted(expected.cameras)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_anything_typed_parses_or_fails_with_one_clear_error(text):
    try:
        parsed = parse_search(text)
    except QueryError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    # What parsed asks for no more than was typed: no operator appears from nowhere.
    names = {name for name in OPERATORS if f"{name}:" in text.lower()}
    if not names:
        assert parsed.filters == Filters()
    for word in parsed.text.split() + list(parsed.negatives):
        assert word.replace('"', "") in text.replace('"', "") or " " in word


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(categories=("L", "N", "Zs", "P")), max_size=30))
@example("Ꭰꭰ Straße ÉCOLE")
def test_normalised_text_is_stable_and_plain(text):
    once = normalise(text)
    assert normalise(once) == once
    # Case-folded, not lower-cased: Cherokee letters fold to their capitals.
    assert once == once.casefold() and "  " not in once
    for word in words_of(text):
        assert word.isalnum()


def test_folder_operator_is_an_absolute_folder_filter(tmp_path):
    parsed = parse_search(f'folder:"{tmp_path}/with space"')
    assert parsed.filters.folder == os.fspath(tmp_path / "with space")


def test_completion_offers_operators_then_the_librarys_values():
    from clipdesk.core.search.suggestions import Suggestions, complete

    known = Suggestions(
        places=("Lisbon", "Portugal", "São Paulo"), cameras=("Canon EOS R5",), words=("menu",)
    )
    assert complete("beach pl", known) == ["beach place:"]
    assert complete("beach place:li", known) == ["beach place:Lisbon"]
    assert complete("place:sao", known) == ['place:"São Paulo"']  # accents ignored, quoted
    assert complete("camera:CAN", known) == ['camera:"Canon EOS R5"']
    assert complete("text:me", known) == ["text:menu"]
    assert complete("colour:r", known) == [] and complete("beach ", known) == []
    for offered in complete("place:", known) + complete("camera:c", known):
        parse_search(offered)  # every offered value is one the parser reads
