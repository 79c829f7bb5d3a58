"""The clipdesk desktop app (PySide6). The only package that imports Qt.

The window talks to the Qt-free core through one object, :class:`LibraryService`,
which runs every library call in a worker and answers with signals.
"""

from clipdesk.gui.app import DesktopApp, LaunchOptions, run_gui
from clipdesk.gui.jobs import SearchOutcome, SearchRequest
from clipdesk.gui.main_window import MainWindow
from clipdesk.gui.service import LibraryService

__all__ = [
    "DesktopApp",
    "LaunchOptions",
    "LibraryService",
    "MainWindow",
    "SearchOutcome",
    "SearchRequest",
    "run_gui",
]
