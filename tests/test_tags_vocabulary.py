"""Tag vocabularies and prompt ensembling: files, phrases, templates, the default words."""

from __future__ import annotations

import re

import pytest

from clipdesk.core.tags.prompts import (
    DEFAULT_TEMPLATES,
    PromptSet,
    parse_prompt_directives,
    prompt_set_for_model,
    with_article,
)
from clipdesk.core.tags.vocabulary import (
    TagDef,
    VocabularyError,
    default_vocabulary,
    format_vocabulary,
    parse_vocabulary,
    vocabulary_for_model,
)


def test_parse_names_phrases_comments_and_duplicates():
    text = "# a comment\ndog\n  Beach  |  a sandy beach ;  the seaside \n\nDOG\n@template {}\n"
    tags = parse_vocabulary(text)
    assert tags == [TagDef("dog"), TagDef("Beach", "a sandy beach; the seaside")]
    assert tags[1].phrases == ["a sandy beach", "the seaside"]
    assert parse_vocabulary(format_vocabulary(tags)) == tags


def test_a_bad_line_is_named():
    with pytest.raises(VocabularyError, match="line 2"):
        parse_vocabulary("dog\n | only a prompt\n")


@pytest.mark.parametrize(
    ("name", "phrase"),
    [("dog", "a dog"), ("owl", "an owl"), ("flowers", "flowers"), ("a red car", "a red car"),
     ("glass", "a glass"), ("christmas tree", "a christmas tree")],
)  # fmt: skip
def test_articles(name, phrase):
    assert with_article(name) == phrase


def test_every_template_is_used_for_every_phrase():
    prompts = PromptSet()
    texts = prompts.texts_for(TagDef("sunset", "a sunset; dusk over the sea"))
    assert len(texts) == 2 * len(DEFAULT_TEMPLATES)
    assert "a photo of dusk over the sea." in texts
    assert prompts.texts_for(TagDef("dog"))[0] == "a photo of a dog."
    assert all("{}" not in t for t in prompts.neutral_texts())


def test_directives_set_templates_and_neutral_phrases():
    prompts = parse_prompt_directives("@template a drawing of {}\n@neutral a shape\nred\n")
    assert prompts.templates == ("a drawing of {}",)
    assert prompts.neutral == ("a shape",)
    with pytest.raises(ValueError, match="exactly one"):
        parse_prompt_directives("@template no placeholder\n")


def test_default_vocabulary_is_large_and_judges_no_one():
    tags = default_vocabulary()
    assert len(tags) >= 300
    names = {t.name.casefold() for t in tags}
    assert {"dog", "beach", "snow", "birthday party", "screenshot", "receipt"} <= names
    # Tags that would classify or judge people have no place in it (CLIP paper, section 7).
    banned = r"\b(racial|ethnic\w*|black people|white people|asian|criminal|thief|attractive|ugly|beautiful|sexy|fat|gay|religio\w*|poor|rich|man|woman|boy|girl)\b"  # noqa: E501
    offending = [t.to_line() for t in tags if re.search(banned, t.to_line(), re.IGNORECASE)]
    assert offending == []


def test_a_model_vocabulary_gets_clipdesk_phrases(tmp_path):
    (tmp_path / "vocabulary.txt").write_text("circle\nred\n")
    source, tags = vocabulary_for_model("tiny-shapes", tmp_path)
    assert source == "model:tiny-shapes"
    assert tags[0] == TagDef("circle")
    assert "a red shape" in tags[1].phrases
    prompts = prompt_set_for_model("tiny-shapes")
    assert "a photo of {}" in prompts.templates and "a shape" in prompts.neutral


def test_a_model_without_vocabulary_gets_the_default(tmp_path):
    source, tags = vocabulary_for_model("ViT-B-32-openai", tmp_path)
    assert source == "default" and len(tags) >= 300
    assert prompt_set_for_model("ViT-B-32-openai") == PromptSet()
