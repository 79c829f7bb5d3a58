"""Indexing speed: clipdesk's ``index`` against the encoder alone and a plain loop.

On 300 generated 12-megapixel JPEGs (``photos.py``) with a random-initialised copy of
the default model's architecture (ViT-B-32 at 256 px), in one run:

- **encoder alone**: ready model inputs, batches of 32, no decoding: the ceiling;
- **plain loop**: ``PIL.Image.open`` -> ``convert("RGB")`` -> open_clip's preprocess ->
  ``model.encode_image`` one photo at a time, as a first script would do it;
- **clipdesk**: ``Library.index`` end to end (scan, decode workers, batches, SQLite,
  HNSW, save), in several configurations, so each change's share is visible.

Run::

    .venv/bin/python benchmarks/bench_indexing.py            # about 10 minutes on 2 cores
    .venv/bin/python benchmarks/bench_indexing.py --quick    # 60 photos, fewer variants

Targets: >= 20 photos/s with the default model on 2 cores and >= 2x the plain loop.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import benchlib
from benchlib import DEFAULT_MODEL, bench_dir, ensure_random_model, table, use_bench_dirs


def load(backend: str):
    from clipdesk.core.encoder import load_encoder
    from clipdesk.core.onnx_backend import upgrade

    torch_encoder = load_encoder(DEFAULT_MODEL, device="cpu", backend="torch")
    if backend == "torch":
        return torch_encoder
    started = time.perf_counter()
    fast = upgrade(torch_encoder)  # exports once, then reads the cache
    print(f"  ONNX export ready in {time.perf_counter() - started:.1f} s: {fast!r}")
    return fast


def ready_inputs(paths: list[Path], size: int):
    import numpy as np

    from clipdesk.core.decode_task import DecodeJob, decode_file
    from clipdesk.core.preprocess import PreprocessConfig

    cfg = PreprocessConfig(size)
    return np.stack([decode_file(DecodeJob(0, os.fsencode(p), cfg)).pixels for p in paths])


def bench_encoder_alone(encoder, pixels, repeat: int) -> float:
    """Photos per second through ``encode_image_batch`` in batches of 32."""
    encoder.encode_image_batch(pixels[:4])  # warm-up: sessions, allocations
    started = time.perf_counter()
    n = 0
    for _ in range(repeat):
        for i in range(0, len(pixels), 32):
            n += len(encoder.encode_image_batch(pixels[i : i + 32]))
    return n / (time.perf_counter() - started)


def bench_plain_loop(paths: list[Path]) -> float:
    """The straightforward script: one photo at a time, PIL + open_clip + torch."""
    import logging

    import open_clip
    import torch
    from PIL import Image

    from clipdesk.core import paths as cd_paths

    logging.disable(logging.WARNING)
    folder = cd_paths.models_dir() / DEFAULT_MODEL
    model, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{folder}")
    model.eval()
    logging.disable(logging.NOTSET)
    started = time.perf_counter()
    with torch.no_grad():
        for path in paths:
            image = Image.open(path).convert("RGB")
            features = model.encode_image(preprocess(image).unsqueeze(0))
            features = features / features.norm(dim=-1, keepdim=True)
    return len(paths) / (time.perf_counter() - started)


def _sequential_writer():
    """The writer as it was: encode in the caller's thread (the decode workers stall)."""
    from clipdesk.core import indexer

    class Sequential(indexer._BatchWriter):
        def flush(self) -> None:
            super().flush()
            self._commit()

    return Sequential


