"""SIGTERM and SIGINT close the window as its close button does.

A logout or ``kill`` sends SIGTERM; Ctrl+C in the terminal that started ``clipdesk gui``
sends SIGINT. Either way the window closes properly: jobs stop where they can, the
library is closed, and what the window served (``search_serving``) is taken down.
Python runs a signal handler only between Python bytecodes, so while Qt's event loop
waits in C++ a timer wakes the interpreter a few times a second.
"""

from __future__ import annotations

import signal
from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

__all__ = ["close_on_quit_signals"]

_WAKE_MS = 200


def close_on_quit_signals(window: QWidget) -> Callable[[], None]:
    """Close ``window`` on SIGTERM or SIGINT (call from the main thread); returns what
    puts the previous handlers back once the window is gone."""

    def close(_signum: int, _frame: object) -> None:
        QTimer.singleShot(0, window.close)

    previous = {sig: signal.signal(sig, close) for sig in (signal.SIGTERM, signal.SIGINT)}
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    timer.start(_WAKE_MS)

    def restore() -> None:
        timer.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
