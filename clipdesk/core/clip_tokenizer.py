"""CLIP's byte-pair tokenizer without torch, for the fast query path.

open_clip's ``SimpleTokenizer`` lives in a module that imports torch at the top, which
costs seconds before a cold ``clipdesk search`` can answer. This is the same algorithm
over the same vocabulary file (the copy in ``resources/tokenizers``, the installed
open_clip package's, or one inside a model pack), returning numpy token ids that are
identical to open_clip's (``tests/test_onnx_tokenizer.py`` checks it on a varied corpus).

``ftfy`` (a dependency of open_clip) is imported only for text it could change: plain
printable ASCII without ``&`` passes through it unchanged, so the usual query skips the
import (about 0.15 s).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import html
import importlib.util
import itertools
import marshal
import string
import sys
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from clipdesk.core import paths
from clipdesk.core.files import atomic_path

VOCAB_NAME = "bpe_simple_vocab_16e6.txt.gz"
CLEANERS = ("lower", "whitespace", "canonicalize")
_MERGES = 49152 - 256 - 2
_SPECIALS = ("<start_of_text>", "<end_of_text>")
_PLAIN = frozenset(chr(c) for c in range(0x20, 0x7F)) - {"&"}


def default_vocab_path() -> Path:
    """CLIP's vocabulary file: the copy shipped with clipdesk (a plain install has no
    open_clip), else open_clip's, found without importing open_clip (and torch)."""
    shipped = paths.resources_dir() / "tokenizers" / VOCAB_NAME
    if shipped.is_file():
        return shipped
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("open_clip is not installed and no vocabulary file was given")
    return Path(next(iter(spec.submodule_search_locations))) / VOCAB_NAME


@lru_cache(maxsize=1)
def _bytes_to_unicode() -> dict[int, str]:
    """Reversible byte -> printable character map (the one in OpenAI's CLIP)."""
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs], strict=True))


class Vocab(NamedTuple):
    """What tokenising needs of a vocabulary: the merge ranks, the id of each merge's
    token, and the ids of the pieces a word starts as (its bytes, the last one marked as
    the word's end). No table from token text to id is needed, and building that one
    (49k entries) cost a cold search as much as all the rest of the tokenizer."""

    ranks: dict[tuple[str, str], int]
    merged_ids: list[int]  # by rank (a merge's line): the id of the token it makes
    base_ids: dict[str, int]  # a byte's character, and the same + "</w>"
    specials: tuple[int, int]  # <start_of_text>, <end_of_text>
    size: int


@lru_cache(maxsize=4)
def _load_vocab(path: str) -> Vocab:
    """The vocabulary, from the parsed copy in the cache when there is one.

    Parsing the 49k merges costs a cold search about 0.1 s; the parsed lists load in a
    fraction of that. The copy is named by the vocabulary file's digest and the Python
    version (``marshal``'s format may change between versions); a copy that is missing or
    unreadable is made again.
    """
    raw = Path(path).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()[:16]
    tag = f"{sys.version_info[0]}{sys.version_info[1]}-m{marshal.version}"
    cached = paths.cache_dir() / "tokenizers" / f"{digest}-py{tag}-v3.marshal"
    try:
        pairs, ranks, merged_ids, base, base_ids, specials, size = marshal.loads(
            cached.read_bytes()
        )
        return Vocab(
            dict(zip(pairs, ranks, strict=True)),
            merged_ids,
            dict(zip(base, base_ids, strict=True)),
            (int(specials[0]), int(specials[1])),
            int(size),
        )
    except (OSError, EOFError, ValueError, TypeError):
        pass
    vocab = _parse_vocab(raw)
    with contextlib.suppress(OSError):
        cached.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(cached, durable=False) as tmp:
            kept = (
                list(vocab.ranks),
                list(vocab.ranks.values()),
                vocab.merged_ids,
                list(vocab.base_ids),
                list(vocab.base_ids.values()),
                vocab.specials,
                vocab.size,
            )
            tmp.write_bytes(marshal.dumps(kept))
    return vocab


