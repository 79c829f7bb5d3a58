"""Tag vocabularies: which concepts clipdesk tags photos with, and how to prompt for each.

A vocabulary file has one tag per line; ``name | phrase; phrase`` gives a tag its own
prompt phrases (put through the prompt templates instead of the name). ``#`` starts a
comment; ``@template ...`` and ``@neutral ...`` lines set the prompts (see prompts.py).
A model may ship its own ``vocabulary.txt`` (tiny-shapes ships its shapes and colours);
``resources/vocabulary/<model>.txt`` may then add phrases for its names. Models without
one get ``resources/vocabulary/default.txt``, a few hundred everyday concepts for real
photos.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from clipdesk.core import paths
from clipdesk.core.errors import VocabularyError

DEFAULT_VOCABULARY = "default.txt"
MAX_NAME_LENGTH = 80


@dataclass(frozen=True, slots=True)
class TagDef:
    """One tag: its display name and, optionally, the phrases that describe it."""

    name: str
    prompt: str | None = None  # phrases separated by ";", None: the name itself

    @property
    def phrases(self) -> list[str]:
        if not self.prompt:
            return [self.name]
        return [p.strip() for p in self.prompt.split(";") if p.strip()] or [self.name]

    def to_line(self) -> str:
        return f"{self.name} | {self.prompt}" if self.prompt else self.name


def quoted(name: str, limit: int = 40) -> str:
    """A tag name as a message shows it: quoted, and cut when very long."""
    if len(name) <= limit:
        return repr(name)
    return f"{name[:limit]!r}… ({len(name):,} characters)"


def clean_name(name: str) -> str:
    """A tag name with surrounding and repeated white space removed; errors if unusable."""
    cleaned = re.sub(r"\s+", " ", name).strip()
    if not cleaned:
        raise VocabularyError("a tag needs a name")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise VocabularyError(
            f"tag name longer than {MAX_NAME_LENGTH} characters: {quoted(cleaned)}"
        )
    if "|" in cleaned or ";" in cleaned:
        raise VocabularyError(f"tag names cannot contain '|' or ';': {quoted(cleaned)}")
    if _UNUSABLE.search(cleaned):
        raise VocabularyError(
            f"tag names must be text without control characters: {quoted(cleaned)}"
        )
    return cleaned


# Control characters, and lone surrogates (bytes that were not valid UTF-8 on the command
# line), which a tag name could not be stored or shown with.
_UNUSABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_prompt(prompt: str | None) -> str | None:
    if prompt is None:
        return None
    phrases = [re.sub(r"\s+", " ", p).strip() for p in prompt.split(";")]
    joined = "; ".join(p for p in phrases if p)
    return joined or None


def parse_vocabulary(text: str, *, source: str = "vocabulary") -> list[TagDef]:
    """Tags from vocabulary text; later duplicates (ignoring case) are dropped."""
    tags: list[TagDef] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("@"):  # blank, comment or a prompt directive
            continue
        name, _, prompt = line.partition("|")
        try:
            tag = TagDef(clean_name(name), clean_prompt(prompt) if prompt else None)
        except VocabularyError as exc:
            raise VocabularyError(f"{source}, line {number}: {exc}") from exc
        if tag.name.casefold() not in seen:
            seen.add(tag.name.casefold())
            tags.append(tag)
    return tags


def format_vocabulary(tags: Iterable[TagDef]) -> str:
    return "".join(tag.to_line() + "\n" for tag in tags)


def read_vocabulary(path: Path) -> list[TagDef]:
    """The tags of a vocabulary file, which must be UTF-8 text."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise VocabularyError(
            f"{path}: not a UTF-8 text file (byte {exc.start:,} cannot be read)"
        ) from None
    if "\x00" in text:
        raise VocabularyError(f"{path}: not a text file (it holds NUL bytes)")
    return parse_vocabulary(text, source=str(path))


def vocabulary_dir() -> Path:
    return paths.resources_dir() / "vocabulary"


def default_vocabulary() -> list[TagDef]:
    """Everyday concepts for real photos."""
    return read_vocabulary(vocabulary_dir() / DEFAULT_VOCABULARY)


def model_vocabulary_file(model_dir: Path | None) -> Path | None:
    """The vocabulary a model ships in its folder, if any."""
    if model_dir is None:
        return None
    path = model_dir / "vocabulary.txt"
    return path if path.is_file() else None


def vocabulary_for_model(model_name: str, model_dir: Path | None) -> tuple[str, list[TagDef]]:
    """``(source, tags)``: the model's own vocabulary with clipdesk's phrases, else the default.

    ``source`` names where the tags came from (``model:<name>`` or ``default``), so a
    library can tell whether its vocabulary still follows the model's.
    """
    own = model_vocabulary_file(model_dir)
    if own is None:
        return "default", default_vocabulary()
    tags = read_vocabulary(own)
    overlay = vocabulary_dir() / f"{model_name}.txt"
    if overlay.is_file():
        phrases = {t.name.casefold(): t.prompt for t in read_vocabulary(overlay)}
        tags = [TagDef(t.name, t.prompt or phrases.get(t.name.casefold())) for t in tags]
    return f"model:{model_name}", tags
