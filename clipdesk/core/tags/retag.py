"""The re-tag rule: after photos came, changed or went, tag the library again.

It is written once, here, and run by the writer lane at the end of the jobs that change
photos (``index``, the folder watcher's looks, a model switch), so the command line, the
window and ``clipdesk watch`` all keep tags in step with the photos the same way.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clipdesk.core.progress import CancelToken, Progress

if TYPE_CHECKING:
    from clipdesk.core.tags.job import TagReport
    from clipdesk.core.tags.service import TagService

__all__ = ["RetagOutcome", "retag_if_stale"]


@dataclass(frozen=True)
class RetagOutcome:
    """What the tagging pass did, or why it could not (tags are an extra: a problem
    there is reported, and the job that changed the photos still succeeds)."""

    report: TagReport | None = None
    error: str | None = None


def retag_if_stale(
    tags: TagService, cancel: CancelToken
) -> Generator[Progress, None, RetagOutcome | None]:
    """Tag every photo if the photos changed since the last tagging; None if they did not."""
    try:
        if not tags.stale():
            return None
        report = yield from tags.job(None, cancel=cancel)
    except Exception as exc:
        return RetagOutcome(error=str(exc) or type(exc).__name__)
    return RetagOutcome(report)
