"""Ctrl-C is reported once, as ``clipdesk: interrupted``, never as a library's traceback.

Python raises KeyboardInterrupt wherever the main thread happens to be. Inside
SQLAlchemy that shows in two ways, both seen when interrupting the first index of a new
library: closing a pooled connection logs "Exception closing connection" with the
interrupt's traceback (through Python's last-resort handler, straight to stderr) before
passing the interrupt on; and an interrupted commit can end in an AssertionError raised
while the interrupt is handled. SQLite keeps the database whole either way; the user
only needs to hear that the command was interrupted.

An interrupt can also land in code Python runs where nothing can raise: a weakref
callback during garbage collection (SQLAlchemy has some). Python prints it as
"Exception ignored in ..." with a traceback and drops it; the hook below has it raised
again in the main thread once the callback is over (from another thread: raised in the
hook itself, it would be dropped the same way), and the command ends as interrupted.
"""

from __future__ import annotations

import _thread
import contextlib
import logging
import sys
from typing import Any

_LOGGER = "sqlalchemy"


class _NotAnInterrupt(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], KeyboardInterrupt))


class _InterruptQuietHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """stderr at WARNING, as Python's last resort would print, minus interrupts."""

    def __init__(self) -> None:
        super().__init__()
        self.setLevel(logging.WARNING)
        self.addFilter(_NotAnInterrupt())


class _InterruptAgain:
    """``sys.unraisablehook``: a dropped interrupt is delivered again, anything else is
    passed to the hook that was there."""

    def __init__(self, previous: Any) -> None:
        self.previous = previous

    def __call__(self, unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            with contextlib.suppress(RuntimeError):  # no new threads while Python exits
                _thread.start_new_thread(_thread.interrupt_main, ())
        else:
            self.previous(unraisable)


def quiet_interrupted_cleanup() -> None:
    """Install the handler and the hook once per process."""
    logger = logging.getLogger(_LOGGER)
    if not any(isinstance(h, _InterruptQuietHandler) for h in logger.handlers):
        logger.addHandler(_InterruptQuietHandler())
    if not isinstance(sys.unraisablehook, _InterruptAgain):
        sys.unraisablehook = _InterruptAgain(sys.unraisablehook)


def interrupted_cleanup(exc: BaseException) -> bool:
    """Whether ``exc`` was raised while a KeyboardInterrupt was being handled."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__context__
    return False
