"""Starting the desktop app: the window first, the library and the model after.

The window is shown before anything slow happens: the library opens in a worker, and
the model, its index and its text tower load in another,
so the user sees the app within a second. A query typed meanwhile runs as soon as the
library is open, before the rest of the start-up work (see ``LibraryService``).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from clipdesk.gui.compat import check_binding
from clipdesk.gui.icons import app_icon
from clipdesk.gui.main_window import MainWindow
from clipdesk.gui.quit_signals import close_on_quit_signals
from clipdesk.gui.service import LibraryService
from clipdesk.gui.settings import Settings, SettingsError, load_settings, save_settings
from clipdesk.gui.style import apply_style


@dataclass
class LaunchOptions:
    library: str | None = None
    model: str | None = None
    device: str | None = None
    query: str | None = None
    similar: str | None = None
    screenshot: str | None = None
    size: tuple[int, int] = (1280, 820)


# Worker threads (indexing, searching) run Python too. Every call from Qt into Python on
# the GUI thread (a paint, a slot) must take the GIL back from them, and by default a
# thread holding it is asked to let go only every 5 ms; a frame with dozens of such
# calls then stalls for tens of milliseconds. A shorter interval keeps frames smooth.
GIL_SWITCH_INTERVAL_S = float(os.environ.get("CLIPDESK_GIL_SWITCH_S", "0.0005"))


def application() -> QApplication:
    """The QApplication, created once with the app's name, icon and look."""
    check_binding()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    # Idle OpenMP threads (torch's) sleep instead of spinning on a core the window needs.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "clipdesk"])
    assert isinstance(app, QApplication)
    app.setApplicationName("clipdesk")
    app.setApplicationDisplayName("clipdesk")
    app.setOrganizationName("clipdesk")
    app.setDesktopFileName("clipdesk")
    app.setWindowIcon(app_icon())
    apply_style(app)
    return app


class DesktopApp:
    """Ties the window, the service and the settings together (first run, settings)."""

    def __init__(self, options: LaunchOptions, settings: Settings | None = None) -> None:
        self.options = options
        self.settings = settings or load_settings()
        self.service = LibraryService(
            options.library,
            model=options.model or self.settings.model,
            device=options.device or self.settings.device,
        )
        self.service.index_workers = self.settings.decode_workers()
        self.service.writes.find_faces = self.settings.find_faces
        self.service.writes.read_text = self.settings.read_text
        self.window = MainWindow(self.service, self.settings)
        self.window.resize(*options.size)
        self.window.settingsRequested.connect(self.open_settings)
        self.window.albumsChanged.connect(self._save)
        self._first_run_checked = options.screenshot is not None or self.settings.first_run_done
        self.service.stateChanged.connect(self._maybe_first_run)
        self.service.opened.connect(lambda _status: self._prune_thumbnails())

    def start(self) -> None:
        self.window.show()
        if self.options.screenshot is None:
            if self.options.query:
                self.window.search_bar.set_text(self.options.query, submit=False)
            if self.options.similar:
                self.window.search_bar.set_image(self.options.similar, submit=False)
        QTimer.singleShot(0, self.service.open)

    def _maybe_first_run(self, _status: object, roots: list) -> None:
        if self._first_run_checked:
            return
        self._first_run_checked = True
        if roots:
            return
        from clipdesk.gui.first_run import FirstRunDialog

        dialog = FirstRunDialog(self.service.model, self.window)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        model = dialog.model()
        self.settings.first_run_done = True
        if model and model != self.service.model:
            self.settings.model = model
            self.service.reopen(model=model, device=self.service.device)
        self._save()
        folders = dialog.folders()
        if folders:
            self.service.index(folders)

    def open_settings(self) -> None:
        from clipdesk.gui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.settings, parent=self.window)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.apply_settings(dialog.result_settings(), clear_cache=dialog.clear_cache_requested)

    def apply_settings(self, new: Settings, *, clear_cache: bool = False) -> None:
        """Use and keep the settings the user chose; another model is switched to in the
        background while the current one keeps answering searches."""
        changed_model = (new.model, new.device) != (self.settings.model, self.settings.device)
        self.settings = new
        self.window.settings = new
        self.service.index_workers = new.decode_workers()
        self.service.find_faces = new.find_faces
        self.service.read_text = new.read_text
        self._save()
        if clear_cache:
            self.service.run_task(self.window.loader.cache.clear)
        if changed_model:
            self.service.reopen(model=new.model, device=new.device)
        self.window.new_search()

    def _prune_thumbnails(self) -> None:
        limit = self.settings.thumbnail_cache_mb * 1_000_000
        self.service.run_task(self.window.loader.cache.prune, limit)

    def _save(self) -> None:
        try:
            save_settings(self.settings)
        except (SettingsError, OSError) as exc:
            QMessageBox.warning(self.window, "Settings not saved", str(exc))


def run_gui(options: LaunchOptions) -> int:
    """Run the app until its window closes; returns the exit status."""
    app = application()
    desktop = DesktopApp(options)
    driver = None
    if options.screenshot is not None:
        from clipdesk.gui.screenshot import ScreenshotDriver

        driver = ScreenshotDriver(desktop.window, options.screenshot)
        driver.start(options.query, options.similar)
    desktop.start()
    restore_signals = close_on_quit_signals(desktop.window)
    code = app.exec()
    desktop.window.shutdown()
    restore_signals()
    if driver is not None and driver.exit_code is not None:
        return driver.exit_code
    return code
