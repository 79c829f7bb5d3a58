"""The status bar: indexing progress with pause/resume and cancel, model and device."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar, QWidget

from clipdesk.core.progress import Progress


def format_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    hours, rest = divmod(round(seconds / 60), 60)
    return f"{hours} h {rest:02d} min"


def format_progress(progress: Progress) -> str:
    """One line: what is happening, how far, how fast, how long is left."""
    if progress.stage == "scan":
        return f"Looking for photos… {progress.done:,} files found"
    if progress.stage == "done":
        return "Indexing cancelled" if progress.message == "cancelled" else "Indexing finished"
    # The photos are searchable once "embed" ends; "read" then reads their text and faces.
    doing = "Reading text and faces" if progress.stage == "read" else "Indexing"
    parts = [f"{doing} {progress.done:,} / {progress.total:,}" if progress.total else doing]
    if progress.rate:
        parts.append(f"{progress.rate:.1f} photos/s")
        if progress.total:
            left = (progress.total - progress.done) / progress.rate
            parts.append(f"about {format_duration(left)} left")
    return " · ".join(parts)


class AppStatusBar(QStatusBar):
    """Shows a running index job, and the model in use on the right."""

    pauseToggled = Signal(bool)  # True: pause
    cancelRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.progress_label = QLabel()
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(220)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setFixedHeight(10)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setObjectName("pauseButton")
        self.cancel_button = QPushButton("Cancel")
        self.results_label = QLabel()
        self.results_label.setObjectName("resultsLabel")
        self.library_label = QLabel()
        self.model_label = QLabel("model: loading…")
        self.model_label.setObjectName("modelLabel")
        self.addWidget(self.progress_label, 1)
        self.addWidget(self.progress_bar)
        self.addWidget(self.pause_button)
        self.addWidget(self.cancel_button)
        self.addPermanentWidget(self.results_label)
        self.addPermanentWidget(self.library_label)
        self.addPermanentWidget(self.model_label)
        self.pause_button.clicked.connect(self._toggle_pause)
        self.cancel_button.clicked.connect(self.cancelRequested)
        self._paused = False
        self._last: Progress | None = None
        self.set_idle()

    def set_idle(self, text: str = "") -> None:
        self.progress_label.setText(text)
        for widget in (self.progress_bar, self.pause_button, self.cancel_button):
            widget.hide()

    def set_progress(self, progress: Progress) -> None:
        self._last = progress
        text = format_progress(progress)
        if self._paused:
            text = f"Paused · {text}"
        self.progress_label.setText(text)
        if progress.total:
            self.progress_bar.setRange(0, progress.total)
            self.progress_bar.setValue(progress.done)
        else:
            self.progress_bar.setRange(0, 0)  # busy indicator while the total is unknown
        for widget in (self.progress_bar, self.pause_button, self.cancel_button):
            widget.show()

    def set_paused(self, paused: bool) -> None:
        self._paused = paused
        self.pause_button.setText("Resume" if paused else "Pause")
        if self._last is not None:
            self.set_progress(self._last)

    def set_model(self, name: str, device: str) -> None:
        self.model_label.setText(f"{name} · {device}")

    def set_results_text(self, text: str) -> None:
        """What the last search found and how long it took."""
        self.results_label.setText(text)

    def set_library_text(self, text: str) -> None:
        self.library_label.setText(text)

    def _toggle_pause(self) -> None:
        self.pauseToggled.emit(not self._paused)
