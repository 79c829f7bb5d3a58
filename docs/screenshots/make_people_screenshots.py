"""Regenerate the README's people screenshots: the People section and a photo's face boxes.

Needs matplotlib and scikit-image installed beside clipdesk (``pip install matplotlib
scikit-image``): their wheels ship the two public-domain portraits these screenshots are
made from, and only those two files are read from them (clipdesk does not depend on
either). Nothing is downloaded and no photo is committed, only the two screenshots.

- ``matplotlib/mpl-data/sample_data/grace_hopper.jpg``: Grace Hopper, a US Navy
  photograph (a work of the US government, public domain); the file's own JPEG comment
  names its source, Wikimedia Commons' ``File:Grace_Hopper.jpg``.
- ``skimage/data/astronaut.png``: the astronaut Eileen Collins, from NASA's Great Images
  database; ``skimage.data.astronaut`` says "No known copyright restrictions, released
  into the public domain".

From each portrait four photos are derived as the tests derive theirs
(``tests/face_photos.py``: crops, scales, mirror images and light of the same face), and
one more sets the two side by side. They are indexed with ``clipdesk index`` (tiny-shapes,
faces on, text reading off: the flags' stars read as text would be outlined over the
photos), both people are named with ``clipdesk people name``, then (under Xvfb, else
Qt's offscreen platform) the window opens, Grace Hopper is clicked in the side panel, the
side-by-side photo is opened, and both windows are saved here as PNGs.

    .venv/bin/python docs/screenshots/make_people_screenshots.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
MODEL = "tiny-shapes"
TIMEOUT_MS = 300_000
SHOWN = "Grace Hopper"  # the person whose photos people.png shows
TOGETHER = "together.jpg"  # the photo faces.png shows
SIDE_BY_SIDE_HEIGHT = 480
BUSY = ("Looking", "Reading", "Finding", "Indexing")  # the status bar while work runs


@dataclass(frozen=True)
class Portrait:
    """A public-domain portrait shipped in a package, and the part of it to use."""

    name: str
    stem: str
    package: str
    file: str
    face: tuple[int, int, int, int]  # left, top, width, height (dlib's HOG box)
    whole: tuple[int, int, int, int]  # left, top, right, bottom: the photo without
    # anything the detector takes for a face (the astronaut's mission patch)
    together: tuple[int, int, int, int]  # the part set beside the other portrait


PORTRAITS = (
    Portrait(
        "Grace Hopper",
        "grace",
        "matplotlib",
        "matplotlib/mpl-data/sample_data/grace_hopper.jpg",
        (180, 139, 187, 187),
        (0, 0, 512, 600),
        (50, 30, 490, 470),
    ),
    Portrait(
        "Eileen Collins",
        "eileen",
        "scikit-image",
        "skimage/data/astronaut.png",
        (175, 76, 91, 91),
        (20, 0, 500, 320),
        (70, 0, 380, 310),
    ),
)

# (context around the face as a multiple of its box, long side, mirrored, brightness):
# as tests/face_photos.py's VARIANTS, with less context, for these photos end close to
# the face; the first photo of each person is the whole portrait.
VARIANTS = (
    (1.8, 480, False, 1.0),
    (2.4, 640, True, 1.0),
    (2.0, 360, False, 0.75),
)


def portrait_files() -> dict[str, Path]:
    """Each portrait's file where pip installed it; one clear line when one is missing."""
    files = {}
    for p in PORTRAITS:
        try:
            path = Path(str(distribution(p.package).locate_file(p.file)))
        except PackageNotFoundError:
            path = None
        if path is None or not path.is_file():
            sys.exit(
                f"make_people_screenshots.py: needs {p.package} with its {p.file} (one of "
                "the photos): pip install matplotlib scikit-image"
            )
        files[p.stem] = path
    return files


