"""Child processes that end when clipdesk ends, however it ends.

A parent killed with SIGKILL runs no cleanup, so a child that waits for work, or is busy
exporting a model with torch loaded, would live on with nobody to stop it. Every child
clipdesk starts therefore calls :func:`die_with_parent` first thing (the pool's worker
entry point, a ``ProcessPoolExecutor`` initializer, or ``Popen(preexec_fn=...)``), with
the :class:`ParentLink` that the parent's :class:`Lifeline` hands out:

- On Linux the kernel sends the child SIGKILL when its parent dies (``PR_SET_PDEATHSIG``),
  which works even while the child is stuck in C code. A parent that died before the
  child got that far is caught by comparing ``os.getppid()`` with the parent's pid.
  Linux sends the signal when the *thread* that started the child ends, so start
  children from a thread that outlives them (the pools here are started and closed on
  one thread).
- Elsewhere the child watches the read end of a pipe whose only write end the parent
  holds: when the parent dies the pipe reports end-of-file, and a daemon thread in the
  child ends the process.

This module imports only the standard library, so a child pays nothing for it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["Lifeline", "ParentLink", "die_with_parent", "pdeathsig_available"]

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_ORPHAN_EXIT_CODE = 70  # what a child exits with when it finds its parent gone


def pdeathsig_available() -> bool:
    """True where the kernel can signal a child when its parent dies (Linux)."""
    return sys.platform.startswith("linux")


@dataclass(frozen=True)
class ParentLink:
    """What a child needs in order to die with its parent; picklable, so it travels as
    an argument of a ``spawn`` or ``forkserver`` child."""

    parent_pid: int
    watch: Connection | None = None  # read end of the parent's pipe, where there is no pdeathsig


class Lifeline:
    """The parent's side: hands out links, and holds the pipe's write end while it lives.

    Keep the lifeline for as long as its children should run; :meth:`close` (or losing
    the last reference) lets every pipe-watching child go.
    """

    def __init__(self, context: Any | None = None, *, use_pdeathsig: bool | None = None) -> None:
        import multiprocessing

        ctx = context or multiprocessing.get_context()
        self._pid = os.getpid()
        self._pdeathsig = pdeathsig_available() if use_pdeathsig is None else use_pdeathsig
        self._reader: Connection | None = None
        self._writer: Connection | None = None
        if not self._pdeathsig:
            self._reader, self._writer = ctx.Pipe(duplex=False)

    def link(self) -> ParentLink:
        """The token to pass to a child (the pipe's read end is duplicated into it)."""
        if self._writer is None and not self._pdeathsig:
            raise RuntimeError("the lifeline is closed")
        return ParentLink(self._pid, None if self._pdeathsig else self._reader)

    def preexec(self) -> None:
        """For ``subprocess.Popen(preexec_fn=...)`` on POSIX: runs in the forked child
        before it executes the program; the signal survives the exec."""
        if self._pdeathsig:
            _set_pdeathsig(self._pid)

    def close(self) -> None:
        for end in (self._writer, self._reader):
            if end is not None:
                with contextlib.suppress(OSError):
                    end.close()
        self._writer = self._reader = None

    def __enter__(self) -> Lifeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def die_with_parent(link: ParentLink) -> None:
    """In the child: make sure this process ends soon after the parent in ``link``."""
    if link.watch is None:
        _set_pdeathsig(link.parent_pid)
        return
    watch = link.watch

    def wait_for_eof() -> None:
        try:
            while True:
                watch.recv_bytes()  # the parent never writes: this returns only at EOF
        except (EOFError, OSError):
            pass
        os._exit(_ORPHAN_EXIT_CODE)

    threading.Thread(target=wait_for_eof, name="clipdesk-lifeline", daemon=True).start()
    if os.getppid() != link.parent_pid:
        os._exit(_ORPHAN_EXIT_CODE)  # reparented already: the parent died first


def _set_pdeathsig(parent_pid: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl(PR_SET_PDEATHSIG) failed: {os.strerror(errno)}")
    if os.getppid() != parent_pid:
        os._exit(_ORPHAN_EXIT_CODE)  # the parent died before the signal was armed
