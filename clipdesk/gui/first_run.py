"""First run: choose the folders to index and a model (downloading it if needed)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from clipdesk.core import paths
from clipdesk.gui.models_ui import DownloadDialog, ImportWorker, ModelPicker

if TYPE_CHECKING:
    from clipdesk.core.models import ModelSpec


class FoldersPage(QWizardPage):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Which photos should clipdesk search?")
        self.setSubTitle(
            "Choose the folders that hold your photos. They are read, never changed, "
            "and nothing leaves this computer."
        )
        layout = QVBoxLayout(self)
        self.list = QListWidget()
        layout.addWidget(self.list)
        row = QHBoxLayout()
        add = QPushButton("Add folder…")
        remove = QPushButton("Remove")
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        layout.addLayout(row)
        add.clicked.connect(self._add)
        remove.clicked.connect(self._remove)
        pictures = paths.pictures_dir()
        if pictures.is_dir():
            self.list.addItem(str(pictures))

    def folders(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def add_folder(self, folder: str) -> None:
        if folder and not self.list.findItems(folder, Qt.MatchFlag.MatchExactly):
            self.list.addItem(folder)

    def _add(self) -> None:
        self.add_folder(QFileDialog.getExistingDirectory(self, "Add a folder of photos"))

    def _remove(self) -> None:
        for item in self.list.selectedItems():
            self.list.takeItem(self.list.row(item))


class ModelPage(QWizardPage):
    """Pick a model; download it, or, offline, import a model file (pack or checkpoint)."""

    def __init__(self, current: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Choose a model")
        self.setSubTitle(
            "The model turns photos and words into numbers that can be compared. "
            "Bigger models find things better but index more slowly."
        )
        layout = QVBoxLayout(self)
        self.picker = ModelPicker(current)
        layout.addWidget(self.picker, 1)
        row = QHBoxLayout()
        self.download_button = QPushButton("Download")
        self.retry_button = QPushButton("Retry")
        self.import_button = QPushButton("Import a model file…")
        self.note = QLabel()
        self.note.setWordWrap(True)
        row.addWidget(self.download_button)
        row.addWidget(self.retry_button)
        row.addWidget(self.import_button)
        row.addWidget(self.note, 1)
        layout.addLayout(row)
        self.download_button.clicked.connect(self._download)
        self.retry_button.clicked.connect(self._download)
        self.import_button.clicked.connect(self._choose_import)
        self.picker.chosen.connect(lambda _name: self._update())
        self.dialog: DownloadDialog | None = None
        self.importer: ImportWorker | None = None
        self._update()

    def isComplete(self) -> bool:
        return self.picker.installed()

    def _update(self) -> None:
        spec = self.picker.spec()
        installed = self.picker.installed()
        busy = self.importer is not None or (self.dialog is not None and self.dialog.busy())
        self.download_button.setEnabled(bool(spec and spec.pinned and not installed and not busy))
        self.retry_button.hide()
        self.import_button.setVisible(not installed)
        self.import_button.setEnabled(not busy)
        if installed:
            self.note.setText("Installed: ready to use.")
        elif spec is not None and spec.pinned:
            self.note.setText(f"Needs a download of about {spec.download_mb or 0:,.0f} MB.")
        else:
            self.note.setText("Not installed; import a model file to use it.")
        self.completeChanged.emit()

    def _download(self) -> None:
        spec = self.picker.spec()
        if spec is None:
            return
        self.dialog = DownloadDialog(spec, self)
        self.dialog.finishedOk.connect(self._downloaded)
        self.dialog.failed.connect(self._download_failed)
        self.dialog.start()
        self._update()

    def _downloaded(self, name: str) -> None:
        self.picker.mark_installed(name)
        self._update()

    def _download_failed(self, reason: str) -> None:
        self._update()
        if reason == "cancelled":
            self.note.setText("Download cancelled.")
            return
        self.note.setText(
            f"The download did not finish: {reason}. Check the network and press Retry, "
            "or, on a computer without one, import a model file (an ONNX pack, or a "
            "checkpoint of this model)."
        )
        self.retry_button.show()

    def _choose_import(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(
            self,
            "Import a model file",
            "",
            "Model files (*.clipdesk-pack *.zip *.safetensors *.bin *.pt *.pth *.ckpt);;"
            "All files (*)",
        )
        if path:
            self.import_file(Path(path))

    def import_file(self, path: Path) -> None:
        """Install ``path`` off the GUI thread; a checkpoint is read as the chosen model's
        architecture."""
        spec = self.picker.spec()
        self.importer = ImportWorker(path, spec.arch if spec is not None else None, self)
        self.importer.imported.connect(self._imported)
        self.importer.failed.connect(self._import_failed)
        self.importer.start()
        self._update()
        self.note.setText(f"Importing {path.name}…")

    def _imported(self, spec: ModelSpec) -> None:
        self.importer = None
        self.picker.add_installed(spec)
        self._update()

    def _import_failed(self, reason: str) -> None:
        self.importer = None
        self._update()
        self.note.setText(f"Could not import the file: {reason}")


class FirstRunDialog(QWizard):
    """Returns the chosen folders and model after ``exec()``."""

    def __init__(self, current_model: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to clipdesk")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setMinimumSize(720, 480)
        self.folders_page = FoldersPage()
        self.model_page = ModelPage(current_model)
        self.addPage(self.folders_page)
        self.addPage(self.model_page)

    def folders(self) -> list[str]:
        return [f for f in self.folders_page.folders() if os.path.isdir(f)]

    def model(self) -> str | None:
        return self.model_page.picker.name()
