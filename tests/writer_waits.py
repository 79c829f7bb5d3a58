"""A ``clipdesk`` edit started while another process holds the library's write lock: the
tests check that it says so, waits its turn, and applies the edit once the lock is free."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from clipdesk.core.lane import WAITING_MESSAGE


@dataclass
class WaitingEdit:
    process: subprocess.Popen[str]
    errors: list[str]  # its stderr lines, read as they come
    reader: threading.Thread

    def finish(self) -> list[str]:
        """Wait for the edit (the lock is free again); its stderr lines."""
        assert self.process.wait(120) == 0, self.errors
        self.reader.join(10)
        return self.errors


def start_waiting_edit(args: Sequence[str], env: Mapping[str, str] | None = None) -> WaitingEdit:
    """Start ``clipdesk ARGS`` while the caller holds the write lock; return once it has
    said it waits, and is still waiting a second later."""
    process = subprocess.Popen(
        [sys.executable, "-m", "clipdesk", *args],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    errors: list[str] = []
    reader = threading.Thread(target=lambda: errors.extend(process.stderr or ()), daemon=True)
    reader.start()
    deadline = time.monotonic() + 120
    while not any(WAITING_MESSAGE in line for line in errors):
        assert process.poll() is None, errors  # neither done nor failed: it waits its turn
        assert time.monotonic() < deadline, errors
        time.sleep(0.1)
    time.sleep(1.0)
    assert process.poll() is None
    return WaitingEdit(process, errors, reader)
