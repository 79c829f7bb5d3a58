"""Progress reports yielded by long jobs, and the flag that cancels them.

Long jobs (indexing, re-embedding, tagging, duplicate search) are plain generators that
yield :class:`Progress`. Each ``yield`` is a point where a cancel takes effect: the GUI
runs them in a superqt worker, the CLI under a rich progress bar, tests drive them
directly.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Progress:
    """One step of a long job.

    ``total`` is ``None`` while it is still unknown (e.g. during a folder scan).
    """

    stage: str
    done: int = 0
    total: int | None = None
    message: str = ""
    rate: float | None = None  # items per second, when meaningful
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, self.done / self.total)


class CancelToken:
    """A thread-safe flag a caller sets to ask a running job to stop at its next yield."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


class Cancelled(Exception):
    """Raised inside a job when its :class:`CancelToken` was set."""


def run_to_end(job: Generator[Progress, None, T]) -> T:
    """Drive a job with no one watching its progress; returns what the job returns."""
    try:
        while True:
            next(job)
    except StopIteration as stop:
        return stop.value
    finally:
        job.close()
