"""Native extensions built with pybind11 are imported on the GUI thread, before any
worker runs.

Imported for the first time in one of Qt's pooled worker threads, ONNX Runtime's
module set-up can free a Python thread state it does not own: pybind11 keeps the
thread's state in its own thread-local slot, which goes stale when PySide drops the
state it made for an earlier job on that thread. The app then aborted with "double free
or corruption" in about one start in three (a search and the warm-up racing to load
the text tower). Imported once on the main thread, the set-up is done where the thread
state is Python's own, and the workers find the module ready.
"""

from __future__ import annotations

import importlib

__all__ = ["PYBIND11_MODULES", "import_native_modules"]

# The pybind11 extensions that workers import; usearch is the vector index.
PYBIND11_MODULES = ("onnxruntime", "usearch.index")


def import_native_modules() -> list[str]:
    """Import each of :data:`PYBIND11_MODULES` that is installed; the names imported."""
    done = []
    for name in PYBIND11_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            continue  # not installed here: nothing will import it in a worker either
        done.append(name)
    return done
