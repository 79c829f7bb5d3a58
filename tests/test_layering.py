"""The core never imports Qt: every core module imports with PySide6 made unimportable."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import clipdesk.core
import clipdesk.training


def _modules(package) -> list[str]:
    return [
        info.name
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
        if ".migrations" not in info.name
    ]


def test_core_and_training_import_without_qt():
    modules = _modules(clipdesk.core) + _modules(clipdesk.training)
    assert "clipdesk.core.library" in modules
    script = (
        "import sys\n"
        "for name in ('PySide6', 'shiboken6', 'qtpy', 'superqt'):\n"
        "    sys.modules[name] = None\n"
        f"for module in {modules!r}:\n"
        "    __import__(module)\n"
        "assert not any(m.startswith('PySide6') for m in sys.modules if sys.modules[m])\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
