"""Run clipdesk in a child process where torch and open_clip cannot be imported.

A ``sitecustomize`` puts a finder first on ``sys.meta_path`` that refuses torch,
torchvision, open_clip, timm and transformers, and writes every name it refused to a log:
the commands must work, and the log must stay empty (nothing even tried to import them).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLOCKED = ("torch", "torchvision", "open_clip", "timm", "transformers")

SITECUSTOMIZE = f"""
import os, sys

BLOCKED = {BLOCKED!r}


class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] not in BLOCKED:
            return None
        with open(os.environ["CLIPDESK_TEST_BLOCK_LOG"], "a", encoding="utf-8") as fh:
            fh.write(name + "\\n")
        raise ModuleNotFoundError(f"No module named {{name!r}} (blocked)", name=name)


sys.meta_path.insert(0, _NoTorch())
"""


class LiteRunner:
    """Runs ``clipdesk`` commands without torch, with clipdesk's folders under ``base``."""

    def __init__(self, base: Path) -> None:
        site = base / "no-torch-site"
        site.mkdir(parents=True, exist_ok=True)
        (site / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
        self.log = base / "blocked-imports.log"
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)]),
            "CLIPDESK_TEST_BLOCK_LOG": str(self.log),
            "CLIPDESK_DATA_DIR": str(base / "data"),
            "CLIPDESK_CACHE_DIR": str(base / "cache"),
            "CLIPDESK_CONFIG_DIR": str(base / "config"),
            "CLIPDESK_MODELS_DIR": str(base / "models"),
        }
        for name in ("CLIPDESK_BACKEND", "CLIPDESK_MODEL", "CLIPDESK_LIBRARY", "DISPLAY"):
            self.env.pop(name, None)

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "clipdesk", *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
        )

    def python(self, code: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
        )

    def refused(self) -> list[str]:
        """Module names something tried to import and the finder refused."""
        if not self.log.exists():
            return []
        return self.log.read_text(encoding="utf-8").split()
