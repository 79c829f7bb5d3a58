"""GPU check: fp16 throughput and fidelity against fp32 for every registry architecture.

Run on a computer with a CUDA GPU::

    python benchmarks/gpu_check.py [--models NAME ...] [--batch 64] [--seconds 3] [--json F]

Each registry architecture is built with random weights from a fixed seed (the same
compute and numerics as trained weights; nothing is downloaded), installed in a temporary
model folder and loaded through ``clipdesk.core.encoder.load_encoder`` three times: CUDA
fp32, CUDA fp16 (autocast, clipdesk's default on CUDA) and CPU fp32. The table gives image
throughput at fp32 and fp16, and the lowest cosine between fp16 and fp32 vectors (images
and texts) and between CUDA and CPU fp32 vectors. A model passes when every cosine is at
least 0.999. Without CUDA it says so and exits with status 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MIN_COSINE = 0.999
TEXTS = [
    "a photo of a dog",
    "two people walking on a beach at sunset",
    "a red bicycle leaning against a brick wall",
    "snow on the mountains above a small village",
    "a plate of pasta with tomato sauce",
    "Geburtstagskuchen mit Kerzen",
]


def _photos(size: int, n: int, seed: int = 0) -> list:
    """Photo-like pictures: gradients, shapes and noise, a few sizes and aspect ratios."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        w, h = int(size * rng.uniform(1.0, 3.0)), int(size * rng.uniform(1.0, 2.5))
        y = np.linspace(0, 1, h)[:, None, None]
        base = np.array(rng.integers(0, 256, 3)) * (1 - y) + np.array(rng.integers(0, 256, 3)) * y
        image = Image.fromarray(np.broadcast_to(base, (h, w, 3)).astype(np.uint8))
        draw = ImageDraw.Draw(image)
        for _ in range(6):
            x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
            box = (
                x0,
                y0,
                x0 + int(rng.integers(w // 8, w // 2)),
                y0 + int(rng.integers(h // 8, h // 2)),
            )
            colour = tuple(int(c) for c in rng.integers(0, 256, 3))
            (draw.ellipse if i % 2 else draw.rectangle)(box, fill=colour)
        image = image.filter(ImageFilter.GaussianBlur(1.0))
        noisy = np.asarray(image, np.float32) + rng.normal(0, 5, (h, w, 3))
        out.append(Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)))
    return out


def _install_random(spec, folder: Path, seed: int):
    """A random-weight model folder for ``spec`` (what a download would have written)."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    from clipdesk.core.models.openclip_config import (
        builtin_model_config,
        uses_hf_text,
        write_open_clip_config,
    )
    from clipdesk.core.models.testing import spread_random_model, write_hf_text_files

    folder.mkdir(parents=True)
    model_cfg = builtin_model_config(spec.arch)
    extra = {}
    if uses_hf_text(model_cfg):
        write_hf_text_files(folder, TEXTS * 10)
        extra["text_cfg"] = {
            **model_cfg["text_cfg"],
            "hf_model_name": str(folder),
            "hf_tokenizer_name": str(folder),
            "hf_model_pretrained": False,
        }
    torch.manual_seed(seed)
    model = open_clip.create_model(spec.arch, pretrained=None, **extra)
    spread_random_model(model, seed)
    write_open_clip_config(folder, model_cfg, spec.preprocess)
    save_file(
        {k: v.contiguous() for k, v in model.state_dict().items()},
        str(folder / "open_clip_model.safetensors"),
    )
    del model
    return dataclasses.replace(spec, files=(), local_dir=folder, source="imported")


def _throughput(encoder, batch: np.ndarray, seconds: float) -> float:
    import torch

    encoder.encode_image_batch(batch)  # warm-up: kernels, autocast caches
    torch.cuda.synchronize()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        encoder.encode_image_batch(batch)
        done += len(batch)
    torch.cuda.synchronize()
    return done / (time.perf_counter() - start)


def _min_cos(a: np.ndarray, b: np.ndarray) -> float:
    return float((a * b).sum(axis=1).min())


def check_model(spec, args, tmp: Path) -> dict:
    import torch

    from clipdesk.core.encoder import load_encoder
    from clipdesk.core.preprocess import preprocess_batch

    local = _install_random(spec, tmp / spec.name, args.seed)
    row: dict = {"model": spec.name, "arch": spec.arch}
    fp32 = load_encoder(local, device="cuda", precision="fp32", batch_size=args.batch)
    images = _photos(fp32.preprocess_cfg.size, 16, args.seed)
    pixels = preprocess_batch(images, fp32.preprocess_cfg)
    batch = np.concatenate([pixels] * (args.batch // len(pixels) + 1))[: args.batch]
    ref_img, ref_txt = fp32.encode_image_batch(pixels), fp32.encode_texts(TEXTS).vectors
    row["fp32_img_s"] = _throughput(fp32, batch, args.seconds)
    del fp32
    torch.cuda.empty_cache()

    fp16 = load_encoder(local, device="cuda", precision="fp16", batch_size=args.batch)
    row["fp16_img_s"] = _throughput(fp16, batch, args.seconds)
    row["cos_fp16_img"] = _min_cos(fp16.encode_image_batch(pixels), ref_img)
    row["cos_fp16_txt"] = _min_cos(fp16.encode_texts(TEXTS).vectors, ref_txt)
    row["gpu_mem_gb"] = torch.cuda.max_memory_allocated() / 2**30
    del fp16
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()

    cpu = load_encoder(local, device="cpu", precision="fp32", batch_size=8)
    few = slice(0, 4)
    row["cos_cpu_img"] = _min_cos(cpu.encode_image_batch(pixels[few]), ref_img[few])
    row["cos_cpu_txt"] = _min_cos(cpu.encode_texts(TEXTS).vectors, ref_txt)
    cosines = [v for k, v in row.items() if k.startswith("cos_")]
    row["pass"] = min(cosines) >= MIN_COSINE
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", help="registry names (default: all real models)")
    parser.add_argument("--batch", type=int, default=64, help="images per batch (default 64)")
    parser.add_argument("--seconds", type=float, default=3.0, help="timing per precision")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args(argv)

    import torch

    if not torch.cuda.is_available():
        print("gpu_check: no CUDA device on this computer; nothing to check.")
        return 0
    from clipdesk.core.models import get_model, list_models, missing_requirements

    if args.models:
        specs = [get_model(n) for n in args.models]
    else:
        seen: set[str] = set()
        specs = []
        for s in list_models():
            if s.source == "registry" and not s.is_demo and s.arch not in seen:
                seen.add(s.arch)
                specs.append(s)
    print(f"gpu_check on {torch.cuda.get_device_name(0)}, torch {torch.__version__}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="clipdesk-gpu-") as tmp:
        for spec in specs:
            missing = missing_requirements(spec)
            if missing:
                print(f"  {spec.name}: skipped, needs {', '.join(missing)}", flush=True)
                continue
            start = time.perf_counter()
            rows.append(check_model(spec, args, Path(tmp)))
            print(f"  {spec.name}: done in {time.perf_counter() - start:.0f} s", flush=True)

    head = f"{'model':24} {'fp32 img/s':>10} {'fp16 img/s':>10} {'x':>5} "
    head += f"{'cos img':>8} {'cos txt':>8} {'cpu img':>8} {'cpu txt':>8} {'GB':>5}  ok"
    print(head)
    for r in rows:
        print(
            f"{r['model']:24} {r['fp32_img_s']:10.0f} {r['fp16_img_s']:10.0f} "
            f"{r['fp16_img_s'] / r['fp32_img_s']:5.2f} {r['cos_fp16_img']:8.5f} "
            f"{r['cos_fp16_txt']:8.5f} {r['cos_cpu_img']:8.5f} {r['cos_cpu_txt']:8.5f} "
            f"{r['gpu_mem_gb']:5.1f}  {'yes' if r['pass'] else 'NO'}"
        )
    print(f"batch {args.batch}; cosines are minima over 16 photos / {len(TEXTS)} texts")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0 if all(r["pass"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
