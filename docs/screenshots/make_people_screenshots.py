"""Regenerate the README's people screenshots: the People section and a photo's face boxes.

Writes photos derived from dlib's public example photos (``tests/face_photos.py``: crops,
scales, mirror images and light of the same faces), indexes them with tiny-shapes and
faces on, names one person, then (under Xvfb) opens the window, clicks that person in
the side panel, opens one photo and saves both windows as PNGs here.

    .venv/bin/python docs/screenshots/make_people_screenshots.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
MODEL = "tiny-shapes"
TIMEOUT_MS = 300_000


def prepare(work: Path) -> None:
    sys.path.insert(0, str(REPO / "tests"))
    from face_photos import write_people

    from clipdesk.core.library import Library
    from clipdesk.core.progress import run_to_end

    photos = work / "Pictures"
    write_people(photos)
    with Library.open(work / "library", model=MODEL) as library:
        run_to_end(library.index([photos], faces=True))
        first = library.people.faces_in(photos / "middle-1.jpg")
        middle = max(first, key=lambda f: f.box[2] - f.box[0])
        library.people.name(middle.person_id, "Ann")


def grab(work: Path) -> None:
    from PySide6.QtWidgets import QApplication

    from clipdesk.gui.main_window import MainWindow
    from clipdesk.gui.service import LibraryService
    from clipdesk.gui.settings import Settings

    app = QApplication.instance() or QApplication([])
    service = LibraryService(str(work / "library"), model=MODEL)
    win = MainWindow(service, Settings())
    win.resize(1280, 800)
    win.show()

    def wait(condition, ms: int = TIMEOUT_MS) -> None:  # type: ignore[no-untyped-def]
        from PySide6.QtCore import QDeadlineTimer

        deadline = QDeadlineTimer(ms)
        while not condition():
            if deadline.hasExpired():
                raise TimeoutError("the window did not get there")
            app.processEvents()

    service.open()
    wait(lambda: service.library is not None and win.side.people.list.count() > 0)
    people = win.side.people
    ann = next(
        i for i in range(people.list.count()) if people.list.item(i).text().startswith("Ann")
    )
    shown: list[object] = []
    win.resultsShown.connect(shown.append)
    people._clicked(people.list.item(ann))
    wait(lambda: bool(shown))
    wait(lambda: all(win.loader.image(h.path) is not None for h in win.model.hits()), 60_000)
    for _ in range(50):
        app.processEvents()
    win.grab().save(str(HERE / "people.png"))
    row = next(i for i, h in enumerate(win.model.hits()) if h.path.endswith("middle-1.jpg"))
    win.show_detail(win.model.index(row))
    detail = win.detail
    wait(lambda: bool(detail.preview.faces) and not detail.preview._shown.isEmpty())
    for _ in range(50):
        app.processEvents()
    detail.grab().save(str(HERE / "faces.png"))
    win.shutdown()


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--inner":
        grab(Path(sys.argv[2]))
        return 0
    work = Path(tempfile.mkdtemp(prefix="clipdesk-people-shots-"))
    for name in ("DATA", "CACHE", "CONFIG"):
        os.environ[f"CLIPDESK_{name}_DIR"] = str(work / name.lower())
    os.environ.pop("CLIPDESK_FACES", None)
    prepare(work)
    env = dict(os.environ)
    env.pop("QT_QPA_PLATFORM", None)
    wrap = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24"] if shutil.which("xvfb-run") else []
    if not wrap:
        env["QT_QPA_PLATFORM"] = "offscreen"
    subprocess.run([*wrap, sys.executable, __file__, "--inner", str(work)], env=env, check=True)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
