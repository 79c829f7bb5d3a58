"""Splitting a text that is longer than a model's context into pieces that fit.

CLIP text towers read at most ``context_length`` tokens (77 for most models) and silently
drop the rest. clipdesk instead packs whole sentences greedily into chunks that fit, cuts
an over-long sentence between words (or characters, for scripts without spaces), embeds
every chunk and averages the normalised vectors: the whole query counts, not its first
sentence or two. This module only does the splitting; it knows nothing of torch.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_SENTENCE_END = re.compile(r"(?<=[.!?;:\u3002\uff01\uff1f])\s+|\n+")


def split_to_fit(text: str, count_tokens: Callable[[str], int], limit: int) -> list[str]:
    """Pieces of ``text``, in order, each within ``limit`` tokens where at all possible.

    ``count_tokens`` must count the special start/end tokens too, as the model sees them.
    A single "word" that alone exceeds ``limit`` is kept whole (the model truncates it).
    """
    if count_tokens(text) <= limit:
        return [text]
    pieces: list[str] = []
    for sentence in (s.strip() for s in _SENTENCE_END.split(text)):
        if not sentence:
            continue
        if count_tokens(sentence) <= limit:
            pieces.append(sentence)
        else:
            pieces.extend(_split_long(sentence, count_tokens, limit))
    return _pack(pieces, count_tokens, limit)


def _split_long(sentence: str, count_tokens: Callable[[str], int], limit: int) -> list[str]:
    words = sentence.split()
    if len(words) <= 1:  # no spaces (e.g. Chinese, Japanese): cut between characters
        words = list(sentence)
        joiner = ""
    else:
        joiner = " "
    out: list[str] = []
    current: list[str] = []
    for word in words:
        candidate = joiner.join([*current, word])
        if current and count_tokens(candidate) > limit:
            out.append(joiner.join(current))
            current = [word]
        else:
            current.append(word)
    if current:
        out.append(joiner.join(current))
    return out


def _pack(pieces: list[str], count_tokens: Callable[[str], int], limit: int) -> list[str]:
    """Join neighbouring pieces while they still fit: fewer, fuller chunks."""
    chunks: list[str] = []
    for piece in pieces:
        if chunks and count_tokens(f"{chunks[-1]} {piece}") <= limit:
            chunks[-1] = f"{chunks[-1]} {piece}"
        else:
            chunks.append(piece)
    return chunks
