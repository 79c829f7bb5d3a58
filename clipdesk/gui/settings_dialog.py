"""The settings dialog: model, device, CPU share, excluded folders, thumbnail cache."""

from __future__ import annotations

import copy
import os

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from clipdesk.gui.settings import DEVICES, Settings


class SettingsDialog(QDialog):
    """Edits a copy of the settings; ``result_settings()`` returns it after OK."""

    def __init__(
        self,
        settings: Settings,
        *,
        cache_usage_mb: float | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)
        self._settings = copy.deepcopy(settings)
        self.clear_cache_requested = False
        layout = QVBoxLayout(self)
        form = QFormLayout()
        layout.addLayout(form)

        self.model = QComboBox()
        self.model.addItem("Library's model (or the default)", None)
        try:
            from clipdesk.core.models import list_models

            for spec in list_models():
                self.model.addItem(spec.name, spec.name)
        except Exception as exc:  # a broken registry must not lock the user out of settings
            self.model.addItem(f"(models unavailable: {exc})", None)
        index = self.model.findData(settings.model)
        self.model.setCurrentIndex(max(0, index))
        form.addRow("Model", self.model)

        self.device = QComboBox()
        for device in DEVICES:
            self.device.addItem(device, device)
        self.device.setCurrentIndex(max(0, self.device.findData(settings.device)))
        form.addRow("Device", self.device)

        share_row = QHBoxLayout()
        self.cpu_share = QSlider(Qt.Orientation.Horizontal)
        self.cpu_share.setRange(10, 100)
        self.cpu_share.setSingleStep(5)
        self.cpu_share.setValue(round(settings.cpu_share * 100))
        self.cpu_share_label = QLabel()
        share_row.addWidget(self.cpu_share, 1)
        share_row.addWidget(self.cpu_share_label)
        self.cpu_share.valueChanged.connect(self._share_changed)
        self._share_changed(self.cpu_share.value())
        form.addRow("CPU for indexing", share_row)

        self.find_faces = QCheckBox("Find faces in photos (people)")
        self.find_faces.setChecked(settings.find_faces)
        self.find_faces.setToolTip(
            "Faces are found and grouped on this computer; nothing leaves the library"
        )
        form.addRow("People", self.find_faces)
        self.read_text = QCheckBox("Read text in photos (text: searches)")
        self.read_text.setChecked(settings.read_text)
        self.read_text.setToolTip("Signs, receipts and slides are read on this computer (OCR)")
        form.addRow("Text", self.read_text)

        excluded = QVBoxLayout()
        self.excluded = QListWidget()
        self.excluded.addItems(settings.excluded_folders)
        self.excluded.setMaximumHeight(110)
        buttons = QHBoxLayout()
        add = QPushButton("Add…")
        remove = QPushButton("Remove")
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        excluded.addWidget(self.excluded)
        excluded.addLayout(buttons)
        add.clicked.connect(self._add_excluded)
        remove.clicked.connect(self._remove_excluded)
        form.addRow("Excluded folders", excluded)

        cache_row = QHBoxLayout()
        self.cache_mb = QSpinBox()
        self.cache_mb.setRange(16, 100_000)
        self.cache_mb.setSuffix(" MB")
        self.cache_mb.setValue(settings.thumbnail_cache_mb)
        usage = f"{cache_usage_mb:,.0f} MB used" if cache_usage_mb is not None else ""
        self.cache_usage = QLabel(usage)
        clear = QPushButton("Clear")
        clear.clicked.connect(self._clear_cache)
        cache_row.addWidget(self.cache_mb)
        cache_row.addWidget(self.cache_usage, 1)
        cache_row.addWidget(clear)
        form.addRow("Thumbnail cache", cache_row)

        box = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        layout.addWidget(box)

    def _share_changed(self, value: int) -> None:
        cores = os.cpu_count() or 2
        probe = Settings(cpu_share=value / 100)
        self.cpu_share_label.setText(
            f"{value}% · {probe.decode_workers(cores)} of {cores} cores decode"
        )

    def _add_excluded(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Exclude a folder")
        if folder and not self.excluded.findItems(folder, Qt.MatchFlag.MatchExactly):
            self.excluded.addItem(folder)

    def _remove_excluded(self) -> None:
        for item in self.excluded.selectedItems():
            self.excluded.takeItem(self.excluded.row(item))

    def _clear_cache(self) -> None:
        self.clear_cache_requested = True
        self.cache_usage.setText("cleared when you press OK")

    def result_settings(self) -> Settings:
        """The edited settings (the caller saves them)."""
        s = self._settings
        s.model = self.model.currentData()
        s.device = self.device.currentData()
        s.cpu_share = self.cpu_share.value() / 100
        s.find_faces = self.find_faces.isChecked()
        s.read_text = self.read_text.isChecked()
        s.excluded_folders = [self.excluded.item(i).text() for i in range(self.excluded.count())]
        s.thumbnail_cache_mb = self.cache_mb.value()
        return s
