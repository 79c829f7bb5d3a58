"""docs/ARCHITECTURE.md's tree lists every package and module of clipdesk/, and no more.

A tree written by hand goes stale the day a file is split; this reads the tree and the
package and compares them both ways, so a new module, a removed one or a package that
moved fails here until the document says so.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "ARCHITECTURE.md"
ENTRY = re.compile(r"^( *)([A-Za-z_][\w.]*/?)(?:\s{2,}|$)")
# Alembic revisions are listed as their folder: one file per schema change.
LISTED_AS_FOLDER = ("migrations",)


def tree_in_doc() -> set[str]:
    """Paths under clipdesk/ named by the first fenced block of ARCHITECTURE.md.

    An entry is a name at most one level deeper than the entry above it; description
    lines that wrap are indented much further and are not entries.
    """
    block = DOC.read_text(encoding="utf-8").split("```")[1]
    stack: list[str] = []
    last_indent = -2
    found: set[str] = set()
    for line in block.splitlines():
        match = ENTRY.match(line)
        if not match or len(match.group(1)) % 2 or len(match.group(1)) > last_indent + 2:
            continue
        depth = len(match.group(1)) // 2
        last_indent = len(match.group(1))
        name = match.group(2)
        del stack[depth:]
        path = "/".join([*stack, name.rstrip("/")])
        if name.endswith("/"):
            stack.append(name.rstrip("/"))
        if path.startswith("clipdesk"):
            found.add(path)
    return found


def tree_on_disk() -> set[str]:
    """Every package folder and module under clipdesk/ (``__init__.py`` is its folder)."""
    found = {"clipdesk"}
    for path in (REPO / "clipdesk").rglob("*.py"):
        parts = path.relative_to(REPO).parts
        for i in range(2, len(parts)):  # the package folders on the way
            found.add("/".join(parts[:i]))
            if parts[i - 1] in LISTED_AS_FOLDER:
                break
        else:
            if path.name != "__init__.py":
                found.add("/".join(parts))
    return found


def test_the_architecture_tree_lists_every_package_and_module() -> None:
    documented, real = tree_in_doc(), tree_on_disk()
    assert len(real) > 100, "the walk of clipdesk/ found too little to prove anything"
    assert not real - documented, f"missing from docs/ARCHITECTURE.md: {sorted(real - documented)}"
    assert not documented - real, f"listed but not in clipdesk/: {sorted(documented - real)}"


def test_the_tree_reader_sees_nested_entries() -> None:
    documented = tree_in_doc()
    for path in (
        "clipdesk/core/library/model_vectors.py",
        "clipdesk/core/catalog/migrations",
        "clipdesk/gui/service.py",
        "clipdesk/training/__main__.py",
    ):
        assert path in documented
