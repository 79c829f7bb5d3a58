"""Ending a local Ray's processes when clipdesk ends, however it ends.

``ray.init()`` on this computer starts a GCS server and a raylet, which start agents and
workers of their own. Ray stops them at a normal exit, but after a SIGKILL of clipdesk
some of them (its dashboard and runtime-env agents) live on. So a local Ray is watched by
a small reaper process: it is told the pids of the processes Ray started, follows their
descendants as they appear, and when its stdin reaches end-of-file (clipdesk closed it,
or died and the kernel closed it) kills every one of them that is still the process it
was (same start time, so a reused pid is never hit). It is the lifeline's pipe watch
(``core/lifeline.py``), turned around: the child that outlives its parent by a moment is
the one that cleans up.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time

__all__ = ["Reaper"]

POLL_S = 0.5


class Reaper:
    """The parent's side: start the reaper, tell it pids, close it to let it finish."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "clipdesk.core.cluster.reaper"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C of clipdesk must not stop it before its work
        )

    def watch(self, pids: list[int]) -> None:
        """Have the reaper follow these processes and everything they start."""
        import psutil

        assert self._process.stdin is not None
        for pid in pids:
            with contextlib.suppress(psutil.Error):
                started = psutil.Process(pid).create_time()
                self._process.stdin.write(f"{pid} {started!r}\n".encode())
        self._process.stdin.flush()

    def close(self, timeout: float = 30.0) -> None:
        """Let the reaper kill what is left, and wait for it."""
        if self._process.stdin is not None:
            with contextlib.suppress(OSError):
                self._process.stdin.close()
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def _main() -> None:
    import psutil

    tracked: dict[int, float] = {}
    lock = threading.Lock()
    ended = threading.Event()

    def read() -> None:
        for line in sys.stdin.buffer:
            pid, started = line.split()
            with lock:
                tracked[int(pid)] = float(started)
        ended.set()

    threading.Thread(target=read, daemon=True).start()

    def alive() -> list[psutil.Process]:
        found = []
        with lock:
            items = list(tracked.items())
        for pid, started in items:
            with contextlib.suppress(psutil.Error):
                process = psutil.Process(pid)
                if process.create_time() == started:
                    found.append(process)
        return found

    while not ended.wait(POLL_S):
        for process in alive():  # follow what the tracked processes start
            with contextlib.suppress(psutil.Error):
                for child in process.children(recursive=True):
                    with contextlib.suppress(psutil.Error), lock:
                        tracked.setdefault(child.pid, child.create_time())
    for _ in range(2):  # twice: a process may start a child while the first pass kills
        victims = alive()
        for process in victims:
            with contextlib.suppress(psutil.Error):
                process.kill()
        psutil.wait_procs(victims, timeout=5)
        time.sleep(0.1)


if __name__ == "__main__":
    _main()
