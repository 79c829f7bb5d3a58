"""No import cycles in clipdesk, lazy and type-only imports included.

The rule is kept by ``tools/check_import_cycles.py``; these tests run it and check it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import clipdesk

REPO = Path(__file__).resolve().parent.parent
TOOL = REPO / "tools" / "check_import_cycles.py"
PACKAGE_DIR = Path(clipdesk.__file__).resolve().parent

# Cycles still open, each the sorted modules of one strongly connected component. The
# test asserts this exact set: a new cycle fails it, and so does fixing one of these
# without taking it off the list. Empty since the tag service is handed its parts
# (store, catalog, model, writer) instead of importing Library.
KNOWN_CYCLES: list[list[str]] = []


@pytest.fixture(scope="module")
def tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_import_cycles", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being made
    spec.loader.exec_module(module)
    return module


def _python_files(root: Path) -> list[Path]:
    """Every .py file below root, found without the tool's own walk."""
    out = []
    for folder, _dirs, files in os.walk(root):
        out.extend(Path(folder) / f for f in files if f.endswith(".py"))
    return sorted(out)


def test_the_checker_parses_every_module_and_finds_only_the_known_cycles(tool) -> None:
    assert PACKAGE_DIR.parent == REPO, "run with the repository first on PYTHONPATH"
    graph = tool.build_graph(PACKAGE_DIR)
    files = _python_files(PACKAGE_DIR)
    assert len(files) > 100
    assert graph.files == files
    assert len(graph.modules) == len(files)  # one module per file: none skipped or merged
    assert {"clipdesk.core.tags.job", "clipdesk.core.catalog.migrations.env"} <= set(graph.modules)
    assert graph.cycles() == KNOWN_CYCLES


def test_the_checker_exits_non_zero_on_a_cycle(tmp_path: Path) -> None:
    root = tmp_path / "clipdesk"
    _write(root, "__init__.py", "")
    _write(root, "a.py", "def f():\n    from clipdesk import b\n")
    _write(
        root, "b.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\n"
    )
    _write(root, "c.py", "import clipdesk.a\n")
    result = _run(str(root))
    assert result.returncode == 1, result.stderr
    assert "cycle among 2 modules: clipdesk.a, clipdesk.b" in result.stdout
    assert "clipdesk.a:2 -> clipdesk.b (lazy)" in result.stdout
    assert "clipdesk.b:3 -> clipdesk.a (type)" in result.stdout
    runtime = _run(str(root), "--runtime-only", "--json")
    assert runtime.returncode == 0, runtime.stdout
    assert json.loads(runtime.stdout)["cycles"] == []


def test_imports_by_name_count(tmp_path: Path, tool) -> None:
    """A module named in a string (import_module, a table of lazy names) is imported,
    and an f-string with a package prefix may name any module in that package."""
    root = tmp_path / "clipdesk"
    _write(root, "__init__.py", "")
    loader = (
        "import importlib\n\n"
        "def load(n):\n    return importlib.import_module(f'clipdesk.cmds.{n}')\n"
    )
    _write(root, "cmds/__init__.py", loader)
    _write(root, "cmds/x.py", "def run():\n    from clipdesk.cmds import load\n")
    _write(root, "lazy.py", "TABLE = {'thing': 'clipdesk.user'}\n")
    _write(root, "user.py", "from clipdesk.lazy import TABLE\n")
    graph = tool.build_graph(root)
    assert graph.cycles() == [
        ["clipdesk.cmds", "clipdesk.cmds.x"],
        ["clipdesk.lazy", "clipdesk.user"],
    ]
    kinds = {(e.source, e.target): e.kind for e in graph.edges}
    assert kinds[("clipdesk.cmds", "clipdesk.cmds.x")] == "by name"
    assert kinds[("clipdesk.lazy", "clipdesk.user")] == "by name"


def test_the_repository_run_reports_as_json() -> None:
    result = _run("--json")
    report = json.loads(result.stdout)
    assert report["files"] == len(report["modules"]) == len(_python_files(PACKAGE_DIR))
    assert report["cycles"] == KNOWN_CYCLES
    assert result.returncode == (1 if KNOWN_CYCLES else 0)


def _write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=120
    )
