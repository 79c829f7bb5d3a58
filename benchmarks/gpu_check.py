"""GPU check: ONNX Runtime's GPU execution provider against its CPU, as clipdesk runs them.

One prepared script for a computer with an NVIDIA GPU; it installs nothing. Run::

    python benchmarks/gpu_check.py [--pack FILE] [--no-vit] [--batch 32] [--seconds 3]

It prints ONNX Runtime's version and execution providers, and whether a GPU is seen.
Then, for tiny-shapes (its shipped ONNX towers) and a random-initialised ViT-B-32-256 pack
(``--pack FILE``; else one made here when torch and open_clip are installed, kept under
``$CLIPDESK_BENCH_DIR`` for the next run; else skipped, said so), it loads the model
through clipdesk's one encoder factory twice, ``device="cuda"`` (CUDA execution
provider, the CPU's behind it) and ``device="cpu"``, and compares their vectors on
probe photos and texts (least cosine, which must be >= 0.999) and their speed: session
start, images per second in batches, milliseconds per text query. Without a GPU
provider it says so, times the CPU alone on tiny-shapes (ViT-B-32 only with ``--pack``)
and exits 0; it exits 1 when a cosine misses the bar.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MIN_COSINE = 0.999
VIT_ARCH = "ViT-B-32-256"
PACK_NAME = "gpu-check-vit-b-32-256-random.clipdesk-pack"


def _bench_dir() -> Path:
    path = Path(os.environ.get("CLIPDESK_BENCH_DIR", "~/.cache/clipdesk-bench")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _gpu_seen() -> str:
    """What the NVIDIA driver says, or why there is nothing to say."""
    if not shutil.which("nvidia-smi"):
        return "no nvidia-smi (no NVIDIA driver here)"
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"nvidia-smi failed: {exc}"
    return out.stdout.strip() or out.stderr.strip() or "nvidia-smi printed nothing"


def _make_pack(out: Path, base: Path) -> Path | None:
    """A pack of a random ViT-B-32-256 (needs torch and open_clip, about two minutes)."""
    from clipdesk.core.models.registry import torch_available

    if not torch_available():
        return None
    os.environ["CLIPDESK_MODELS_DIR"] = str(base / "torch-models")
    from clipdesk.core.models.pack import write_pack
    from clipdesk.core.models.registry import get_model
    from clipdesk.core.models.testing import save_random_model

    save_random_model(base / "torch-models" / "random-vit", VIT_ARCH, name="random-vit", seed=0)
    print(f"making a pack of a random {VIT_ARCH} (once; kept at {out}) ...", flush=True)
    start = time.perf_counter()
    write_pack(get_model("random-vit"), out)
    print(f"  made in {time.perf_counter() - start:.0f} s", flush=True)
    return out


def _min_cos(a: np.ndarray, b: np.ndarray) -> float:
    return float((a * b).sum(axis=1).min())


def _time_encoder(encoder, pixels: np.ndarray, texts: list[str], seconds: float) -> dict:
    """Session start (first call), then steady image and text speed."""
    start = time.perf_counter()
    encoder.encode_image_batch(pixels[:1])
    encoder.encode_texts(texts[:1])
    first_s = time.perf_counter() - start
    encoder.encode_image_batch(pixels)  # warm-up: kernels, memory arenas
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or done == 0:
        encoder.encode_image_batch(pixels)
        done += len(pixels)
    images_s = done / (time.perf_counter() - start)
    start = time.perf_counter()
    for text in texts:
        encoder.encode_texts([text])
    text_ms = 1000 * (time.perf_counter() - start) / len(texts)
    return {"first_call_s": first_s, "images_per_s": images_s, "text_ms": text_ms}


def check_model(name: str, args: argparse.Namespace, gpu: bool) -> dict:
    from clipdesk.core.encoder import load_encoder
    from clipdesk.core.models.onnx_export import PROBE_TEXTS, probe_images

    row: dict = {"model": name}
    cpu = load_encoder(name, device="cpu")
    pixels = probe_images(cpu.preprocess_cfg, n=args.batch, seed=7)
    ref_img = cpu.encode_image_batch(pixels)
    ref_txt = cpu.encode_texts(PROBE_TEXTS).vectors
    row["cpu"] = _time_encoder(cpu, pixels, PROBE_TEXTS, args.seconds)
    row["cpu"]["providers"] = list(cpu.providers)
    del cpu
    if not gpu:
        return row
    cuda = load_encoder(name, device="cuda")
    row["cuda"] = _time_encoder(cuda, pixels, PROBE_TEXTS, args.seconds)
    row["cuda"]["providers"] = list(cuda.providers)
    row["cuda"]["device"] = cuda.device  # "cpu" if the CUDA provider failed to start
    row["cos_image"] = _min_cos(cuda.encode_image_batch(pixels), ref_img)
    row["cos_text"] = _min_cos(cuda.encode_texts(PROBE_TEXTS).vectors, ref_txt)
    row["pass"] = cuda.device == "cuda" and min(row["cos_image"], row["cos_text"]) >= MIN_COSINE
    return row


def _print(rows: list[dict], gpu: bool) -> None:
    head = f"{'model':28} {'device':6} {'start s':>8} {'img/s':>8} {'text ms':>8}"
    print(head + (f" {'cos img':>8} {'cos txt':>8}  ok" if gpu else ""))
    for r in rows:
        for dev in ("cpu", "cuda"):
            if dev not in r:
                continue
            t = r[dev]
            line = f"{r['model']:28} {dev:6} {t['first_call_s']:8.3f} {t['images_per_s']:8.1f} "
            line += f"{t['text_ms']:8.2f}"
            if dev == "cuda":
                ok = "yes" if r["pass"] else "NO"
                line += f" {r['cos_image']:8.5f} {r['cos_text']:8.5f}  {ok}"
                line += f"  (x{t['images_per_s'] / r['cpu']['images_per_s']:.1f} images)"
            print(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", type=Path, help="a ViT-B-32 pack to use (else made here)")
    parser.add_argument("--no-vit", action="store_true", help="tiny-shapes only")
    parser.add_argument("--batch", type=int, default=32, help="photos per batch (default 32)")
    parser.add_argument("--seconds", type=float, default=3.0, help="timing per device")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]

    import onnxruntime as ort

    from clipdesk.core.onnx_devices import available_providers

    providers = available_providers()
    gpu = "CUDAExecutionProvider" in providers
    print(f"gpu_check: onnxruntime {ort.__version__}, device {ort.get_device()}")
    print(f"  execution providers: {', '.join(providers)}")
    print(f"  GPU: {_gpu_seen()}")
    print(f"  load: {', '.join(f'{x:.2f}' for x in os.getloadavg())}, cores {os.cpu_count()}")
    if not gpu:
        print("  no CUDA execution provider in this ONNX Runtime (onnxruntime-gpu is not")
        print("  installed, or no GPU): CPU timings only, nothing to compare.")

    with tempfile.TemporaryDirectory(prefix="clipdesk-gpu-check-") as tmp:
        base = Path(tmp)
        for var in ("DATA", "CACHE", "CONFIG"):
            os.environ[f"CLIPDESK_{var}_DIR"] = str(base / var.lower())
        os.environ.pop("CLIPDESK_DEVICE", None)
        names = ["tiny-shapes"]
        pack = args.pack
        if pack is None and gpu and not args.no_vit:
            cached = _bench_dir() / PACK_NAME
            pack = cached if cached.is_file() else _make_pack(cached, base)
            if pack is None:
                print(f"  {VIT_ARCH}: skipped, no torch here to make a pack (give --pack FILE)")
        if pack is not None and not args.no_vit:
            os.environ["CLIPDESK_MODELS_DIR"] = str(base / "models")
            from clipdesk.core.models.pack import install_pack

            names.append(install_pack(pack, name="vit-b-32-random").name)
        rows = []
        for name in names:
            start = time.perf_counter()
            rows.append(check_model(name, args, gpu))
            print(f"  {name}: done in {time.perf_counter() - start:.0f} s")
    _print(rows, gpu)
    print(f"batch {args.batch}; text: one query at a time; cosines are minima, CUDA vs CPU")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0 if all(r.get("pass", True) for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
