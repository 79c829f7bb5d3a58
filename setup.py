"""Build hook: a wheel carries ``resources/`` (models, vocabularies, icons) as
``clipdesk/resources``, so ``pip install .`` gives a complete clipdesk; an editable install
and a source checkout read them from the top-level ``resources/`` folder instead."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildPyWithResources(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "clipdesk" / "resources"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(ROOT / "resources", target)


setup(cmdclass={"build_py": BuildPyWithResources})
