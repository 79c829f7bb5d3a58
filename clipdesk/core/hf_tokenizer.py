"""A Hugging Face tokenizer (``tokenizer.json``) without transformers, for text towers
such as the multilingual model's XLM-RoBERTa.

open_clip tokenises those towers through ``transformers``, which a plain install does
not have: it is a large package, and importing it costs seconds. What transformers runs
underneath is the ``tokenizers`` package's ``Tokenizer``; the export saves that very
tokenizer into the model's ``onnx/`` folder (and so into its pack), and this module
applies open_clip's cleaning, truncation and padding around it, giving the same ids
(``tests/test_fidelity.py`` checks them against open_clip's).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from clipdesk.core.clip_tokenizer import CLEANERS, clean_text

HF_TOKENIZER_NAME = "tokenizer.json"


class HfTokenizer:
    """open_clip's ``HFTokenizer`` (its default mode) over a saved ``tokenizer.json``:
    cleaned text, the tokenizer's own special tokens, truncated to the context length
    and padded with ``pad_id`` after the end."""

    def __init__(
        self,
        path: Path,
        context_length: int,
        *,
        pad_id: int,
        clean: str = "whitespace",
    ) -> None:
        if clean not in CLEANERS:
            raise ValueError(f"clean must be one of {', '.join(CLEANERS)}")
        from tokenizers import Tokenizer

        self.context_length = int(context_length)
        self.pad_id = int(pad_id)
        self.clean = clean
        self._tokenizer = Tokenizer.from_file(str(path))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        self._truncating = Tokenizer.from_str(self._tokenizer.to_str())
        self._truncating.enable_truncation(self.context_length)

    def count(self, text: str) -> int:
        """Tokens ``text`` needs, the tokenizer's special tokens included."""
        return len(self._tokenizer.encode(clean_text(text, self.clean)).ids)

    def __call__(self, texts: str | list[str], context_length: int | None = None) -> np.ndarray:
        """``(n, context_length)`` int64 ids, cut and padded as transformers does it for
        open_clip (``truncation=True, padding="max_length"``)."""
        if isinstance(texts, str):
            texts = [texts]
        length = int(context_length or self.context_length)
        tokenizer = self._truncating
        if length != self.context_length:
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_str(self._tokenizer.to_str())
            tokenizer.enable_truncation(length)
        encoded = tokenizer.encode_batch([clean_text(t, self.clean) for t in texts])
        out = np.full((len(texts), length), self.pad_id, dtype=np.int64)
        for row, item in enumerate(encoded):
            out[row, : len(item.ids)] = item.ids
        return out


def save_hf_tokenizer(tokenizer: Any, path: Path) -> None:
    """Write the ``tokenizers`` tokenizer under a transformers tokenizer to ``path``,
    with the padding and truncation a call may have left switched on taken off."""
    from tokenizers import Tokenizer

    copy = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
    copy.no_padding()
    copy.no_truncation()
    copy.save(str(path))
