"""Ctrl-C caught where Python cannot raise it is raised again, once, without a traceback."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import time, weakref
from clipdesk.cli.interrupts import quiet_interrupted_cleanup

quiet_interrupted_cleanup()


class Thing:
    pass


def callback(ref):
    raise KeyboardInterrupt  # as a Ctrl-C landing in SQLAlchemy's weakref callback


thing = Thing()
ref = weakref.ref(thing, callback)
try:
    del thing  # the callback runs here; Python can only report what it raises
    for _ in range(5000):
        time.sleep(0.001)
    print("not interrupted")
except KeyboardInterrupt:
    print("interrupted")
"""


def test_an_interrupt_dropped_by_a_weakref_callback_is_raised_again() -> None:
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert run.stdout.strip() == "interrupted", (run.stdout, run.stderr)
    assert "Traceback" not in run.stderr and "Exception ignored" not in run.stderr, run.stderr
