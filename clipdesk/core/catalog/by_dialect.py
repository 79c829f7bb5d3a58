"""A condition written twice, once per database, chosen when the statement is compiled.

Full-text search is the one filter whose SQL differs between SQLite (FTS5 ``MATCH``) and
PostgreSQL (tsvector ``@@``); the conditions are built before anyone knows which
database answers, so the choice waits for the compiler.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ColumnElement
from sqlalchemy.ext.compiler import compiles

__all__ = ["by_dialect"]


class _ByDialect(ColumnElement[bool]):
    """SQLite's form unless the statement is compiled for PostgreSQL."""

    type = Boolean()
    inherit_cache = False  # the chosen text differs per dialect and per value

    def __init__(self, default: ColumnElement[bool], postgresql: ColumnElement[bool]) -> None:
        self.default = default
        self.postgresql = postgresql


@compiles(_ByDialect)
def _compile(element: _ByDialect, compiler: Any, **kw: Any) -> str:
    chosen = element.postgresql if compiler.dialect.name == "postgresql" else element.default
    return compiler.process(chosen, **kw)


def by_dialect(
    default: ColumnElement[bool], *, postgresql: ColumnElement[bool]
) -> ColumnElement[bool]:
    """``default`` (SQLite), or ``postgresql`` on PostgreSQL."""
    return _ByDialect(default, postgresql)
