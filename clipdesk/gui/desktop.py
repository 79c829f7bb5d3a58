"""Talking to the desktop: open a file (a video from a given second), reveal it in the
file manager, copy its path, and save a pasted image where a similarity search can read
it."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QBuffer, QIODevice, QProcess, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication, QImage

from clipdesk.core import paths
from clipdesk.core.files import atomic_write


def open_file(path: str) -> bool:
    """Open with the user's default application."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(path))


# Players that start at a given second, and how each is told (seconds, decimal point).
_PLAYERS: tuple[tuple[str, str], ...] = (
    ("mpv", "--start={s}"),
    ("vlc", "--start-time={s}"),
    ("celluloid", "--mpv-start={s}"),
    ("mplayer", "-ss {s}"),
    ("ffplay", "-ss {s}"),
)


def player_command(
    path: str, at: float, which: Callable[[str], str | None] = shutil.which
) -> list[str] | None:
    """The command that plays ``path`` from ``at`` seconds with a player on this
    computer, or None when none of the known ones is installed."""
    for name, option in _PLAYERS:
        program = which(name)
        if program:
            return [program, *option.format(s=f"{max(at, 0.0):.2f}").split(), "--", path]
    return None


def play_video(path: str, at: float | None) -> bool:
    """Play a video from ``at`` seconds in the system's player (the default application,
    from the start, when no player that takes a start time is installed)."""
    command = player_command(path, at) if at else None
    if command is not None and QProcess.startDetached(command[0], command[1:])[0]:
        return True
    return open_file(path)


def open_result(path: str, at: float | None = None) -> bool:
    """Open a result: a video plays from ``at`` (its best scene), a photo opens."""
    from clipdesk.core.mediatypes import is_video_path

    return play_video(path, at) if is_video_path(path) else open_file(path)


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
