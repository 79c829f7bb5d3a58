"""Following photo folders as they change: events as hints, then a careful look.

``LibraryWatcher(library, WatchSettings(), on_event=...)`` is what the CLI's
``clipdesk watch`` and the GUI use; ``FolderWatcher`` is its watchdog layer.
"""

from clipdesk.core.watch.dirty import Scope
from clipdesk.core.watch.events import WatchEvent, WatchEventKind, WatchTotals
from clipdesk.core.watch.folders import FolderWatcher
from clipdesk.core.watch.library_watcher import LibraryWatcher, WatchStatus
from clipdesk.core.watch.reconcile import ReconcileReport
from clipdesk.core.watch.settings import WatchMode, WatchSettings

__all__ = [
    "FolderWatcher",
    "LibraryWatcher",
    "ReconcileReport",
    "Scope",
    "WatchEvent",
    "WatchEventKind",
    "WatchMode",
    "WatchSettings",
    "WatchStatus",
    "WatchTotals",
]
