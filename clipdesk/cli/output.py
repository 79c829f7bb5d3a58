"""What the command line writes: one JSON writer, and text that stays one line per item.

File names on Linux are bytes, and clipdesk keeps a name that is not valid UTF-8 as a
``str`` with lone surrogates (``os.fsdecode``). Written raw, such a name is not valid JSON
text; so every JSON document the CLI prints goes through :func:`json_text`, which writes
each lone surrogate as a ``\\udcXX`` escape. ``os.fsencode(json.loads(text)[...])`` then
gives back the name's original bytes, and every other character stays readable.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
# C0 and C1 control characters and DEL: a newline in a file name must not start a new
# result line, and an escape sequence must not reach the terminal.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

# Longest user-given text echoed whole in a message; longer text is cut with an ellipsis.
MESSAGE_TEXT_LIMIT = 80


def json_text(data: Any, *, indent: int | None = 2) -> str:
    """``data`` as JSON text that is valid UTF-8 whatever file names it holds."""
    text = json.dumps(data, indent=indent, ensure_ascii=False)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def print_json(data: Any) -> None:
    """Print one JSON document (indented) on stdout."""
    sys.stdout.write(json_text(data) + "\n")


def print_json_line(data: Any) -> None:
    """Print one JSON object on one line (a stream of events, one per line)."""
    sys.stdout.write(json_text(data, indent=None) + "\n")
    sys.stdout.flush()


def say(message: str) -> None:
    """One ``clipdesk: MESSAGE`` line on stderr, at once."""
    print(f"clipdesk: {message}", file=sys.stderr, flush=True)


def one_line(text: str) -> str:
    """``text`` with control characters escaped, so it prints as exactly one line."""
    return _CONTROL.sub(lambda m: _NAMED.get(m.group(), f"\\x{ord(m.group()):02x}"), text)


def shown(text: str, limit: int = MESSAGE_TEXT_LIMIT) -> str:
    """User-given ``text`` as a message quotes it: one line, and cut when very long."""
    text = one_line(text)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(text):,} characters)"
