"""Refusing Qt bindings known to crash the app.

PySide6 6.12.0 on Python 3.11 drops one reference to ``True`` on every ``Signal.emit()``
called from Python (3.12 made ``True`` immortal, which hides it there). After a few
thousand emits (one indexing run of a few thousand photos) the interpreter aborts with
"bool_dealloc: deallocating True". A quick probe finds it before a window opens.
"""

from __future__ import annotations

import sys


class UnsupportedBinding(RuntimeError):
    """The installed Qt binding would crash the app."""


def signal_emit_leaks(emits: int = 16) -> bool:
    """True when emitting a signal from Python loses references to ``True``."""
    if sys.version_info >= (3, 12):
        return False
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(emits):
        probe.ping.emit()
    lost = before - sys.getrefcount(True)
    if lost > 0:  # undo the probe's own damage, for good (these references are owed)
        import ctypes

        for _ in range(lost):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))
    return lost > emits // 2


def check_binding() -> None:
    """Raise :class:`UnsupportedBinding` with the fix when the binding is a bad one."""
    if signal_emit_leaks():
        import PySide6

        raise UnsupportedBinding(
            f"PySide6 {PySide6.__version__} has a reference-counting bug on Python "
            f"{sys.version_info.major}.{sys.version_info.minor} that crashes the app; "
            'install another version, e.g. pip install "PySide6-Essentials==6.11.3"'
        )
