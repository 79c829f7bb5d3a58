"""The results grid's model: search hits in score order, shown up to an adaptive cut-off.

Only rows the view asks about (the visible ones) request their thumbnail, so a model
with 100,000 hits costs one small Python object per hit and nothing more.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QAbstractListModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    QUrl,
)
from PySide6.QtGui import QImage

from clipdesk.gui.cutoff import adaptive_cutoff, next_step
from clipdesk.gui.media_keys import key_for, time_label
from clipdesk.gui.thumbnails import ThumbnailLoader

if TYPE_CHECKING:
    from clipdesk.core.search import SearchHit

HitRole = Qt.ItemDataRole.UserRole + 1
ScoreRole = Qt.ItemDataRole.UserRole + 2
PathRole = Qt.ItemDataRole.UserRole + 3
ThumbErrorRole = Qt.ItemDataRole.UserRole + 4
# (image or None, error or None, score, name, a video's time or None)
PaintRole = Qt.ItemDataRole.UserRole + 5

_Index = QModelIndex | QPersistentModelIndex


class ResultsModel(QAbstractListModel):
    """Hits best first; ``shown`` of them are rows, the rest wait behind "show more"."""

    def __init__(self, loader: ThumbnailLoader, parent: object | None = None) -> None:
        super().__init__(parent)
        self._loader = loader
        self._hits: list[SearchHit] = []
        self.scored = True  # False: hits listed by filters alone carry no meaningful score
        self._shown = 0
        self._rows_by_path: dict[str, list[int]] = {}
        # Thumbnails arrive one by one; the view hears of them in batches (one repaint).
        self._changed_rows: set[int] = set()
        self._flush = QTimer(self)
        self._flush.setSingleShot(True)
        self._flush.setInterval(30)
        self._flush.timeout.connect(self._emit_changed)
        loader.ready.connect(self._thumbnail_changed)
        loader.failed.connect(lambda path, _reason: self._thumbnail_changed(path))

    # -- contents -----------------------------------------------------------------------

    def set_hits(
        self, hits: Sequence[SearchHit], *, cutoff: bool = True, scored: bool = True
    ) -> None:
        """Replace the results; the adaptive cut-off decides how many are rows.

        ``scored`` False (a listing by filters alone) paints no score badges.
        """
        self._loader.reset()
        self.beginResetModel()
        self._hits = list(hits)
        self.scored = scored
        self._changed_rows.clear()
        scores = [h.score for h in self._hits]
        self._shown = adaptive_cutoff(scores) if cutoff else len(self._hits)
        self._rows_by_path = {}
        for row, hit in enumerate(self._hits):  # by thumbnail key: a video's has its time
            self._rows_by_path.setdefault(key_for(hit), []).append(row)
        self.endResetModel()

    def clear(self) -> None:
        self.set_hits([])

    def show_more(self) -> int:
        """Reveal the next batch of hidden results; returns how many rows were added."""
        target = next_step(self._shown, len(self._hits))
        if target <= self._shown:
            return 0
        added = target - self._shown
        self.beginInsertRows(QModelIndex(), self._shown, target - 1)
        self._shown = target
        self.endInsertRows()
        return added

    def show_all(self) -> None:
        while self.show_more():
            pass

    @property
    def total(self) -> int:
        return len(self._hits)

    @property
    def hidden(self) -> int:
        return len(self._hits) - self._shown

    def hit(self, row: int) -> SearchHit | None:
        if 0 <= row < self._shown:
            return self._hits[row]
        return None

    def hits(self) -> list[SearchHit]:
        """The hits that are rows, best first."""
        return self._hits[: self._shown]

    def visible_thumbnails_ready(self, rows: range) -> bool:
        """True when every row in ``rows`` has its thumbnail (or a reason it has none)."""
        for row in rows:
            hit = self.hit(row)
            if hit is None:
                continue
            key = key_for(hit)
            if self._loader.image(key) is None and self._loader.error(key) is None:
                return False
        return True

    # -- Qt model -----------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._shown

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < self._shown:
            return None
        hit = self._hits[index.row()]
        if role == PaintRole:
            loader = self._loader
            key = key_for(hit)
            image = loader.image(key)
            error = None
            if image is None:
                error = loader.error(key)
                if error is None:
                    loader.request(key)
            score = hit.score if self.scored else None
            return image, error, score, os.path.basename(hit.path), hit.time
        if role == Qt.ItemDataRole.DecorationRole:
            image: QImage | None = self._loader.image(key_for(hit))
            if image is None:
                self._loader.request(key_for(hit))
            return image
        if role == Qt.ItemDataRole.DisplayRole:
            return os.path.basename(hit.path)
        if role == Qt.ItemDataRole.ToolTipRole:
            at = "" if hit.time is None else f"\nat {time_label(hit.time)}"
            return f"{hit.path}\nscore {hit.score:.3f}{at}"
        if role == ScoreRole:
            return hit.score
        if role == PathRole:
            return hit.path
        if role == HitRole:
            return hit
        if role == ThumbErrorRole:
            return self._loader.error(key_for(hit))
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        base = super().flags(index)
        if index.isValid():
            base |= Qt.ItemFlag.ItemIsDragEnabled
        return base

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list"]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        """Dragged results carry file URLs: the file manager copies them, and dropping
        one back on the window searches for look-alikes."""
        data = QMimeData()
        rows = sorted({i.row() for i in indexes if i.isValid()})
        data.setUrls([QUrl.fromLocalFile(self._hits[r].path) for r in rows if r < self._shown])
        return data

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    def _thumbnail_changed(self, path: str) -> None:
        rows = self._rows_by_path.get(path)
        if rows:
            self._changed_rows.update(rows)
            if not self._flush.isActive():
                self._flush.start()

    def _emit_changed(self) -> None:
        """One dataChanged per run of neighbouring rows: a range spanning far-apart rows
        would make the view re-examine every row in between."""
        rows = sorted(r for r in self._changed_rows if r < self._shown)
        self._changed_rows.clear()
        roles = [Qt.ItemDataRole.DecorationRole]
        start = previous = None
        for row in [*rows, None]:
            if start is not None and (row is None or row != previous + 1):
                self.dataChanged.emit(self.index(start), self.index(previous), roles)
                start = None
            if start is None:
                start = row
            previous = row
