"""Talking to the desktop: open a file, reveal it in the file manager, copy its path,
and save a pasted image where a similarity search can read it."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

from PySide6.QtCore import QBuffer, QIODevice, QProcess, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication, QImage

from clipdesk.core import paths
from clipdesk.core.files import atomic_write


def open_file(path: str) -> bool:
    """Open with the user's default application."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(path))


def reveal_file(path: str) -> bool:
    """Show the file selected in the file manager (its folder where that is not possible)."""
    if sys.platform == "win32":
        return QProcess.startDetached("explorer", [f"/select,{os.path.normpath(path)}"])[0]
    if sys.platform == "darwin":
        return QProcess.startDetached("open", ["-R", path])[0]
    if shutil.which("dbus-send"):
        url = QUrl.fromLocalFile(path).toString()
        started = QProcess.startDetached(
            "dbus-send",
            [
                "--session",
                "--dest=org.freedesktop.FileManager1",
                "--type=method_call",
                "/org/freedesktop/FileManager1",
                "org.freedesktop.FileManager1.ShowItems",
                f"array:string:{url}",
                "string:",
            ],
        )[0]
        if started:
            return True
    return QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(path)))


def copy_text(text: str) -> None:
    QGuiApplication.clipboard().setText(text)


def pasted_dir() -> Path:
    return paths.cache_dir() / "pasted"


def image_to_png(image: QImage) -> bytes:
    """PNG bytes of a clipboard image (QImage may be used from any one thread)."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise ValueError("the pasted image could not be encoded")
    return bytes(buffer.data())


def save_pasted_image(image: QImage) -> str:
    """Store a pasted image under the cache dir, named by its content; returns its path.

    Runs in a worker: encoding a large screenshot as PNG takes long enough to be felt.
    """
    data = image_to_png(image)
    directory = pasted_dir()
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"pasted-{hashlib.sha1(data).hexdigest()[:16]}.png"
    if not target.exists():
        atomic_write(target, data, durable=False)
    return str(target)