def bench_clipdesk(encoder, photos: Path, *, workers: int, batch: int, pipeline: bool) -> dict:
    """One ``Library.index`` run into a fresh library; photos per second, wall clock."""
    from clipdesk.core import indexer
    from clipdesk.core.catalog import Catalog
    from clipdesk.core.library import Library

    work = Path(tempfile.mkdtemp(prefix="bench-lib-"))
    original = indexer._BatchWriter
    if not pipeline:
        indexer._BatchWriter = _sequential_writer()
    os.environ["CLIPDESK_BACKEND"] = getattr(encoder, "backend", "torch")
    try:
        library = Library(work, Catalog.open(work / "catalog.db"), encoder=encoder)
        started = time.perf_counter()
        job = library.index([photos], workers=workers, batch_size=batch)
        try:
            while True:
                next(job)
        except StopIteration as stop:
            report = stop.value
        elapsed = time.perf_counter() - started
        library.close()
    finally:
        indexer._BatchWriter = original
        os.environ.pop("CLIPDESK_BACKEND", None)
        shutil.rmtree(work, ignore_errors=True)
    assert report.encoded + report.reused == report.decoded and not report.skipped
    return {"photos": report.decoded, "seconds": elapsed, "rate": report.decoded / elapsed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="60 photos, fewer variants")
    parser.add_argument("--photos", type=int, help="number of photos (default 300)")
    parser.add_argument("--plain", type=int, help="photos for the plain loop (default 100)")
    args = parser.parse_args()
    count = args.photos or (60 if args.quick else 300)
    plain_count = args.plain or (20 if args.quick else 100)
    info = benchlib.print_conditions("indexing benchmark")
    with tempfile.TemporaryDirectory() as tmp:
        use_bench_dirs(Path(tmp))
        from photos import ensure_photos

        all_paths = ensure_photos(bench_dir() / "photos-12mp", max(count, 300))
        paths = all_paths[:count]
        folder = Path(tmp) / "photos"
        folder.mkdir()
        for p in paths:
            (folder / p.name).symlink_to(p)
        ensure_random_model()
        cpu = os.cpu_count() or 2
        print("loading encoders...")
        torch_enc = load("torch")
        onnx_enc = load("onnx")
        size = torch_enc.preprocess_cfg.size
        pixels = ready_inputs(paths[:64], size)
        rows = []
        results: dict[str, object] = {"conditions": info, "photos": count}

        def add(name: str, rate: float, note: str = "") -> None:
            rows.append([name, f"{rate:.1f}", note])
            results[name] = rate
            print(f"  {name}: {rate:.1f} photos/s {note}", flush=True)

        print("encoder alone (ready inputs, batches of 32):")
        repeat = 1 if args.quick else 3
        enc_torch = bench_encoder_alone(torch_enc, pixels, repeat)
        add("encoder alone, torch fp32", enc_torch)
        enc_onnx = bench_encoder_alone(onnx_enc, pixels, repeat)
        add(f"encoder alone, ONNX Runtime {onnx_enc.dtype}", enc_onnx)
        print(f"plain loop ({plain_count} photos):")
        plain = bench_plain_loop(paths[:plain_count])
        add("plain loop (PIL, open_clip, torch, one at a time)", plain)
        print(f"clipdesk index ({count} photos):")
        variants = [
            ("torch, sequential (before)", torch_enc, 1, 32, False),
            ("torch, pipelined", torch_enc, 1, 32, True),
            ("ONNX, sequential", onnx_enc, 1, 32, False),
            ("ONNX, pipelined (default)", onnx_enc, max(1, cpu - 1), 32, True),
            (f"ONNX, pipelined, {cpu} decode workers", onnx_enc, cpu, 32, True),
            ("ONNX, pipelined, batch 16", onnx_enc, max(1, cpu - 1), 16, True),
        ]
        if args.quick:
            variants = [variants[0], variants[3]]
        for name, enc, workers, batch, pipeline in variants:
            out = bench_clipdesk(enc, folder, workers=workers, batch=batch, pipeline=pipeline)
            add(f"clipdesk index: {name}", out["rate"], f"({out['seconds']:.1f} s)")
        default = results["clipdesk index: ONNX, pipelined (default)"]
        print()
        print(table(["configuration", "photos/s", ""], rows))
        print()
        print(f"clipdesk default / plain loop:     {default / plain:.2f}x   (target >= 2x)")
        print(
            f"clipdesk default / encoder alone:  {default / enc_onnx:.2f}   (1.0 = decoding free)"
        )
        print(f"target 20 photos/s: {'met' if default >= 20 else 'NOT met'} ({default:.1f})")
        results["ratio_vs_plain"] = default / plain
        results["ratio_vs_encoder"] = default / enc_onnx
        path = benchlib.save_results("indexing", results)
        print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