def write_photos(folder: Path) -> Path:
    """The derived photos of each person, and the two side by side; the latter's path."""
    from PIL import Image

    sys.path.insert(0, str(REPO / "tests"))
    from face_photos import variant

    folder.mkdir(parents=True, exist_ok=True)
    files = portrait_files()
    halves = []
    for p in PORTRAITS:
        image = Image.open(files[p.stem]).convert("RGB")
        whole = image.crop(p.whole)
        whole.save(folder / f"{p.stem}-0.jpg", quality=90)
        for number, (context, side, flip, light) in enumerate(VARIANTS, start=1):
            photo = variant(image, p.face, context, side, flip, light)
            photo.save(folder / f"{p.stem}-{number}.jpg", quality=90)
        half = image.crop(p.together)
        size = (round(half.width * SIDE_BY_SIDE_HEIGHT / half.height), SIDE_BY_SIDE_HEIGHT)
        halves.append(half.resize(size, Image.Resampling.LANCZOS))
    together = Image.new("RGB", (sum(h.width for h in halves), SIDE_BY_SIDE_HEIGHT))
    left = 0
    for half in halves:
        together.paste(half, (left, 0))
        left += half.width
    together.save(folder / TOGETHER, quality=90)
    return folder / TOGETHER


def clipdesk(library: Path, *args: str) -> str:
    """Run the real CLI on the library; its standard output."""
    command = [sys.executable, "-m", "clipdesk", "--library", str(library), "--model", MODEL]
    done = subprocess.run([*command, *args], check=True, capture_output=True, text=True)
    return done.stdout


def index_and_name(work: Path) -> None:
    """Index the photos with faces, then name each person by the photos they are in."""
    photos, library = work / "Pictures", work / "library"
    write_photos(photos)
    clipdesk(library, "index", str(photos), "--faces")
    people = json.loads(clipdesk(library, "people", "--json"))["people"]
    for p in PORTRAITS:
        for person in people:
            shown = json.loads(clipdesk(library, "people", "show", str(person["id"]), "--json"))
            names = [Path(r["path"]).name for r in shown["results"]]
            if sum(n.startswith(f"{p.stem}-") for n in names) == 1 + len(VARIANTS):
                clipdesk(library, "people", "name", str(person["id"]), p.name)
                break
        else:
            sys.exit(f"make_people_screenshots.py: no one person holds all of {p.name}'s photos")


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
    wait(lambda: service.library is not None and win.side.people.list.count() >= 2)
    people = win.side.people
    row = next(
        i for i in range(people.list.count()) if people.list.item(i).text().startswith(SHOWN)
    )
    shown: list[object] = []
    win.resultsShown.connect(shown.append)
    people._clicked(people.list.item(row))
    wait(lambda: bool(shown))
    wait(lambda: all(win.loader.image(h.path) is not None for h in win.model.hits()), 60_000)
    # settled: the model named in the status bar, the folder watcher's first look done
    wait(lambda: "loading" not in win.status.model_label.text())
    wait(lambda: not win.status.progress_label.text().startswith(BUSY))
    for _ in range(50):
        app.processEvents()
    win.grab().save(str(work / "people.png"))
    row = next(i for i, h in enumerate(win.model.hits()) if h.path.endswith(TOGETHER))
    win.show_detail(win.model.index(row))
    detail = win.detail
    wait(lambda: len(detail.preview.faces) >= 2 and not detail.preview._shown.isEmpty())
    for _ in range(50):
        app.processEvents()
    detail.grab().save(str(work / "faces.png"))
    win.shutdown()


def optimise(source: Path, target: Path) -> None:
    """Keep a screenshot small: 256 colours, dithered (a third of the size of full
    colour, and the photos in it still look as they do in the window)."""
    from PIL import Image

    image = Image.open(source).convert("RGB")
    small = image.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG)
    small.save(target, optimize=True)


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--inner":
        grab(Path(sys.argv[2]))
        return 0
    portrait_files()
    work = Path(tempfile.mkdtemp(prefix="clipdesk-people-shots-"))
    for name in ("DATA", "CACHE", "CONFIG"):
        os.environ[f"CLIPDESK_{name}_DIR"] = str(work / name.lower())
    os.environ.pop("CLIPDESK_FACES", None)
    os.environ["CLIPDESK_OCR"] = "0"  # the flags' stars, read as text, would be outlined
    index_and_name(work)
    env = dict(os.environ)
    env.pop("QT_QPA_PLATFORM", None)
    wrap = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24"] if shutil.which("xvfb-run") else []
    if not wrap:
        env["QT_QPA_PLATFORM"] = "offscreen"
    subprocess.run([*wrap, sys.executable, __file__, "--inner", str(work)], env=env, check=True)
    for name in ("people.png", "faces.png"):
        optimise(work / name, HERE / name)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
