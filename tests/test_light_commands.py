"""A warm ``clipdesk index`` (nothing new on disk) and ``clipdesk search`` load only what
they use: each is a new process a user waits for, and imports are most of its time.

The commands run as a user runs them, in a new process over a real library (tiny-shapes),
and report the modules they imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from clipdesk.training.shapes import write_sample_library

ROOT = Path(__file__).resolve().parents[1]
RUN = (
    "import json, sys\n"
    "from clipdesk.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print(json.dumps({'code': code, 'modules': sorted(sys.modules)}))\n"
)
# Reading photos (decoders, OCR, faces, places), migrating, ONNX Runtime and the tokenizer:
# an index run that finds nothing new needs none of them.
NOT_FOR_A_WARM_INDEX = (
    "onnxruntime",
    "rapidocr",
    "dlib",
    "alembic",
    "torch",
    "sqlalchemy.orm",
    "clipdesk.core.decode_pool",
    "clipdesk.core.decode_task",
    "clipdesk.core.places",
    "clipdesk.core.clip_tokenizer",
)
# A text search reads no image and indexes nothing.
NOT_FOR_A_SEARCH = (
    "PIL",
    "rapidocr",
    "dlib",
    "alembic",
    "torch",
    "sqlalchemy.orm",
    "clipdesk.core.indexer",
    "clipdesk.core.decode_task",
)


def _run(base: Path, *argv: str) -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in ("DATA", "CACHE", "CONFIG", "MODELS"):
        env[f"CLIPDESK_{name}_DIR"] = str(base / name.lower())
    for name in ("CLIPDESK_LIBRARY", "CLIPDESK_MODEL", "CLIPDESK_OCR", "CLIPDESK_FACES"):
        env.pop(name, None)
    args = ["--library", str(base / "lib"), "--model", "tiny-shapes", *argv]
    done = subprocess.run(
        [sys.executable, "-c", RUN, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=base,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["code"] == 0, done.stderr[-3000:]
    return set(report["modules"])


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, tiny_shapes_installed: str) -> Path:
    """A library of a few photos, indexed by the default command (text, faces, tags)."""
    base = tmp_path_factory.mktemp("light")
    write_sample_library(base / "photos", 4, seed=3)
    first = _run(base, "index", str(base / "photos"))
    assert "clipdesk.core.decode_pool" in first  # this run did read photos
    return base


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules for n in names if m == n or m.startswith(n + "."))


def test_an_index_run_that_finds_nothing_new_reads_nothing(indexed: Path):
    modules = _run(indexed, "index", str(indexed / "photos"))
    assert _loaded(modules, NOT_FOR_A_WARM_INDEX) == []
    assert "clipdesk.core.scanner" in modules  # it did look at the folder


def test_a_text_search_imports_no_image_or_indexing_code(indexed: Path):
    modules = _run(indexed, "search", "a red circle")
    assert _loaded(modules, NOT_FOR_A_SEARCH) == []
    assert "onnxruntime" in modules  # the query was embedded
