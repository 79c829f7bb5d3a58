"""Offering the models that read text and find faces, when an index had to go without them.

The installer leaves them out (``clipdesk.core.models.readers``). The first index that
misses them asks, once per window, whether to download them now; after the download the
library is indexed again, which reads the photos it passed over.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox, QWidget

from clipdesk.gui.models_ui import DownloadDialog

if TYPE_CHECKING:
    from clipdesk.core.models.readers import ReaderModels


class ReaderModelsOffer(QObject):
    """Asks (without blocking the window) to fetch missing reader models, then reindexes."""

    def __init__(
        self, window: QWidget, reindex: Callable[[], None], say: Callable[[str], None]
    ) -> None:
        super().__init__(window)
        self._window = window
        self._reindex = reindex
        self._say = say
        self.box: QMessageBox | None = None
        self.dialog: DownloadDialog | None = None
        self._offered = False

    def offer(self, keys: list[str]) -> None:
        """Ask about the readers named by ``keys`` ("ocr", "faces"), the first time only."""
        from clipdesk.core.models.readers import missing_files, readers_named

        wanted = [r for r in map(readers_named, keys) if r is not None and missing_files(r)]
        if self._offered or not wanted:
            return
        self._offered = True
        size = sum(r.size for r in wanted) / 1e6
        purposes = " and ".join(r.purpose for r in wanted)
        box = QMessageBox(self._window)
        box.setIcon(QMessageBox.Icon.Information)
        box.setWindowTitle("More models")
        box.setText(
            f"Your photos are searchable. For {purposes}, clipdesk needs models "
            f"it does not have yet ({size:.0f} MB)."
        )
        box.setInformativeText("Download them now? The photos are read once they arrive.")
        download = box.addButton("Download", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Not now", QMessageBox.ButtonRole.RejectRole)
        box.buttonClicked.connect(
            lambda button: self._download(wanted) if button is download else None
        )
        self.box = box
        box.open()

    def _download(self, wanted: list[ReaderModels]) -> None:
        from clipdesk.core.models.readers import download_several

        dialog = DownloadDialog(
            None,
            self._window,
            what="the models for " + " and ".join(r.purpose for r in wanted),
            fetch=functools.partial(download_several, wanted),
        )
        dialog.finishedOk.connect(lambda _what: self._reindex())
        dialog.failed.connect(lambda why: self._say(f"The models were not downloaded: {why}"))
        self.dialog = dialog
        dialog.start()
