"""An ONNX pack of a random-initialised ViT-B-32: export, import, first use without torch.

Random weights cost what trained ones cost. Times, each whole:

- ``clipdesk models export`` work (``write_pack``: export, quantise, check against
  open_clip in batches), in this process;
- ``clipdesk models import FILE`` in a new process with torch unimportable;
- a cold ``clipdesk embed`` of 16 photos and of a text in such a process;

and the pack's size and the least cosine of its vectors to open_clip's.

Run::

    .venv/bin/python benchmarks/bench_pack.py [--arch ViT-B-32]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from benchlib import table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from lite_env import LiteRunner  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="ViT-B-32")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clipdesk-bench-pack-") as tmp:
        base = Path(tmp)
        os.environ["CLIPDESK_MODELS_DIR"] = str(base / "torch-models")
        os.environ["CLIPDESK_CACHE_DIR"] = str(base / "torch-cache")
        from PIL import Image

        from clipdesk.core.encoder import load_encoder
        from clipdesk.core.models.pack import write_pack
        from clipdesk.core.models.registry import get_model
        from clipdesk.core.models.testing import save_random_model
        from clipdesk.training.library import write_sample_library

        save_random_model(base / "torch-models" / "random", args.arch, name="random", seed=0)
        pack = base / "random.clipdesk-pack"
        start = time.perf_counter()
        manifest = write_pack(get_model("random"), pack)
        export_s = time.perf_counter() - start

        lite = LiteRunner(base / "lite")
        start = time.perf_counter()
        out = lite.run("models", "import", str(pack))
        import_s = time.perf_counter() - start
        assert out.returncode == 0, out.stderr

        photos = base / "photos"
        write_sample_library(photos, 16, seed=1)
        files = sorted(str(p) for p in photos.rglob("*") if p.suffix in (".jpg", ".png"))
        start = time.perf_counter()
        out = lite.run("--model", "random", "embed", *files, "--out", str(base / "img.npy"))
        images_s = time.perf_counter() - start
        assert out.returncode == 0, out.stderr
        start = time.perf_counter()
        text = "a photo of a dog on a beach"
        out = lite.run("--model", "random", "embed", "--text", text, "--out", str(base / "t.npy"))
        text_s = time.perf_counter() - start
        assert out.returncode == 0, out.stderr
        assert not lite.refused()

        reference = load_encoder("random", device="cpu", backend="torch")
        images = []
        for f in files:
            with Image.open(f) as im:
                images.append(im.convert("RGB"))
        ref_images = reference.encode_images(images)
        ref_text = reference.encode_texts([text]).vectors
        image_cos = float((np.load(base / "img.npy") * ref_images).sum(1).min())
        text_cos = float((np.load(base / "t.npy") * ref_text).sum(1).min())
        rows = [
            ["export + check (torch)", f"{export_s:.1f} s"],
            ["pack size", f"{pack.stat().st_size / 1e6:.1f} MB"],
            ["towers chosen", json.dumps(manifest["checks"])],
            ["models import, no torch", f"{import_s:.1f} s"],
            ["cold embed of 16 photos, no torch", f"{images_s:.1f} s"],
            ["cold embed of a text, no torch", f"{text_s:.1f} s"],
            ["least cosine to open_clip, photos", f"{image_cos:.5f}"],
            ["least cosine to open_clip, text", f"{text_cos:.5f}"],
        ]
    print(f"ONNX pack of a random {args.arch}, {os.cpu_count()} CPUs")
    print(table(["what", "figure"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
