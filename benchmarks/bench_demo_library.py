"""How well the demo model searches a photo-like sample library: mean average precision.

Run:  .venv/bin/python benchmarks/bench_demo_library.py [--photos 200] [--seed 99]
      [--model-dir resources/models/tiny-shapes]

The training evaluation (``python -m clipdesk.training eval``) measures single objects
drawn at the model's own resolution. Users search something else: ``clipdesk demo``'s
library of full-size, partly photographed pictures, some with several or small objects.
This indexes such a library through the real pipeline (decode, preprocess, encode, the
vector index) and asks, for every colour and every shape, "a {colour} shape" / "a {shape}",
scoring the whole ranking by average precision against what each picture holds.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from clipdesk.core.progress import run_to_end as run


def average_precision(ranked: list[str], truth: set[str]) -> float:
    hits, total = 0, 0.0
    for rank, path in enumerate(ranked, 1):
        if path in truth:
            hits += 1
            total += hits / rank
    return total / max(len(truth), 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--seed", type=int, default=99)
    parser.add_argument("--model-dir", help="a tiny-shapes folder other than the bundled one")
    args = parser.parse_args()

    from clipdesk.core.catalog import Catalog
    from clipdesk.core.encoder import load_encoder
    from clipdesk.core.library import Library
    from clipdesk.core.models.registry import ModelSpec, get_model
    from clipdesk.core.tags.prompts import with_article
    from clipdesk.training.shapes import COLOURS, SHAPES, write_sample_library

    base = Path(tempfile.mkdtemp(prefix="bench-demo-"))
    os.environ.setdefault("CLIPDESK_CACHE_DIR", str(base / "cache"))
    if args.model_dir:
        spec = ModelSpec(
            name="tiny-shapes", arch="tiny-shapes", pretrained="clipdesk",
            local_dir=Path(args.model_dir), is_demo=True, source="bundled",
        )  # fmt: skip
    else:
        spec = get_model("tiny-shapes")
    records = write_sample_library(base / "photos", args.photos, seed=args.seed)
    library = Library(base, Catalog.open(base / "catalog.db"), encoder=load_encoder(spec))
    run(library.index([base / "photos"], workers=1))
    by_path = {os.fspath(Path(r.path).resolve()): r for r in records}
    print(f"{args.photos} sample photos (seed {args.seed}), model {library.encoder.model_key}")
    for group, names, query in (("colour", COLOURS, "{} shape"), ("shape", SHAPES, "{}")):
        scores = []
        for name in names:
            truth = {
                path
                for path, r in by_path.items()
                if name in (r.colours if group == "colour" else r.shapes)
            }
            if not truth:
                continue
            text = with_article(query.format(name))
            hits = library.search(text, k=args.photos).hits
            scores.append(average_precision([h.path for h in hits], truth))
            print(f"  {text:<16} {len(truth):>4} photos  AP {scores[-1]:.3f}")
        print(f"{group} mAP {float(np.mean(scores)):.3f}")
    library.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
