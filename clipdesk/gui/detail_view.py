"""The detail view: a large preview and the facts of one result, with its actions; a
video's scenes as a strip of frames under the preview.

The facts the catalog already holds show at once; the preview and the EXIF summary are
read in a worker and arrive a moment later. A video's preview is the frame of the scene
the search matched, and the strip marks that scene.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QKeyEvent, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from clipdesk.gui import desktop
from clipdesk.gui.face_marks import FacePreview
from clipdesk.gui.scene_strip import SceneFrame, SceneStrip
from clipdesk.gui.tag_editor import PhotoTagsEditor

if TYPE_CHECKING:
    from clipdesk.core.catalog.records import PhotoText
    from clipdesk.core.people.records import PhotoFace
    from clipdesk.core.search import SearchHit
    from clipdesk.core.tags.service import PhotoTag

PREVIEW_SIZE = 1024


@dataclass
class Preview:
    path: str
    at: float | None = None  # the second shown, for a video
    image: QImage | None = None
    exif: dict[str, str] = field(default_factory=dict)
    error: str | None = None


_EXIF_FIELDS = {
    0x829A: "Exposure",
    0x829D: "Aperture",
    0x8827: "ISO",
    0x920A: "Focal length",
    0xA434: "Lens",
}


def _exif_text(tag: int, value: object) -> str:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value).strip("\x00 ")
    if tag == 0x829A:
        return f"1/{round(1 / number)} s" if 0 < number < 1 else f"{number:g} s"
    if tag == 0x829D:
        return f"f/{number:.1f}"
    if tag == 0x920A:
        return f"{number:.0f} mm"
    return f"{number:g}"


def load_preview(path: str, size: int = PREVIEW_SIZE, at: float | None = None) -> Preview:
    """Read a large preview and an EXIF summary; runs in a worker thread. A video shows
    its frame at ``at`` seconds (the matched scene's start), else its first."""
    from PIL import Image

    from clipdesk.core.errors import ImageReadError
    from clipdesk.core.imageio import read_image
    from clipdesk.core.mediatypes import is_video_path
    from clipdesk.core.video.frames import frame_at

    preview = Preview(path, at)
    try:
        if is_video_path(path):
            image = frame_at(path, at or 0.0, size)  # its scenes: a strip (``scene_strip``)
        else:
            image = read_image(Path(path), target_size=size).image
    except (ImageReadError, OSError) as exc:
        preview.error = str(exc)
        return preview
    image.thumbnail((size, size))
    rgb = image.convert("RGB")
    preview.image = QImage(
        rgb.tobytes(), rgb.width, rgb.height, rgb.width * 3, QImage.Format.Format_RGB888
    ).copy()
    try:
        with Image.open(path) as raw:
            exif = raw.getexif().get_ifd(0x8769)
            for tag, label in _EXIF_FIELDS.items():
                if tag in exif:
                    preview.exif[label] = _exif_text(tag, exif[tag])
    except Exception:  # EXIF is a nicety; a broken block must not hide the preview
        pass
    return preview


def describe(hit: SearchHit) -> dict[str, str]:
    """The facts of a result as label -> text, in display order."""
    record = hit.file
    facts = {
        "Name": os.path.basename(hit.path),
        "Folder": os.path.dirname(hit.path),
        "Size": f"{record.size / 1_000_000:.1f} MB"
        if record.size >= 100_000
        else f"{record.size / 1000:.0f} kB",
    }
    if record.width and record.height:
        facts["Dimensions"] = f"{record.width} \u00d7 {record.height}"
    if record.taken_at and record.taken_offset is not None:
        zone = dt.timezone(dt.timedelta(minutes=record.taken_offset))
        facts["Taken"] = dt.datetime.fromtimestamp(record.taken_at, zone).strftime(
            "%Y-%m-%d %H:%M UTC%z"
        )
    elif record.taken_at:
        facts["Taken"] = dt.datetime.fromtimestamp(record.taken_at).strftime("%Y-%m-%d %H:%M")
    else:
        modified = dt.datetime.fromtimestamp(record.mtime_ns / 1e9)
        facts["Modified"] = modified.strftime("%Y-%m-%d %H:%M") + " (file time: no EXIF date)"
    if record.place:
        facts["Place"] = record.place
    if record.camera:
        facts["Camera"] = record.camera
    facts["Score"] = f"{hit.score:.3f}"
    return facts


class DetailView(QDialog):
    """A non-modal window for one result; Left/Right step through the results."""

    findSimilar = Signal(str)
    tagDecided = Signal(str, str, str)  # path, tag, "yes" | "no" | "forget"
    stepRequested = Signal(int)  # -1 previous, +1 next
    previewWanted = Signal(str, object)  # path, second or None: the window loads it
    faceClicked = Signal(str, object)  # path, PhotoFace: the user names or corrects it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("detailView")
        self.setWindowTitle("Photo")
        self.resize(1000, 640)
        self._hit: SearchHit | None = None
        self._image: QImage | None = None
        outer = QHBoxLayout(self)
        self.preview = FacePreview("Loading…")
        self.preview.setObjectName("preview")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(QSize(320, 240))
        self.preview.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        left = QVBoxLayout()
        left.addWidget(self.preview, 1)
        self.scenes = SceneStrip()
        self.scenes.sceneChosen.connect(self._play_scene)
        left.addWidget(self.scenes)
        outer.addLayout(left, 3)
        self.preview.faceClicked.connect(self._face_clicked)
        side = QVBoxLayout()
        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        side.addLayout(self.form)
        self.tag_editor = PhotoTagsEditor()
        self.tag_editor.decided.connect(self._decided)
        side.addWidget(self.tag_editor)
        side.addStretch(1)
        self.open_button = QPushButton("Open")
        self.reveal_button = QPushButton("Show in folder")
        self.copy_button = QPushButton("Copy path")
        self.similar_button = QPushButton("Find similar")
        for button in (self.open_button, self.reveal_button, self.copy_button, self.similar_button):
            side.addWidget(button)
        outer.addLayout(side, 2)
        self.open_button.clicked.connect(
            lambda: self._hit and desktop.open_result(self._hit.path, self._hit.time)
        )
        self.reveal_button.clicked.connect(
            lambda: self._hit and desktop.reveal_file(self._hit.path)
        )
        self.copy_button.clicked.connect(lambda: self._hit and desktop.copy_text(self._hit.path))
        self.similar_button.clicked.connect(self._find_similar)
        self.facts: dict[str, str] = {}
        self.tags: list[tuple[str, float]] = []  # (name, confidence) of the tags it carries

    @property
    def hit(self) -> SearchHit | None:
        return self._hit

    @property
    def image(self) -> QImage | None:
        """The preview shown (None while it loads or when it cannot be read)."""
        return self._image

    def show_hit(self, hit: SearchHit) -> None:
        """Show a result: facts now, preview and EXIF when the worker brings them."""
        self._hit = hit
        self._image = None
        self.setWindowTitle(os.path.basename(hit.path))
        self.facts = describe(hit)
        self.tags = []
        self.preview.faces = []
        self.preview.text = None
        self.tag_editor.clear()
        self._render_facts()
        self.preview.setPixmap(QPixmap())
        self.preview.setText("Loading…")
        self.scenes.set_scenes([])
        self.previewWanted.emit(hit.path, hit.time)

    def set_preview(self, preview: Preview) -> None:
        if self._hit is None or (preview.path, preview.at) != (self._hit.path, self._hit.time):
            return  # the user moved on (to another file, or another scene of this one)
        if preview.image is None:
            self.preview.setText(f"Cannot show this file:\n{preview.error}")
        else:
            self._image = preview.image
            self._fit_preview()
        if preview.exif:
            self.facts["EXIF"] = " · ".join(f"{k} {v}" for k, v in preview.exif.items())
            self._render_facts()

    def set_scenes(self, path: str, scenes: list[SceneFrame]) -> None:
        """A video's scenes, as a strip of frames under the preview, the matched one marked."""
        if self._hit is None or path != self._hit.path:
            return
        self.scenes.set_scenes(scenes, at=self._hit.time)

    def _play_scene(self, start: float) -> None:
        if self._hit is not None:
            desktop.play_video(self._hit.path, start)

    def set_tags(self, path: str, tags: list[PhotoTag]) -> None:
        """The shown photo's tags, with the ones the user took off it."""
        if self._hit is None or path != self._hit.path:
            return
        self.tags = [(t.name, float(t.strength or 0.0)) for t in tags if not t.rejected]
        self.tag_editor.set_tags(tags)

    def set_text(self, path: str, text: PhotoText | None) -> None:
        """The text read in the shown photo: listed with the facts, boxed on the preview."""
        if self._hit is None or path != self._hit.path:
            return
        self.preview.text = text
        if text is not None and text.lines:
            self.facts["Text"] = " / ".join(line.text for line in text.lines)
            self._render_facts()
        self._fit_preview()

    def set_faces(self, path: str, faces: list[PhotoFace]) -> None:
        """The shown photo's faces, boxed on the preview with their names."""
        if self._hit is None or path != self._hit.path:
            return
        self.preview.faces = list(faces)
        self._fit_preview()

    def _face_clicked(self, face: PhotoFace) -> None:
        if self._hit is not None:
            self.faceClicked.emit(self._hit.path, face)

    def _decided(self, tag: str, decision: str) -> None:
        if self._hit is not None:
            self.tagDecided.emit(self._hit.path, tag, decision)

    def _render_facts(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        for label, value in self.facts.items():
            text = QLabel(value)
            text.setWordWrap(True)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.form.addRow(f"{label}:", text)

    def _fit_preview(self) -> None:
        if self._image is None:
            return
        pixmap = QPixmap.fromImage(self._image).scaled(
            self.preview.size(),
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        self.preview.show_pixmap(pixmap)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_preview()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Space, Qt.Key.Key_Escape):
            self.close()
        elif key == Qt.Key.Key_Left:
            self.stepRequested.emit(-1)
        elif key == Qt.Key.Key_Right:
            self.stepRequested.emit(1)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self._hit is not None:
            desktop.open_result(self._hit.path, self._hit.time)
        else:
            super().keyPressEvent(event)

    def _find_similar(self) -> None:
        if self._hit is not None:
            self.findSimilar.emit(self._hit.path)
