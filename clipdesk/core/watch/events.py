"""What the watcher tells its owner: progress, state changes and messages.

The watcher runs on its own thread and hands each :class:`WatchEvent` to a callback
(the GUI turns it into a Qt signal) or puts it on a queue; it never waits for the
consumer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from clipdesk.core.changes import ChangeCounts

if TYPE_CHECKING:
    from clipdesk.core.progress import Progress
    from clipdesk.core.watch.reconcile import ReconcileReport


class WatchEventKind(StrEnum):
    STARTED = "started"  # the watcher thread is running
    MODE = "mode"  # a root is now followed by events, by polling, or not at all
    PROGRESS = "progress"  # reading and embedding files (throttled)
    UPDATED = "updated"  # a look at some folders finished; ``report`` says what changed
    IDLE = "idle"  # nothing left to do until the next change
    OFFLINE = "offline"  # a root disappeared; its photos are kept and shown offline
    ONLINE = "online"  # a root came back
    MESSAGE = "message"  # something the user should know (fallback to polling, ...)
    ERROR = "error"  # a look failed; it will be tried again
    STOPPED = "stopped"  # the watcher thread has ended


@dataclass(frozen=True)
class WatchEvent:
    kind: WatchEventKind
    message: str = ""
    root: str | None = None
    progress: Progress | None = None
    report: ReconcileReport | None = None

    def to_json(self) -> dict[str, object]:
        """A plain dict for ``clipdesk watch --json`` (one object per line)."""
        out: dict[str, object] = {"event": str(self.kind)}
        if self.message:
            out["message"] = self.message
        if self.root is not None:
            out["root"] = self.root
        if self.progress is not None:
            out["stage"] = self.progress.stage
            out["done"] = self.progress.done
            out["total"] = self.progress.total
        if self.report is not None:
            out["report"] = self.report.summary()
        return out


@dataclass
class WatchTotals(ChangeCounts):
    """Counts summed over every look since the watcher started."""

    looks: int = 0

    def add(self, report: ReconcileReport) -> None:
        self.looks += 1
        self.add_counts(report)
