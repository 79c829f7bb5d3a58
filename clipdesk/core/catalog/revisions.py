"""The catalog's schema revisions, read from the migration scripts' text.

Kept apart from :mod:`.database` (which imports SQLAlchemy) so that a search that
opens no SQLAlchemy engine can still tell an up-to-date catalog from an older one.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

__all__ = ["MIGRATIONS_DIR", "head_revision", "revisions"]


@cache
def revisions() -> tuple[tuple[str, ...], str]:
    """Every migration's revision (oldest first) and the head, read from the scripts' text.

    Importing Alembic (and its SQLAlchemy parts) costs a cold command about a third of a
    second; opening an up-to-date catalog only needs these names, so Alembic is imported
    only to migrate. A test checks that this agrees with Alembic's own reading.
    """
    down: dict[str, str | None] = {}
    for script in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        names: dict[str, object] = {}
        for node in ast.parse(script.read_text("utf-8")).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name) and isinstance(node.value, ast.Constant):
                    names[target.id] = node.value.value
        if isinstance(names.get("revision"), str):
            down[str(names["revision"])] = names.get("down_revision")  # type: ignore[assignment]
    heads = set(down) - set(down.values())
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads; they must have one")
    order: list[str] = []
    current: str | None = heads.pop()
    while current is not None:
        order.append(current)
        current = down[current]
    if len(order) != len(down):
        raise RuntimeError("the migrations do not form one chain")
    return tuple(reversed(order)), order[0]


def head_revision() -> str:
    return revisions()[1]
