"""The similarity from which two photos count as copies, on its own so that the command
line can show it in ``--help`` without importing the duplicate search (and numpy)."""

from __future__ import annotations

__all__ = ["DEFAULT_THRESHOLD"]

DEFAULT_THRESHOLD = 0.95
