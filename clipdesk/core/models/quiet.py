"""Keeping open_clip's and torch's notices out of a user's terminal during an import.

Building a model from a config makes open_clip log "model initialized randomly" on the
root logger, and torch warns or advises ``weights_only=False`` when a file cannot be
read. Neither is about anything the user did: the import reports its own one-line
error instead. Only records from open_clip are dropped, and only while the block runs.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager


class _DropOpenClip(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        path = record.pathname.replace("\\", "/")
        return not (record.name.startswith("open_clip") or "/open_clip/" in path)


@contextmanager
def quiet_third_party() -> Iterator[None]:
    """Silence open_clip's logging and torch/open_clip warnings inside the block."""
    root = logging.getLogger()
    named = logging.getLogger("open_clip")
    drop = _DropOpenClip()
    # A handler of our own stops logging.warning() from calling basicConfig(), which
    # would leave a stderr handler on the root logger after the block.
    placeholder = logging.NullHandler()
    root.addHandler(placeholder)
    root.addFilter(drop)
    named.addFilter(drop)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        named.removeFilter(drop)
        root.removeFilter(drop)
        root.removeHandler(placeholder)