def _parse_vocab(raw: bytes) -> Vocab:
    merges_text = gzip.decompress(raw).decode("utf-8").split("\n")[1 : _MERGES + 1]
    merges = [tuple(line.split()) for line in merges_text]
    chars = list(_bytes_to_unicode().values())
    base = chars + [v + "</w>" for v in chars]  # the pieces a word starts as
    vocab = [*base, *("".join(m) for m in merges)]
    vocab.extend(_SPECIALS)
    encoder = {token: i for i, token in enumerate(vocab)}  # a repeated token: its last id
    ranks = dict(zip(merges, range(len(merges)), strict=True))  # as open_clip builds it
    merged_ids = [encoder["".join(m)] for m in merges]  # by rank, as ``ranks`` gives it
    return Vocab(
        ranks,
        merged_ids,
        {piece: encoder[piece] for piece in base},
        (encoder[_SPECIALS[0]], encoder[_SPECIALS[1]]),
        len(encoder),
    )


def _fix_text(text: str) -> str:
    if not all(c in _PLAIN for c in text):
        import ftfy

        text = ftfy.fix_text(text)
    return html.unescape(html.unescape(text)).strip()


def _whitespace(text: str) -> str:
    return " ".join(text.split()).strip()


def _canonicalize(text: str) -> str:
    text = text.replace("_", " ").translate(str.maketrans("", "", string.punctuation))
    return " ".join(text.lower().split()).strip()


def clean_text(text: str, clean: str) -> str:
    """open_clip's cleaning of a text before tokenising: ``lower``, ``whitespace`` (its
    Hugging Face tokenizers' default) or ``canonicalize``."""
    text = _fix_text(text)
    if clean == "canonicalize":
        return _canonicalize(text)
    text = _whitespace(text)
    return text.lower() if clean == "lower" else text


class ClipTokenizer:
    """Drop-in for open_clip's ``SimpleTokenizer`` that returns ``np.int64`` arrays."""

    pad_id = 0  # what follows the end token

    def __init__(
        self,
        context_length: int = 77,
        *,
        clean: str = "lower",
        vocab_path: str | Path | None = None,
    ) -> None:
        if clean not in CLEANERS:
            raise ValueError(f"clean must be one of {', '.join(CLEANERS)}")
        import regex

        self.context_length = int(context_length)
        self.clean = clean
        path = str(vocab_path or default_vocab_path())
        self.vocab = _load_vocab(path)
        self.byte_encoder = _bytes_to_unicode()
        self.sot_token_id, self.eot_token_id = self.vocab.specials
        self.vocab_size = self.vocab.size
        self.cache: dict[str, tuple[int, ...]] = {
            text: (token_id,) for text, token_id in zip(_SPECIALS, self.vocab.specials, strict=True)
        }
        self.pat = regex.compile(
            "|".join(_SPECIALS) + r"""|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
            regex.IGNORECASE,
        )

    def clean_text(self, text: str) -> str:
        return clean_text(text, self.clean)

    def count(self, text: str) -> int:
        """Tokens ``text`` needs, start and end tokens included."""
        return len(self.encode(text)) + 2

    def bpe(self, token: str) -> tuple[int, ...]:
        """The ids of a word's pieces: its characters merged by rank until no known pair
        is left."""
        cached = self.cache.get(token)
        if cached is not None:
            return cached
        word = (*token[:-1], token[-1] + "</w>")
        ids = tuple(self.vocab.base_ids[piece] for piece in word)
        ranks = self.vocab.ranks
        while len(word) > 1:
            pairs = set(itertools.pairwise(word))
            best = min(pairs, key=lambda p: ranks.get(p, float("inf")))
            if best not in ranks:
                break
            first, second = best
            made = self.vocab.merged_ids[ranks[best]]
            merged: list[str] = []
            merged_ids: list[int] = []
            i = 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == first and word[i + 1] == second:
                    merged.append(first + second)
                    merged_ids.append(made)
                    i += 2
                else:
                    merged.append(word[i])
                    merged_ids.append(ids[i])
                    i += 1
            word, ids = tuple(merged), tuple(merged_ids)
        self.cache[token] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` without the start and end tokens."""
        ids: list[int] = []
        for token in self.pat.findall(self.clean_text(text)):
            chars = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            ids.extend(self.bpe(chars))
        return ids

    def __call__(self, texts: str | list[str], context_length: int | None = None) -> np.ndarray:
        """``(n, context_length)`` int64 ids, truncated as open_clip does (end token kept)."""
        if isinstance(texts, str):
            texts = [texts]
        length = int(context_length or self.context_length)
        out = np.zeros((len(texts), length), dtype=np.int64)
        for row, text in enumerate(texts):
            ids = [self.sot_token_id, *self.encode(text), self.eot_token_id]
            if len(ids) > length:
                ids = ids[:length]
                ids[-1] = self.eot_token_id
            out[row, : len(ids)] = ids
        return out
