"""Choosing a model from the registry (with its facts) and downloading it with progress."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressDialog,
    QWidget,
)
from superqt.utils import FunctionWorker

from clipdesk.core.progress import Cancelled, CancelToken

if TYPE_CHECKING:
    from clipdesk.core.models import ModelSpec

NameRole = Qt.ItemDataRole.UserRole + 1


def model_facts_html(spec: ModelSpec, installed: bool) -> str:
    """The facts a user needs to choose, as a small HTML block."""
    rows: list[tuple[str, str]] = []
    if spec.good_for:
        rows.append(("Good for", spec.good_for))
    if spec.imagenet_top1 is not None:
        rows.append(("Accuracy", f"{spec.imagenet_top1:.1f}% ImageNet zero-shot"))
    if spec.cpu_ms_per_image is not None:
        rows.append(("Speed", f"about {spec.cpu_ms_per_image:.0f} ms per photo on a CPU"))
    if spec.download_mb is not None:
        rows.append(("Download", f"{spec.download_mb:,.0f} MB"))
    if spec.languages:
        rows.append(("Languages", spec.languages))
    if spec.licence:
        licence = spec.licence + (" (research only)" if spec.research_only else "")
        rows.append(("Licence", licence))
    if spec.gpu_recommended:
        rows.append(("Note", "a graphics card is recommended"))
    state = "installed" if installed else ("can be downloaded" if spec.pinned else "import only")
    rows.append(("State", state))
    body = "".join(f"<tr><td><b>{k}</b>&nbsp;</td><td>{v}</td></tr>" for k, v in rows)
    return f"<h3>{spec.name}</h3><table>{body}</table>"


class ModelPicker(QWidget):
    """A list of registry models with the chosen one's facts beside it."""

    chosen = Signal(str)

    def __init__(self, current: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from clipdesk.core.models import is_installed, list_models

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget()
        self.facts = QLabel()
        self.facts.setWordWrap(True)
        self.facts.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.facts.setMinimumWidth(280)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.facts, 1)
        self._specs: dict[str, ModelSpec] = {}
        self._installed: dict[str, bool] = {}
        for spec in list_models():
            installed = is_installed(spec)
            self._specs[spec.name] = spec
            self._installed[spec.name] = installed
            label = spec.name + ("  ✓" if installed else "")
            item = QListWidgetItem(label)
            item.setData(NameRole, spec.name)
            self.list.addItem(item)
            if spec.name == current:
                self.list.setCurrentItem(item)
        self.list.currentItemChanged.connect(self._changed)
        if self.list.currentItem() is None and self.list.count():
            self.list.setCurrentRow(0)
        self._changed(self.list.currentItem(), None)

    def name(self) -> str | None:
        item = self.list.currentItem()
        return item.data(NameRole) if item is not None else None

    def spec(self) -> ModelSpec | None:
        name = self.name()
        return self._specs.get(name) if name else None

    def installed(self) -> bool:
        name = self.name()
        return bool(name and self._installed.get(name))

    def select(self, name: str) -> None:
        for row in range(self.list.count()):
            if self.list.item(row).data(NameRole) == name:
                self.list.setCurrentRow(row)

    def add_installed(self, spec: ModelSpec) -> None:
        """Show a model installed since the list was made (an import) and choose it."""
        if spec.name not in self._specs:
            item = QListWidgetItem(spec.name)
            item.setData(NameRole, spec.name)
            self.list.addItem(item)
        self._specs[spec.name] = spec
        self.mark_installed(spec.name)
        self.select(spec.name)

    def mark_installed(self, name: str) -> None:
        self._installed[name] = True
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(NameRole) == name:
                item.setText(f"{name}  ✓")
        self._changed(self.list.currentItem(), None)

    def _changed(self, item: QListWidgetItem | None, _previous: object) -> None:
        if item is None:
            self.facts.setText("")
            return
        name = item.data(NameRole)
        self.facts.setText(model_facts_html(self._specs[name], self._installed[name]))
        self.chosen.emit(name)


class _Bridge(QObject):
    progress = Signal(int, object)


# fetch(progress=..., cancel=...): a core download function, its other arguments bound.
Fetch = Callable[..., object]


class DownloadDialog(QProgressDialog):
    """Downloads one model (or, with ``fetch``, whatever it fetches, called ``what``) in a
    worker; Cancel stops it and removes the partial files."""

    finishedOk = Signal(str)
    failed = Signal(str)

    def __init__(
        self,
        spec: ModelSpec | None,
        parent: QWidget | None = None,
        *,
        what: str = "",
        fetch: Fetch | None = None,
    ) -> None:
        self.what = spec.name if spec is not None else what
        super().__init__(f"Downloading {self.what}…", "Cancel", 0, 0, parent)
        self.setWindowTitle("Downloading a model")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumDuration(0)
        self.setAutoClose(False)
        self.setAutoReset(False)
        if fetch is None:
            from clipdesk.core.models.pack import download_runnable

            assert spec is not None, "a model to download, or what to fetch"
            fetch = functools.partial(download_runnable, spec)
        self._fetch = fetch
        self.cancel_token = CancelToken()
        self._bridge = _Bridge()
        self._bridge.progress.connect(self._on_progress)
        self.canceled.connect(self.cancel_token.cancel)
        self.worker: FunctionWorker | None = None
        self.error: str | None = None

    def start(self) -> None:
        def report(done: int, total: int | None) -> None:
            self._bridge.progress.emit(done, total)

        self.worker = FunctionWorker(self._fetch, progress=report, cancel=self.cancel_token)
        self.worker.returned.connect(lambda _path: self._finish(None))
        self.worker.errored.connect(self._errored)
        self.worker.start()
        self.show()

    def _on_progress(self, done: int, total: int | None) -> None:
        if total:
            self.setMaximum(1000)
            self.setValue(int(1000 * done / total))
            self.setLabelText(
                f"Downloading {self.what}… {done / 1e6:,.0f} of {total / 1e6:,.0f} MB"
            )
        else:
            self.setLabelText(f"Downloading {self.what}… {done / 1e6:,.0f} MB")

    def _errored(self, exc: Exception) -> None:
        self._finish("cancelled" if isinstance(exc, Cancelled) else str(exc))

    def _finish(self, error: str | None) -> None:
        self.error = error
        self.worker = None
        if error is None:
            self.finishedOk.emit(self.what)
        else:
            self.failed.emit(error)
        self.hide()  # not close(): a progress dialog's close counts as pressing Cancel

    def busy(self) -> bool:
        """True while the download runs."""
        return self.worker is not None


class ImportWorker(QObject):
    """Installs a model file (pack or checkpoint) in a worker, as ``models import`` does."""

    imported = Signal(object)  # the installed ModelSpec
    failed = Signal(str)

    def __init__(self, path: Path, arch: str | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.arch = arch
        self.worker: FunctionWorker | None = None

    def start(self) -> None:
        from clipdesk.core.models.import_file import import_model_file

        self.worker = FunctionWorker(
            import_model_file, self.path, arch=self.arch, pack_arch_refused=False
        )
        self.worker.returned.connect(self._returned)
        self.worker.errored.connect(self._errored)
        self.worker.start()

    def _returned(self, spec: ModelSpec) -> None:
        self.worker = None
        self.imported.emit(spec)

    def _errored(self, exc: Exception) -> None:
        self.worker = None
        self.failed.emit(str(exc) or type(exc).__name__)
