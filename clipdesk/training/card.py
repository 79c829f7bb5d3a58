"""MODEL_CARD.md and vocabulary.txt, written beside the weights after each retrain."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from clipdesk.training.model import CONFIG_FILE, WEIGHTS_FILE
from clipdesk.training.vocab import COLOURS, HELD_OUT_PAIRS, SHAPES, vocabulary

METRIC_ROWS = (
    ("heldout_shape_acc", "zero-shot shape accuracy (held-out, all 40 pairs)"),
    ("heldout_colour_acc", "zero-shot colour accuracy (held-out, all 40 pairs)"),
    ("heldout_seen_pairs_shape_acc", "  shape accuracy, pairs seen in training"),
    ("heldout_seen_pairs_colour_acc", "  colour accuracy, pairs seen in training"),
    ("compositional_pair_acc", "compositional: unseen colour-shape pair, 40-way"),
    ("compositional_shape_acc", "compositional: shape accuracy on unseen pairs"),
    ("compositional_colour_acc", "compositional: colour accuracy on unseen pairs"),
    ("recall@1", "text-to-image recall@1 (retrieval set)"),
    ("recall@5", "text-to-image recall@5 (retrieval set)"),
    ("recall@10", "text-to-image recall@10 (retrieval set)"),
    ("recall@5_exact_image", "recall@5 counting only the captioned picture itself"),
    ("other_renderer_shape_acc", "other renderer: shape accuracy"),
    ("other_renderer_colour_acc", "other renderer: colour accuracy"),
    ("other_renderer_clean_shape_acc", "  clean drawings: shape"),
    ("other_renderer_photo_shape_acc", "  photographed: shape"),
    ("other_renderer_clean_colour_acc", "  clean drawings: colour"),
    ("other_renderer_photo_colour_acc", "  photographed: colour"),
)


def _metric_table(metrics: dict) -> list[str]:
    if not metrics:
        return ["(not evaluated in this run: `python -m clipdesk.training eval`)"]
    lines = ["| metric | value |", "|---|---|"]
    for key, label in METRIC_ROWS:
        if key in metrics:
            lines.append(f"| {label} | {metrics[key]:.3f} |")
    sizes = ", ".join(f"{k[:-2]}: {v}" for k, v in metrics.items() if k.endswith("_n"))
    lines += ["", f"Test pictures per set: {sizes}."]
    return lines


def write_card(directory: Path, cfg, metrics: dict, timing: dict, command: str = "") -> None:
    """Describe what the folder holds, how it was made and how well it does."""
    directory = Path(directory)
    (directory / "vocabulary.txt").write_text("\n".join(vocabulary()) + "\n", encoding="utf-8")
    config = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
    model_cfg = config["model_cfg"]
    size_mb = (directory / WEIGHTS_FILE).stat().st_size / 1e6
    held_out = ", ".join(f"{c} {s}" for c, s in sorted(HELD_OUT_PAIRS))
    command = command or "python -m clipdesk.training train"
    lines = [
        "# tiny-shapes (demo model)",
        "",
        "A very small CLIP that clipdesk trains itself, from scratch, on generated pictures of",
        f"coloured shapes ({', '.join(SHAPES)}; {', '.join(COLOURS)}). It exists so that the",
        "demo, the tests and a fresh install can run the real encoder path with no download.",
        "**It is a demo model**: it knows nothing about real photographs, people, places or",
        "objects other than these shapes and colours. Install a real CLIP model for real photos.",
        "",
        "## Architecture",
        "",
        "open_clip `CLIP`: a small ResNet image tower (timm's `test_resnet` through open_clip's",
        "timm adapter; timm comes with open_clip) and a text transformer with the standard CLIP",
        "BPE tokenizer (vocabulary 49408). Load it with",
        "`open_clip.create_model_and_transforms('local-dir:<this folder>')` and",
        "`open_clip.get_tokenizer('local-dir:<this folder>')`; `tiny-shapes.json` is the bare",
        "architecture, for `open_clip.add_model_config`.",
        "",
        "```json",
        json.dumps(model_cfg, indent=2),
        "```",
        "",
        f"Weights: `{WEIGHTS_FILE}`, fp16, {size_mb:.1f} MB. Preprocessing: resize the shortest",
        f"side to {config['preprocess_cfg']['size']} px (bicubic), centre crop, OpenAI mean/std.",
        "",
        "## Training",
        "",
        "Contrastive (symmetric cross-entropy over the image-text similarity matrix), learnable",
        "logit scale from ln(1/0.07) clamped at 100, AdamW, linear warm-up then cosine decay.",
        "Pictures: 1-3 shapes, small or large, rotated, filled or outlined, on plain, gradient",
        "or noisy backgrounds, many shades per colour, with drop shadows and light; most are",
        "then 'photographed' (tilt, exposure, white balance, vignetting, noise, blur, JPEG).",
        "They are drawn at 96 to 400 px and scaled down to the model's input, as photos are:",
        "trained on 96-px drawings alone, the model named the same scenes drawn at photo size",
        "far worse than drawn small.",
        "Captions come in many phrasings, including shape-only and colour-only ones and bare",
        f"words. The first {cfg.warmup_share:.0%} of the steps show single objects captioned by",
        "one attribute in one or two words ('circle', 'red'): from scratch, with full",
        "captions, both towers latch onto colour and learn shape very late. Afterwards",
        f"{cfg.partial_caption_share:.0%} of the pictures with several objects are captioned by",
        "one of them ('a triangle', 'something red'), as a zero-shot tag asks: trained on",
        "complete descriptions alone, the model scored a triangle among other shapes far",
        "below a triangle on its own, and tagged busy pictures poorly.",
        f"Colour-shape pairs never shown in training (compositional test): {held_out}.",
        "",
        "Retrain (reproducible, fixed seeds; writes this folder):",
        "",
        "```",
        command,
        "```",
        "",
        "Settings: " + json.dumps(dataclasses.asdict(cfg)),
        "",
        "Wall time of the run that produced these weights (seconds, two CPU cores): "
        + json.dumps(timing),
        "",
        "## Held-out results",
        "",
        "Zero-shot with prompt ensembling (5 templates per class). Test pictures are drawn",
        "with seeds never used in training, at photo-like sizes, half of them photographed.",
        "'Other renderer' pictures come from a separate signed-distance renderer with its own",
        "palette, backgrounds and camera damage, never used in training. Retrieval: scenes of",
        "1-3 objects (unseen pairs included), each caption ranks the 500 pictures; a hit is a",
        "picture in the top k whose caption is the query's (several pictures can share one).",
        "",
        *_metric_table(metrics),
        "",
        "## Limits",
        "",
        "- Finding one particular colour-shape pair among several objects in a picture is",
        "  much weaker than naming a single object: binding colours to shapes is what a model",
        "  this small learns least.",
        "- Colours of pairs never seen in training are less reliable than their shapes.",
        "- Objects smaller than about a tenth of the picture's short side are often missed",
        "  (the image tower sees 64 x 64 pixels).",
        "- Searching the demo's photo-like library is harder than the sets above: measure it",
        "  with `benchmarks/bench_demo_library.py` (mean average precision per query).",
        "",
        "## Licence",
        "",
        "Weights and code: same licence as clipdesk (MIT). Trained only on generated data.",
    ]
    (directory / "MODEL_CARD.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
