"""The layering contracts in pyproject.toml hold, checked by import-linter on every run.

The contracts: the core imports no Qt; the window and the command line sit above the
core; training and the window stay apart; the core does not reach into training. CI runs
``python -m pytest`` only, so this test is what enforces them. The second test breaks a
copy of the code on purpose, to prove the check sees an import hidden inside a function.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import clipdesk

REPO = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(clipdesk.__file__).resolve().parent
CONTRACTS = 4


def _lint_imports(config: Path, cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter with the repository's config on the clipdesk found on pythonpath."""
    lint = Path(sys.executable).with_name("lint-imports")
    assert lint.is_file(), "import-linter is missing: pip install -e '.[dev]'"
    env = dict(os.environ, PYTHONPATH=str(pythonpath))
    return subprocess.run(
        [str(lint), "--config", str(config), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


def test_the_layering_contracts_are_kept() -> None:
    assert PACKAGE_DIR.parent == REPO, "run with the repository first on PYTHONPATH"
    result = _lint_imports(REPO / "pyproject.toml", REPO, REPO)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert f"Contracts: {CONTRACTS} kept, 0 broken." in result.stdout


def test_a_lazy_qt_import_in_the_core_breaks_a_contract(tmp_path: Path) -> None:
    copy = tmp_path / "clipdesk"
    shutil.copytree(PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    module = copy / "core" / "tags" / "zeroshot.py"  # in the folder the old test missed
    module.write_text(
        module.read_text(encoding="utf-8") + "\n\ndef _window():\n    import PySide6.QtWidgets\n",
        encoding="utf-8",
    )
    result = _lint_imports(REPO / "pyproject.toml", tmp_path, tmp_path)
    assert result.returncode == 1, result.stdout[-4000:]
    assert re.search(r"The core imports no Qt BROKEN", result.stdout), result.stdout[-4000:]
    assert "clipdesk.core.tags.zeroshot -> PySide6" in result.stdout
    assert f"Contracts: {CONTRACTS - 1} kept, 1 broken." in result.stdout
