"""The core never imports Qt: every core module imports with PySide6 made unimportable.

The modules are found by walking the folders for ``.py`` files, not by walking packages,
so a folder without ``__init__.py`` cannot drop out of the check unseen; the child reports
the file each module was loaded from, and the test proves it matches every file found.
import-linter checks the same rule statically (tests/test_import_contracts.py); this test
checks what actually happens at import time, lazy module-level tricks included.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import clipdesk

PACKAGE_DIR = Path(clipdesk.__file__).resolve().parent
QT = ("PySide6", "shiboken6", "qtpy", "superqt")
# Files that cannot be imported on their own, with why; they are checked by reading them.
NOT_IMPORTABLE = {
    # Alembic's environment script: runs only inside an Alembic command (context.config).
    "clipdesk.core.catalog.migrations.env",
}


def _module_files(folder: Path) -> dict[str, Path]:
    """Every .py file below ``folder``, by the module name it has."""
    out = {}
    for directory, _dirs, files in os.walk(folder):
        for name in files:
            if name.endswith(".py"):
                path = Path(directory) / name
                parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
                if parts[-1] == "__init__":
                    parts.pop()
                out[".".join(parts)] = path
    return out


def _qt_imports(path: Path) -> list[str]:
    """Qt modules that a file's import statements name, wherever they stand."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found.extend(n for n in names if n.split(".")[0] in QT)
    return found


def test_every_core_and_training_module_imports_without_qt() -> None:
    files = _module_files(PACKAGE_DIR / "core") | _module_files(PACKAGE_DIR / "training")
    assert "clipdesk.core.library" in files and "clipdesk.core.tags.job" in files
    assert files.keys() >= NOT_IMPORTABLE, "an exclusion names a file that is gone"
    importable = sorted(files.keys() - NOT_IMPORTABLE)
    script = (
        "import importlib, json, sys\n"
        f"for name in {QT!r}:\n"
        "    sys.modules[name] = None\n"
        "loaded = {}\n"
        f"for module in {importable!r}:\n"
        "    loaded[module] = importlib.import_module(module).__file__\n"
        "qt = sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{QT!r} and sys.modules[m] is not None)\n"
        "print(json.dumps({'loaded': loaded, 'qt': qt}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["qt"] == []
    loaded = {name: Path(path).resolve() for name, path in report["loaded"].items()}
    assert loaded == {name: files[name].resolve() for name in importable}
    for name in NOT_IMPORTABLE:
        assert _qt_imports(files[name]) == [], name


def test_every_package_folder_has_an_init() -> None:
    """A folder of modules without ``__init__.py`` is a namespace package: packaging and
    package walks skip it. Every folder of clipdesk's code is a regular package."""
    missing = [
        str(Path(directory).relative_to(PACKAGE_DIR.parent))
        for directory, _dirs, names in os.walk(PACKAGE_DIR)
        if any(n.endswith(".py") for n in names) and "__init__.py" not in names
    ]
    assert missing == []
