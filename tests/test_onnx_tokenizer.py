"""The torch-free CLIP tokenizer gives exactly open_clip's token ids."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from clipdesk.core.clip_tokenizer import ClipTokenizer

CORPUS = [
    "a photo of a dog",
    "A Photo Of A DOG!!!",
    "two people walking on a beach at sunset",
    "  lots   of\tspaces\nand\r\nline breaks  ",
    "Geburtstagskuchen mit Kerzen",
    "café crème brûlée, naïve façade",
    "東京の夜景 and 北京",
    "emoji 🐶🐱 party 🎉",
    "fish &amp; chips &lt;b&gt; &#39;quoted&#39;",
    "Rock &amp;amp; roll",
    "mojibake: Ã©tÃ© â€œquotesâ€\x9d",
    "ligatures: \ufb01sh \ufb02ower, fullwidth \uff21\uff22\uff23",
    "it's what we'd've done, you'll see I'm sure",
    "numbers 12345 and 3.14159 and -42",
    "snake_case_words and under_scores",
    "control\x1b[31mred\x1b[0m text",
    "",
    "   ",
    "a" * 300,
    " ".join(["word"] * 120),
    "antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
]


def _reference(clean: str, context_length: int):
    from open_clip.tokenizer import SimpleTokenizer

    return SimpleTokenizer(context_length=context_length, clean=clean)


@pytest.mark.parametrize("clean", ["lower", "whitespace", "canonicalize"])
@pytest.mark.parametrize("context_length", [77, 32])
def test_token_ids_equal_open_clip(clean: str, context_length: int) -> None:
    ours = ClipTokenizer(context_length, clean=clean)
    ref = _reference(clean, context_length)
    expected = ref(CORPUS).numpy()
    got = ours(CORPUS)
    assert got.dtype == np.int64
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    for text in CORPUS:
        assert ours.encode(text) == ref.encode(text), text


def test_random_text_equal_open_clip() -> None:
    rng = random.Random(7)
    alphabet = (
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?'\"-_&#()"
        "éèüßøñçÅÆœ中文字日本語한국어🙂🚲\u2014\u2013\u2026\t\n"
    )
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60))) for _ in range(300)]
    ours, ref = ClipTokenizer(), _reference("lower", 77)
    np.testing.assert_array_equal(ours(texts), ref(texts).numpy())


def test_plain_ascii_is_left_alone_by_ftfy() -> None:
    """The reason ftfy can be skipped for plain printable ASCII without '&'."""
    import ftfy

    rng = random.Random(3)
    printable = [chr(c) for c in range(0x20, 0x7F) if chr(c) != "&"]
    for _ in range(2000):
        text = "".join(rng.choice(printable) for _ in range(rng.randint(0, 80)))
        assert ftfy.fix_text(text) == text


def test_truncation_keeps_end_token() -> None:
    tok = ClipTokenizer(16)
    ids = tok(" ".join(["dog"] * 40))[0]
    assert ids[0] == tok.sot_token_id
    assert ids[-1] == tok.eot_token_id
    assert (ids != 0).all()


def test_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from clipdesk.core.clip_tokenizer import ClipTokenizer\n"
        "ClipTokenizer()(['a photo of a dog'])\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "assert 'ftfy' not in sys.modules, 'ftfy was imported for plain text'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_cached_vocabulary_equals_the_parsed_one(tmp_path, monkeypatch) -> None:
    """A cold search reads the parsed vocabulary from the cache; it must be the same
    vocabulary, and a damaged copy must be replaced, not trusted."""
    from clipdesk.core import clip_tokenizer

    monkeypatch.setenv("CLIPDESK_CACHE_DIR", str(tmp_path))
    path = str(clip_tokenizer.default_vocab_path())
    parsed = clip_tokenizer._parse_vocab(Path(path).read_bytes())
    clip_tokenizer._load_vocab.cache_clear()
    assert clip_tokenizer._load_vocab(path) == parsed  # parses and writes the copy
    (copy,) = (tmp_path / "tokenizers").iterdir()
    clip_tokenizer._load_vocab.cache_clear()
    assert clip_tokenizer._load_vocab(path) == parsed  # from the copy
    copy.write_bytes(b"not marshal data")
    clip_tokenizer._load_vocab.cache_clear()
    assert clip_tokenizer._load_vocab(path) == parsed
    assert copy.read_bytes() != b"not marshal data"
    clip_tokenizer._load_vocab.cache_clear()


def test_a_vocabulary_with_repeated_merges_gives_open_clip_ids(tmp_path, monkeypatch) -> None:
    """A pack may carry its own vocabulary. Where a merge repeats, or two merges make the
    same token, the ids must still be open_clip's, parsed and from the cached copy."""
    import gzip

    from open_clip.tokenizer import SimpleTokenizer

    from clipdesk.core import clip_tokenizer

    monkeypatch.setenv("CLIPDESK_CACHE_DIR", str(tmp_path / "cache"))
    merges = ["t h", "th e</w>", "a b", "ab c</w>", "a bc</w>", "b c</w>", "a b", "d o", "do g</w>"]
    vocab = tmp_path / "bpe_simple_vocab_16e6.txt.gz"
    vocab.write_bytes(gzip.compress(("#version: test\n" + "\n".join(merges)).encode()))
    texts = ["the abc dog", "abc abc bc", "a b c", "dog the thedog abcabc"]
    expected = SimpleTokenizer(str(vocab))(texts).numpy()
    for _ in range(2):  # parses and keeps a copy, then reads the copy
        clip_tokenizer._load_vocab.cache_clear()
        np.testing.assert_array_equal(ClipTokenizer(vocab_path=vocab)(texts), expected)
    assert len(list((tmp_path / "cache" / "tokenizers").iterdir())) == 1
    clip_tokenizer._load_vocab.cache_clear()
