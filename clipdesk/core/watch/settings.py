"""How the folder watcher behaves: delays, intervals, and events versus polling."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class WatchMode(StrEnum):
    """How changes below a root are noticed."""

    AUTO = "auto"  # file system events, polling where they cannot be trusted
    EVENTS = "events"  # file system events (inotify, FSEvents, ReadDirectoryChangesW)
    POLL = "poll"  # walk the folder every ``poll_interval_s``


@dataclass(frozen=True)
class WatchSettings:
    """Timing of the watcher. Events are only hints; these decide when to look.

    ``debounce_s``: quiet time after the last event in a folder before it is looked at;
    ``max_delay_s``: a folder that never goes quiet (a long copy) is looked at anyway
    after this long; ``settle_s``: a new or changed file is read only once its size and
    modification time were the same at two looks at least this far apart, so a copy in
    progress is never read half-written; ``full_reconcile_s``: every root is compared
    with the catalog this often, whatever the events said; ``poll_interval_s``: how often
    a polled root is walked; ``root_check_s``: how often roots are checked for being
    unplugged or back; ``pool_idle_s``: decode workers are kept this long after use;
    ``retag``: after a look that changed photos, tag the library again (the same rule
    ``clipdesk index`` and the window follow).
    """

    mode: WatchMode = WatchMode.AUTO
    poll_folders: tuple[str, ...] = field(default_factory=tuple)  # always polled
    debounce_s: float = 1.0
    max_delay_s: float = 10.0
    settle_s: float = 2.0
    full_reconcile_s: float = 3600.0
    poll_interval_s: float = 30.0
    root_check_s: float = 5.0
    pool_idle_s: float = 120.0
    workers: int | None = None
    batch_size: int = 32
    decode_timeout_s: float = 60.0
    memory_limit_mb: int | None = 4096
    retag: bool = True
