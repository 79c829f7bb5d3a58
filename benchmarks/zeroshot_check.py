"""Does ONNX Runtime change what the trained tiny-shapes model sees? Zero-shot, side by side.

Random weights prove the arithmetic; only a trained model shows whether small numeric
differences flip decisions. The held-out zero-shot sets of ``clipdesk.training`` are run
through the torch model and through its checked ONNX export (what clipdesk would use),
and the accuracies and the share of identical predictions are compared.

Run::

    .venv/bin/python benchmarks/zeroshot_check.py [MODEL_DIR] [--scale 0.5]

MODEL_DIR defaults to the bundled ``resources/models/tiny-shapes``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import benchlib  # noqa: F401  (puts the repository on sys.path)

NAME = "tiny-shapes-check"


class OnnxClip:
    """The two methods the evaluation calls, answered by an ``OnnxEncoder``."""

    def __init__(self, encoder) -> None:
        self.encoder = encoder

    def eval(self) -> OnnxClip:
        return self

    def encode_image(self, pixels, normalize: bool = True):
        import torch

        return torch.from_numpy(self.encoder.encode_image_batch(pixels.numpy()))

    def encode_text(self, tokens, normalize: bool = True):
        import numpy as np
        import torch

        session = self.encoder.session("text")
        out = session.run(None, {"tokens": np.asarray(tokens.numpy(), dtype=np.int64)})[0]
        out = out / np.linalg.norm(out, axis=1, keepdims=True)
        return torch.from_numpy(out.astype(np.float32))


def _install(directory: Path, models: Path) -> None:
    from clipdesk.core.models.manifest import Manifest, file_record, sha256_file, write_manifest

    target = models / NAME
    shutil.copytree(directory, target)
    weights = target / "open_clip_model.safetensors"
    record = {weights.name: file_record(weights, sha256_file(weights))}
    write_manifest(target, Manifest(NAME, "custom", "trained", "import", record))


def check_tiny_shapes(directory: Path | None = None, scale: float = 0.5) -> list[str]:
    """Lines of text: accuracies through torch and ONNX, and prediction agreement."""
    from clipdesk.core import paths

    directory = directory or paths.resources_dir() / "models" / "tiny-shapes"
    if not (directory / "open_clip_model.safetensors").is_file():
        return [f"no trained tiny-shapes model at {directory}: zero-shot check skipped"]
    with tempfile.TemporaryDirectory() as tmp:
        old = {k: os.environ.get(k) for k in ("CLIPDESK_MODELS_DIR", "CLIPDESK_CACHE_DIR")}
        os.environ["CLIPDESK_MODELS_DIR"] = str(Path(tmp) / "models")
        os.environ["CLIPDESK_CACHE_DIR"] = str(Path(tmp) / "cache")
        try:
            _install(directory, Path(tmp) / "models")
            return _compare(scale)
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def _variants(torch_enc) -> dict[str, object]:
    """ONNX encoders of the model with both towers in fp32, and both in int8."""
    from clipdesk.core.models.onnx_export import export_encoder
    from clipdesk.core.onnx_backend import OnnxEncoder
    from clipdesk.core.onnx_cache import export_dir

    meta = export_encoder(torch_enc, keep_all=True)
    out = {}
    for precision in ("float32", "int8"):
        forced = dict(meta)
        for tower in ("image", "text"):
            forced[tower] = next(
                c for c in meta["checks"][tower] if c["precision"] == precision and "file" in c
            )
        out[f"onnx {precision}"] = OnnxEncoder(
            torch_enc.spec, export_dir(torch_enc.model_key), forced
        )
    return out


def _compare(scale: float) -> list[str]:
    import numpy as np

    from clipdesk.core.models import resolve_model
    from clipdesk.core.models.onnx_export import describe, probe_images
    from clipdesk.core.onnx_cache import export_dir, read_export
    from clipdesk.core.torch_encoder import load_torch_encoder
    from clipdesk.training.evaluate import evaluate_model

    torch_enc = load_torch_encoder(resolve_model(NAME), device="cpu")
    size = torch_enc.preprocess_cfg.size
    variants = _variants(torch_enc)
    results = {"torch": evaluate_model(torch_enc.model, torch_enc.tokenizer, size, scale=scale)}
    for label, enc in variants.items():
        results[label] = evaluate_model(OnnxClip(enc), torch_enc.tokenizer, size, scale=scale)
    # How far apart different pictures are, against how far ONNX moves one picture.
    vecs = torch_enc.encode_image_batch(probe_images(torch_enc.preprocess_cfg, 12, seed=5))
    sims = vecs @ vecs.T
    spread = float(np.median(1 - sims[~np.eye(len(vecs), dtype=bool)]))
    meta = read_export(export_dir(torch_enc.model_key)) or {}
    lines = [
        f"tiny-shapes, eval scale {scale}; clipdesk's check chose: {describe(meta)}",
        f"median 1-cos between different probe pictures: {spread:.5f}",
        "",
        f"  {'metric':<36} " + " ".join(f"{k:>13}" for k in results),
    ]
    worst = dict.fromkeys(variants, 0.0)
    for key in sorted(results["torch"]):
        ref = results["torch"][key]
        if key.endswith("_n") or not isinstance(ref, float):
            continue
        cells = [f"{ref:13.4f}"]
        for label in variants:
            diff = results[label][key] - ref
            worst[label] = max(worst[label], abs(diff))
            cells.append(f"{results[label][key]:7.4f} ({diff:+.3f})".rjust(13))
        lines.append(f"  {key:<36} " + " ".join(cells))
    lines.append("largest difference: " + ", ".join(f"{k} {v:.4f}" for k, v in worst.items()))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("directory", nargs="?", type=Path)
    parser.add_argument("--scale", type=float, default=0.5, help="size of the eval sets")
    args = parser.parse_args()
    print("\n".join(check_tiny_shapes(args.directory, args.scale)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
