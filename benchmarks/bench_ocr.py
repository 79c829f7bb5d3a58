"""What reading text in photos costs, and what a ``text:`` search costs at 100k photos.

1. Indexing: the same 12-megapixel JPEGs (half of them with a sign of words on them, half
   without) are indexed twice in one run, into two new libraries: with ``--no-ocr`` (the
   baseline) and with OCR. The difference per photo is OCR's cost; the share of photos
   the detector found empty is what skipping the recogniser saved.
2. Search: a synthetic catalog of 100k photos, 60% of them with 3-12 words from a
   20,000-word vocabulary, is given its full-text index; the allowed set of ``text:``
   queries (a whole word, a word one letter wrong, a prefix, a phrase) is read seven
   times, and the median reported, with the size of the full-text index.

Run::

    .venv/bin/python benchmarks/bench_ocr.py [--photos 16] [--catalog 100000]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

import benchlib
from PIL import Image, ImageDraw, ImageFont

from clipdesk.core.catalog import Catalog
from clipdesk.core.catalog._photo_text import store_text
from clipdesk.core.catalog.records import PhotoText, TextLine
from clipdesk.core.library import Library
from clipdesk.core.progress import run_to_end
from clipdesk.core.search import Filters
from clipdesk.core.search.filters import conditions

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
SIGNS = ["FARMACIA CENTRAL", "OPEN DAILY 9-18", "PLATFORM 4", "SALE 50%", "MENU DO DIA"]


def photos_with_and_without_text(directory: Path, count: int) -> Path:
    """``count`` 12-MP photos in ``directory``: every other one carries a sign."""
    from photos import ensure_photos

    plain = ensure_photos(benchlib.bench_dir() / "photos-12mp", count)
    directory.mkdir(parents=True, exist_ok=True)
    for i, source in enumerate(plain):
        target = directory / f"IMG_{i:04d}.jpg"
        if target.exists():
            continue
        if i % 2:
            os.link(source, target) if not target.exists() else None
            continue
        with Image.open(source) as im:
            im.load()
            draw = ImageDraw.Draw(im)
            draw.rectangle((600, 700, 3000, 1300), fill=(245, 240, 230))
            font = ImageFont.truetype(FONT, 160)
            draw.text((680, 820), SIGNS[(i // 2) % len(SIGNS)], font=font, fill=(20, 20, 30))
            im.save(target, "JPEG", quality=92)
    return directory


def index_once(photos: Path, library_dir: Path, model: str, *, text: bool) -> float:
    with Library.open(library_dir, model=model) as library:
        start = time.perf_counter()
        run_to_end(library.index([photos], text=text))
        return time.perf_counter() - start


def indexing(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        benchlib.use_bench_dirs(Path(tmp))
        model = "tiny-shapes"
        photos = photos_with_and_without_text(benchlib.bench_dir() / "photos-ocr", count)
        base = index_once(photos, Path(tmp) / "plain", model, text=False)
        with_ocr = index_once(photos, Path(tmp) / "ocr", model, text=True)
        with Library.open(Path(tmp) / "ocr", model=model) as library:
            records = [library.catalog.file_by_path(p) for p in sorted(photos.glob("*.jpg"))]
            read = [library.catalog.photo_text(r.fingerprint) for r in records]
        empty = sum(1 for r in read if r is not None and not r.lines)
        signed = [r for i, r in enumerate(read) if i % 2 == 0]
        found = sum(1 for r in signed if r is not None and r.lines)
        workers = max(2, (os.cpu_count() or 2) - 1)
        print(f"{count} photos of 12 MP, {workers} decode workers, model {model}")
        print("| run | seconds | s per photo |\n| --- | ---: | ---: |")
        print(f"| `index --no-ocr` | {base:.1f} | {base / count:.2f} |")
        print(f"| `index` (OCR) | {with_ocr:.1f} | {with_ocr / count:.2f} |")
        added = (with_ocr - base) / count
        print(f"OCR adds {added:.2f} s per photo of wall time ({added * workers:.2f} CPU-s/photo)")
        print(f"detector found nothing (recogniser skipped): {empty}/{count} = {empty / count:.0%}")
        print(f"signs read: {found}/{len(signed)}")


def vocabulary(n: int, rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words: set[str] = set()
    while len(words) < n:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(4, 10))))
    return sorted(words)


def median_ms(call) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(7):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * sorted(times)[3]


def searching(n: int) -> None:
    from bench_filters import build

    rng = random.Random(5)
    words = vocabulary(20_000, rng)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "catalog.db"
        catalog: Catalog = build(path, n)
        before = path.stat().st_size
        now = time.time()
        said: list[str] = []
        with catalog.engine.begin() as conn:
            for i in range(1, n + 1):
                if rng.random() < 0.4:
                    store_text(conn, f"{i:032x}", PhotoText((), 4000, 3000), now)
                    continue
                line = " ".join(rng.choice(words) for _ in range(rng.randint(3, 12)))
                said.append(line)
                box = ((0.0, 0.0), (100.0, 0.0), (100.0, 20.0), (0.0, 20.0))
                store_text(
                    conn, f"{i:032x}", PhotoText((TextLine(line, 0.9, box),), 4000, 3000), now
                )
        catalog.engine.dispose()
        with Catalog.open(path).engine.connect() as conn:
            conn.exec_driver_sql("VACUUM")
        after = path.stat().st_size
        catalog = Catalog.open(path)
        with catalog.engine.connect() as conn:
            fts = conn.exec_driver_sql(
                "SELECT count(*) * (SELECT page_size FROM pragma_page_size()) FROM dbstat "
                "WHERE name LIKE 'photo_text_fts%'"
            ).scalar()
        word, other = said[0].split()[:2]  # words some photo does show
        cases = {
            f"text:{word} (a whole word)": word,
            f"text:{word[:-1]}x (one letter wrong)": word[:-1] + "x",
            f"text:{word[:4]} (a prefix)": word[:4],
            f'text:"{word} {other}" (two words)': f"{word} {other}",
        }
        print(f"\n{n:,} photos, 60% with 3-12 words of 20,000")
        print("| query | allowed | median ms |\n| --- | ---: | ---: |")
        for name, phrase in cases.items():
            where = conditions(Filters(texts=(phrase,)))
            allowed = catalog.allowed_embeddings("m", where)
            ms = median_ms(lambda w=where: catalog.allowed_embeddings("m", w))
            print(f"| `{name}` | {len(allowed):,} | {ms:.1f} |")
        print(
            f"catalog {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB with text "
            f"(full-text index {fts / 1e6:.1f} MB, {fts / n:.0f} bytes per photo)"
        )
        catalog.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=16)
    parser.add_argument("--catalog", type=int, default=100_000)
    args = parser.parse_args()
    benchlib.print_conditions("OCR")
    if args.photos:
        indexing(args.photos)
    if args.catalog:
        searching(args.catalog)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
