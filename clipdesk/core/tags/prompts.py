"""Prompt ensembling: many phrasings of each tag, and a neutral baseline prompt.

CLIP was trained on captions, not single words, so a tag is embedded as the average of
several captions ("a photo of a dog.", "a close-up photo of a dog.", ...), re-normalised.
The neutral prompts ("a photo of something.") give every image a baseline: how much
more an image looks like "a dog" than like any photo at all is steadier across images
than the raw similarity, which shifts with lighting, style and size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clipdesk.core.tags.vocabulary import TagDef, vocabulary_dir

DEFAULT_TEMPLATES: tuple[str, ...] = (
    "a photo of {}.",
    "a picture of {}.",
    "an image of {}.",
    "a close-up photo of {}.",
    "a bright photo of {}.",
    "a dark photo of {}.",
    "a blurry photo of {}.",
    "a cropped photo of {}.",
    "a good photo of {}.",
    "a photo showing {}.",
    "a snapshot of {}.",
    "{}.",
)
DEFAULT_NEUTRAL: tuple[str, ...] = ("something", "an object", "a scene", "a thing")

_NO_ARTICLE_PREFIXES = ("a ", "an ", "the ", "some ", "my ", "our ", "two ", "three ")


@dataclass(frozen=True, slots=True)
class PromptSet:
    """The caption templates (each with one ``{}``) and the neutral phrases of a model."""

    templates: tuple[str, ...] = DEFAULT_TEMPLATES
    neutral: tuple[str, ...] = DEFAULT_NEUTRAL

    def texts_for(self, tag: TagDef) -> list[str]:
        """Every caption for one tag: its phrases (or its name) through every template."""
        phrases = [with_article(tag.name)] if not tag.prompt else tag.phrases
        return [t.format(p) for p in phrases for t in self.templates]

    def neutral_texts(self) -> list[str]:
        return [t.format(p) for p in self.neutral for t in self.templates]


def with_article(name: str) -> str:
    """``dog`` -> ``a dog``, ``owl`` -> ``an owl``; plurals and phrases stay as they are."""
    lower = name.lower()
    if lower.startswith(_NO_ARTICLE_PREFIXES) or not lower[:1].isalpha():
        return name
    last = lower.split()[-1]
    if last.endswith("s") and not last.endswith(("ss", "us", "is")):
        return name  # a plural: "flowers", "mountains"
    return ("an " if lower[0] in "aeiou" else "a ") + name


def parse_prompt_directives(text: str) -> PromptSet:
    """``@template`` and ``@neutral`` lines of a vocabulary file; defaults where absent."""
    templates: list[str] = []
    neutral: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("@template "):
            template = line.removeprefix("@template ").strip()
            if template.count("{}") != 1:
                raise ValueError(f"a template needs exactly one {{}}: {template!r}")
            templates.append(template)
        elif line.startswith("@neutral "):
            neutral.append(line.removeprefix("@neutral ").strip())
    return PromptSet(tuple(templates) or DEFAULT_TEMPLATES, tuple(neutral) or DEFAULT_NEUTRAL)


def prompt_set_for_model(model_name: str, directory: Path | None = None) -> PromptSet:
    """The prompts for a model: from ``resources/vocabulary/<model>.txt`` if it sets them."""
    path = (directory or vocabulary_dir()) / f"{model_name}.txt"
    if not path.is_file():
        return PromptSet()
    return parse_prompt_directives(path.read_text(encoding="utf-8"))
