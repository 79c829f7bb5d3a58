"""Write ``clipdesk/core/catalog/quick_sql.py``: the catalog's own statements, compiled.

The quick search (``clipdesk/core/search/quick.py``) answers a plain search without
importing SQLAlchemy, whose import alone is a third of a warm ``clipdesk search``. It
runs the very SQL the catalog runs, compiled here from the catalog's statement builders
for SQLite. ``--check`` exits 1 when a statement in the file differs from what the
builders give now (a test runs it), so the two can never drift apart.

    python tools/freeze_quick_sql.py          # write the file
    python tools/freeze_quick_sql.py --check  # is it current?
"""

from __future__ import annotations

import argparse
import pprint
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "clipdesk" / "core" / "catalog" / "quick_sql.py"

HEADER = '''"""The catalog's statements the quick search runs, compiled for SQLite.

Written by ``tools/freeze_quick_sql.py`` from the catalog's own statement builders;
do not edit by hand (a test fails when this file and the builders differ). Each
statement is ``(sql, parameter names in order, constant parameters)``; an expanding
parameter (a list) stands in the SQL as ``__[POSTCOMPILE_name]``.
"""

from __future__ import annotations
'''


def statements() -> dict[str, Any]:
    """The statements by name, built by the catalog's own builders."""
    from sqlalchemy import bindparam

    from clipdesk.core.catalog._embeddings import EMBEDDING_IDS_SQL
    from clipdesk.core.catalog._files import files_of_root_query
    from clipdesk.core.catalog._indexing import pending_files_query
    from clipdesk.core.catalog._meta import meta_value_query
    from clipdesk.core.catalog._roots import all_roots_query
    from clipdesk.core.catalog._scenes import scenes_for_embeddings_query
    from clipdesk.core.catalog.allowed import files_for_embeddings_queries
    from clipdesk.core.catalog.schema import embeddings
    from clipdesk.core.tags.store import photo_set_query

    chosen = embeddings.c.id.in_(bindparam("ids", expanding=True))
    photos, videos = files_for_embeddings_queries(chosen)
    return {
        "ROOTS": all_roots_query(),
        "FILES_OF_ROOT": files_of_root_query(bindparam("root_id")),
        "META_VALUE": meta_value_query(bindparam("key")),
        "EMBEDDING_IDS": (EMBEDDING_IDS_SQL.format(mark="?"), ("model_key",), {}),
        **{
            f"PENDING_FILE_{'FACES' if faces else 'NO_FACES'}_{'TEXT' if text else 'NO_TEXT'}": (
                pending_files_query(bindparam("model_key"), faces=faces, text=text)
            )
            for faces in (False, True)
            for text in (False, True)
        },
        "PHOTO_SET": photo_set_query(bindparam("model_key")),
        "PHOTOS_OF_EMBEDDINGS": photos,
        "VIDEOS_OF_EMBEDDINGS": videos,
        "SCENES_OF_EMBEDDINGS": scenes_for_embeddings_query(chosen),
    }


def compiled(statement: Any) -> tuple[str, tuple[str, ...], dict[str, object]]:
    if isinstance(statement, tuple):
        return statement
    from sqlalchemy.dialects import sqlite

    done = statement.compile(dialect=sqlite.dialect())
    names = tuple(done.positiontup or ())
    constants = {k: v for k, v in done.params.items() if v is not None}
    return done.string, names, constants


def render() -> str:
    parts = [HEADER]
    for name, statement in statements().items():
        text = pprint.pformat(compiled(statement), width=92)
        parts.append(f"{name} = {text}\n")
    return "\n".join(parts)


def stale_names() -> list[str]:
    """The statements whose frozen form differs from what the builders give now."""
    import importlib

    frozen = importlib.import_module("clipdesk.core.catalog.quick_sql")
    wanted = {name: compiled(statement) for name, statement in statements().items()}
    return [name for name, value in wanted.items() if getattr(frozen, name, None) != value]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.check:
        stale = stale_names()
        if stale:
            print(
                f"{TARGET.name} is stale ({', '.join(stale)}): "
                "run python tools/freeze_quick_sql.py",
                file=sys.stderr,
            )
            return 1
        return 0
    TARGET.write_text(render(), "utf-8")
    subprocess.run([sys.executable, "-m", "ruff", "format", "-q", str(TARGET)], check=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
