"""Which rapidocr release's PP-OCR models clipdesk reads text with: cost and words read.

rapidocr 3.9 replaced PP-OCRv4's mobile detector and recogniser with PP-OCRv6's "small"
ones. Both releases' models are run here in one process, through clipdesk's own
``read_text`` and settings (detector input at most ``OCR_DETECT_SIDE`` px, one thread,
as in the decode workers), over the same 12-MP photos: half of them carry a sign of
words (``bench_ocr``'s photos), half carry none. The photos are interleaved between the
releases so that a busy machine disturbs both alike. CPU-seconds per photo are the cost
(the workers are one process per core); a sign's words found in what was read are the
accuracy check, which ``tests/test_photo_text_accuracy.py`` makes in full.

Run::

    .venv/bin/python benchmarks/bench_ocr_models.py [--photos 8] [--releases 3.10.0 3.8.4]

The first release named is the baseline of the ratios.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import benchlib
from bench_ocr import SIGNS, photos_with_and_without_text
from PIL import Image

from clipdesk.core.catalog.words import words_of
from clipdesk.core.ocr import OCR_DECODE_SIDE, OCR_DETECT_SIDE, engine_for, read_text


def release_models(version: str) -> tuple[Path, Path, Path]:
    """The detector, recogniser and classifier of rapidocr ``version``, as its wheel on
    the package index ships them (fetched by pip once, then cached)."""
    folder = benchlib.bench_dir() / "ocr-releases" / version
    models = folder / "models"
    if not models.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        subprocess.run([*pip, "-d", str(folder), f"rapidocr=={version}"], check=True)
        wheel = next(folder.glob(f"rapidocr-{version}-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                if name.startswith("rapidocr/models/") and name.endswith(".onnx"):
                    target = models / Path(name).name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(archive.read(name))
    det, rec, cls = (next(models.glob(f"*_{part}_*.onnx")) for part in ("det", "rec", "cls"))
    return det, rec, cls


def decoded(path: Path) -> Image.Image:
    """The photo as the indexer hands it to OCR: JPEG draft decoding to a short side of
    at least ``OCR_DECODE_SIDE``."""
    with Image.open(path) as image:
        image.draft("RGB", (OCR_DECODE_SIDE, OCR_DECODE_SIDE))
        return image.convert("RGB")


def read_timed(engine: Any, image: Image.Image) -> tuple[float, set[str]]:
    started = time.process_time()
    text = read_text(image, image.width, image.height, engine)
    words = {word for line in text.lines for word in words_of(line.text)}
    return time.process_time() - started, words


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=8, help="12-MP photos (default 8)")
    parser.add_argument("--releases", nargs="+", default=["3.10.0", "3.8.4"])
    args = parser.parse_args()
    info = benchlib.print_conditions(f"rapidocr releases' models, {args.photos} photos")
    photos = sorted(
        photos_with_and_without_text(benchlib.bench_dir() / "ocr-photos", args.photos).glob(
            "IMG_*.jpg"
        )
    )[: args.photos]
    engines = {}
    for version in args.releases:
        det, rec, cls = release_models(version)
        engines[version] = (engine_for(det, rec, cls), det.name, rec.name)
    warm = decoded(photos[0])
    for engine, _, _ in engines.values():
        read_text(warm, warm.width, warm.height, engine)  # sessions made, arenas sized
    cpu: dict[str, dict[bool, list[float]]] = {v: {True: [], False: []} for v in engines}
    found: dict[str, int] = dict.fromkeys(engines, 0)
    drawn = 0
    for i, path in enumerate(photos):
        image = decoded(path)
        sign = SIGNS[(i // 2) % len(SIGNS)] if i % 2 == 0 else None
        expected = set(words_of(sign)) if sign else set()
        drawn += len(expected)
        for version, (engine, _, _) in engines.items():
            seconds, words = read_timed(engine, image)
            cpu[version][sign is not None].append(seconds)
            found[version] += len(expected & words)
    base = args.releases[0]
    base_mean = sum(cpu[base][True] + cpu[base][False]) / len(photos)
    print(f"detector input: long side at most {OCR_DETECT_SIDE} px; CPU-seconds per photo")
    print("| rapidocr | detector | recogniser | with a sign | without | all | words found | x |")
    print("|---|---|---|---|---|---|---|---|")
    results = []
    for version, (_, det_name, rec_name) in engines.items():
        with_sign, without = cpu[version][True], cpu[version][False]
        mean = sum(with_sign + without) / len(photos)
        print(
            f"| {version} | {det_name} | {rec_name} | {sum(with_sign) / len(with_sign):.2f} | "
            f"{sum(without) / max(len(without), 1):.2f} | {mean:.2f} | "
            f"{found[version]}/{drawn} | {base_mean / mean:.2f}x |"
        )
        results.append({"release": version, "cpu_s": mean, "found": found[version]})
    benchlib.save_results("ocr_models", {"conditions": info, "drawn": drawn, "rows": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
