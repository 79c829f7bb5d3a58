"""Encoder speed and fidelity per model and backend: torch fp32 / bf16, ONNX fp32 / int8.

For each architecture in the registry (random-initialised weights: the same compute as
the real ones), the image tower's time per photo in batches of 16, the text tower's time
per query, the time to make the model ready, and each variant's cosine to torch fp32 on
probe inputs it was not checked on. Times are wall and CPU milliseconds (all threads);
``2-core photos/s`` is ``2000 / CPU ms``, the rate on two otherwise idle cores. With a
trained tiny-shapes model (``--zero-shot``: the bundled one, or ``--tiny-shapes DIR``) it
also compares zero-shot accuracy through torch and ONNX (``zeroshot_check.py``).

Run::

    .venv/bin/python benchmarks/bench_encoders.py           # default + 2 more models
    .venv/bin/python benchmarks/bench_encoders.py --quick   # default model only
    .venv/bin/python benchmarks/bench_encoders.py --all     # also ViT-L-14-336 (slow)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import benchlib
import numpy as np
from benchlib import bench_dir, ensure_random_model, median, table, use_bench_dirs

ARCHS = {
    "ViT-B-32-256": "default model (ViT-B-32-256-datacomp)",
    "ViT-B-32-quickgelu": "ViT-B-32-openai",
    "MobileCLIP2-S0": "MobileCLIP2-S0",
}
SLOW_ARCHS = {"ViT-L-14-336-quickgelu": "ViT-L-14-336-openai"}
QUERIES = ["a dog on a beach", "birthday party", "red car in the snow at night", "receipts"]


def _norm(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def image_ms(run, pixels: np.ndarray, batch: int) -> tuple[float, float]:
    """Wall and CPU milliseconds per photo (best of two passes)."""
    run(pixels[:2])  # warm-up
    best = (float("inf"), float("inf"))
    for _ in range(2):
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(0, len(pixels), batch):
            run(pixels[i : i + batch])
        took = (
            (time.perf_counter() - wall) / len(pixels),
            (time.process_time() - cpu) / len(pixels),
        )
        best = min(best, took)
    return 1000 * best[0], 1000 * best[1]


def text_ms(run, tokens: np.ndarray) -> tuple[float, float]:
    """Wall and CPU milliseconds per query, one query at a time (medians)."""
    run(tokens[:1])
    walls, cpus = [], []
    for _ in range(3):
        for i in range(len(tokens)):
            wall, cpu = time.perf_counter(), time.process_time()
            run(tokens[i : i + 1])
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
    return 1000 * median(walls), 1000 * median(cpus)


def bench_model(arch: str, label: str, quick: bool) -> list[list[object]]:
    import torch

    from clipdesk.core.models import resolve_model
    from clipdesk.core.models.onnx_export import export_encoder, probe_images
    from clipdesk.core.onnx_cache import make_session, read_export
    from clipdesk.core.torch_encoder import load_torch_encoder

    name = ensure_random_model(arch, f"bench-{arch.lower()}")
    started = time.perf_counter()
    fp32 = load_torch_encoder(resolve_model(name), device="cpu")
    load_s = time.perf_counter() - started
    batch = 4 if "L-14" in arch else 16
    n = batch * (1 if quick or "L-14" in arch else 2)
    pixels = probe_images(fp32.preprocess_cfg, n, seed=42)
    ref_img = fp32.encode_image_batch(pixels)
    tokens = np.asarray(fp32.tokenizer(QUERIES), dtype=np.int64)
    ref_txt = fp32.encode_text_list(QUERIES)

    def torch_runner(enc, tower: str):
        fn = enc.model.encode_image if tower == "image" else enc.model.encode_text

        def run(x: np.ndarray) -> np.ndarray:
            # The encoder's own path: autocast to its precision, normalised fp32 out.
            return enc._run(fn, torch.from_numpy(np.ascontiguousarray(x)))

        return run

    rows = []

    def row(backend: str, img_run, txt_run, ready_s: float) -> None:
        img, img_cpu = image_ms(img_run, pixels, batch)
        txt, txt_cpu = text_ms(txt_run, tokens) if txt_run else (float("nan"), float("nan"))
        cos_i = float((_norm(img_run(pixels)) * ref_img).sum(1).min())
        cos_t = float((_norm(txt_run(tokens)) * ref_txt).sum(1).min()) if txt_run else float("nan")
        rows.append(
            [label, backend, f"{img:.1f}", f"{img_cpu:.1f}", f"{2000 / img_cpu:.1f}",
             f"{txt:.1f}", f"{txt_cpu:.1f}", f"{cos_i:.5f}", f"{cos_t:.5f}", f"{ready_s:.2f}"]
        )  # fmt: skip
        print("  " + " | ".join(str(c) for c in rows[-1]), flush=True)

    row("torch fp32", torch_runner(fp32, "image"), torch_runner(fp32, "text"), load_s)
    started = time.perf_counter()
    bf16 = load_torch_encoder(resolve_model(name), device="cpu", precision="bf16")
    bf16_s = time.perf_counter() - started
    row("torch bf16", torch_runner(bf16, "image"), torch_runner(bf16, "text"), bf16_s)
    del bf16
    directory = bench_dir() / "exports" / fp32.model_key.replace("@", "_")
    meta = read_export(directory)
    if meta is None:
        started = time.perf_counter()
        meta = export_encoder(fp32, keep_all=True, directory=directory)
        print(f"  exported in {time.perf_counter() - started:.0f} s (once)")
    for precision in ("float32", "int8"):
        runners = {}
        ready = 0.0
        for tower, key in (("image", "pixels"), ("text", "tokens")):
            entry = next(
                (c for c in meta["checks"][tower] if c["precision"] == precision and "file" in c),
                None,
            )
            if entry is None:
                runners[tower] = None
                continue
            started = time.perf_counter()
            session = make_session(directory / entry["file"])
            ready += time.perf_counter() - started
            runners[tower] = (lambda s, k: lambda x: s.run(None, {k: x})[0])(session, key)
        label_p = "fp32" if precision == "float32" else "int8"
        if runners.get("image"):
            row(f"ONNX {label_p}", runners["image"], runners.get("text"), ready)
    chosen = ", ".join(
        f"{t} {meta[t]['precision']}" if meta.get(t) else f"{t} torch" for t in ("image", "text")
    )
    print(f"  clipdesk would use: {chosen}")
    rows.append([label, "-> clipdesk uses", chosen, *[""] * 7])
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="default model only")
    parser.add_argument("--all", action="store_true", help="also ViT-L-14-336 (minutes)")
    parser.add_argument("--zero-shot", action="store_true", help="also the tiny-shapes check")
    parser.add_argument("--tiny-shapes", type=Path, help="a trained tiny-shapes model folder")
    args = parser.parse_args()
    info = benchlib.print_conditions("encoder benchmark")
    archs = dict(list(ARCHS.items())[:1] if args.quick else ARCHS)
    if args.all:
        archs.update(SLOW_ARCHS)
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        use_bench_dirs(Path(tmp))
        for arch, label in archs.items():
            print(f"{label} ({arch}):")
            try:
                rows.extend(bench_model(arch, label, args.quick))
            except Exception as exc:  # one architecture failing must not hide the others
                print(f"  failed: {type(exc).__name__}: {exc}")
                rows.append([label, f"failed: {exc}"[:60], *[""] * 8])
        lines: list[str] = []
        if args.zero_shot or args.tiny_shapes:
            from zeroshot_check import check_tiny_shapes

            lines = check_tiny_shapes(args.tiny_shapes)
    headers = ["model", "backend", "image ms/photo", "CPU ms/photo", "2-core photos/s",
               "text ms/query", "CPU ms/query", "cos image", "cos text", "ready s"]  # fmt: skip
    print()
    print(table(headers, rows))
    print()
    print("\n".join(lines))
    benchlib.save_results("encoders", {"conditions": info, "rows": rows, "tiny_shapes": lines})
    return 0


if __name__ == "__main__":
    sys.exit(main())
