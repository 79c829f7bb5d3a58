"""Auto-tagging quality on held-out tiny-shapes pictures whose contents are known.

Run:  .venv/bin/python benchmarks/bench_tags.py [--photos 300] [--trials 5] [--json]

Two generated libraries (never seen in training): A, in which the user gives teaching
examples, and B, on which teaching is judged. Both are indexed into one library and
tagged, as a user would, with calibrated zero-shot thresholds. It prints:

- zero-shot precision, recall and F1 over every (photo, tag) pair, for the calibrated
  thresholds (pooled over tags) and for the best single fixed cut-off on the cosine score,
  on the margin over the neutral prompt and on the margin over the vocabulary's average
  caption (references the calibration chooses between), each chosen with hindsight,
  knowing the truth; and for thresholds from each tag's own mixture, not pooled;
- per tag, F1 on B of zero-shot and of the tag taught from 5 photos of A that carry it
  and 5 that do not, picked at random ("random") or as a user correcting the tags would
  pick them ("corrected": photos zero-shot missed and photos it tagged wrongly), each the
  mean over ``--trials`` draws;
- a custom tag ("red circle") taught from 5 example photos only, against the same words
  as a zero-shot prompt;
- the embeddings' own limit: probes trained on the truth of every photo of A, judged on B.
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

from clipdesk.core.progress import run_to_end as run


def prf(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    tp = float((pred & truth).sum())
    p = tp / max(float(pred.sum()), 1.0)
    r = tp / max(float(truth.sum()), 1.0)
    return p, r, 2 * tp / max(float(pred.sum() + truth.sum()), 1.0)


def best_fixed(values: np.ndarray, truth: np.ndarray) -> tuple[float, tuple[float, float, float]]:
    """The single cut-off on ``values`` (photos x tags) with the best micro F1, and its scores."""
    best = (0.0, (0.0, 0.0, -1.0))
    for cut in np.unique(np.round(values, 4)):
        scores = prf(values >= cut, truth)
        if scores[2] > best[1][2]:
            best = (float(cut), scores)
    return best


def open_library(directory: Path, model_dir: str | None):
    from clipdesk.core.catalog import Catalog
    from clipdesk.core.encoder import load_encoder
    from clipdesk.core.library import Library
    from clipdesk.core.models.registry import ModelSpec, get_model

    if model_dir:
        spec = ModelSpec(
            name="tiny-shapes", arch="tiny-shapes", pretrained="clipdesk",
            local_dir=Path(model_dir), is_demo=True, source="bundled",
        )  # fmt: skip
    else:
        spec = get_model("tiny-shapes")
    encoder = load_encoder(spec, device="cpu")
    directory.mkdir(parents=True, exist_ok=True)
    return Library(directory, Catalog.open(directory / "catalog.db"), encoder=encoder)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=300, help="pictures in each of A and B")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument(
        "--trials", type=int, default=5, help="random draws of 5+5 examples (0: no teaching)"
    )
    parser.add_argument("--model-dir", help="a tiny-shapes folder other than the bundled one")
    parser.add_argument("--workdir", help="keep files here (default: a temporary folder)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from clipdesk.training.shapes import write_sample_library

    base = Path(args.workdir or tempfile.mkdtemp(prefix="bench-tags-"))
    os.environ.setdefault("CLIPDESK_CACHE_DIR", str(base / "cache"))
    started = time.monotonic()
    records = {}
    for part, seed in (("A", args.seed), ("B", args.seed + 1)):
        for r in write_sample_library(base / part, args.photos, seed=seed):
            key = os.fspath(Path(r.path).resolve())
            records[key] = (part, set(r.shapes) | set(r.colours), set(r.objects))
    library = open_library(base / "library", args.model_dir)
    run(library.index([base / "A", base / "B"], workers=1))
    service = library.tags
    run(service.run())
    tags = [t.name for t in service.vocabulary()]
    store = service.store
    fps, images = store.library_vectors(library.encoder.model_key)
    files = store.paths_for(fps)
    fp_path = {fp: files[fp][0].fspath for fp in fps}
    part = np.array([records[fp_path[fp]][0] for fp in fps])
    truth = np.array([[t in records[fp_path[fp]][1] for t in tags] for fp in fps])
    tag_id = {t: store.tag(t).id for t in tags}

    def predicted(name: str) -> np.ndarray:
        have = set(store.fingerprints_with_tag(tag_id[name]))
        return np.array([fp in have for fp in fps])

    zero = np.stack([predicted(t) for t in tags], axis=1)
    features = service.cache.features(
        library.encoder.model_key,
        lambda texts: library.encoder.encode_texts(texts).vectors,
        [t for t in service.vocabulary()],
        service.prompts(),
    )
    from clipdesk.core.tags.zeroshot import zero_shot_scores

    scores, baseline = zero_shot_scores(images, features)
    out: dict[str, object] = {"photos": len(fps), "tags": tags}
    out["calibrated"] = dict(zip(("precision", "recall", "f1"), prf(zero, truth), strict=True))
    out["calibrated_macro_f1"] = float(
        np.mean([prf(zero[:, j], truth[:, j])[2] for j in range(len(tags))])
    )
    cut, fixed = best_fixed(scores, truth)
    out["best_fixed_cosine"] = {
        "threshold": cut,
        **dict(zip(("precision", "recall", "f1"), fixed, strict=True)),
    }
    cut_m, fixed_m = best_fixed(scores - baseline[:, None], truth)
    out["best_fixed_margin"] = {
        "threshold": cut_m,
        **dict(zip(("precision", "recall", "f1"), fixed_m, strict=True)),
    }
    from clipdesk.core.tags.calibration import calibrate
    from clipdesk.core.tags.job import choose_reference, reference_candidates, reference_vector

    relative = scores - (images @ reference_vector(features.vectors, features.neutral))[:, None]
    cut_r, fixed_r = best_fixed(relative, truth)
    out["best_fixed_vocabulary_margin"] = {
        "threshold": cut_r,
        **dict(zip(("precision", "recall", "f1"), fixed_r, strict=True)),
    }
    # The reference the product chose (vocabulary average, neutral captions or none).
    reference, _ = choose_reference(features.vectors, features.neutral, images)
    chosen = scores - (images @ reference)[:, None]
    out["reference"] = next(
        name
        for name, vector in reference_candidates(features.vectors, features.neutral)
        if np.array_equal(vector, reference)
    )
    own = np.stack(
        [chosen[:, j] >= calibrate(chosen[:, j], 0 * chosen[:, j]).threshold
         for j in range(len(tags))], axis=1,
    )  # fmt: skip
    out["per_tag_own_mixture"] = dict(
        zip(("precision", "recall", "f1"), prf(own, truth), strict=True)
    )
    objects = [records[fp_path[fp]][2] for fp in fps]
    out["recall_by_objects"] = _recall_by_objects(zero, tags, objects)
    out["per_tag_zero_shot"] = {
        t: dict(zip(("precision", "recall", "f1"), prf(zero[:, j], truth[:, j]), strict=True))
        for j, t in enumerate(tags)
    }

    # Teaching: 5 + 5 examples from A, judged on B.
    rng = np.random.default_rng(args.seed)
    in_a, in_b = np.flatnonzero(part == "A"), np.flatnonzero(part == "B")
    out["supervised_ceiling"] = _ceiling(images, truth, in_a, in_b)
    out["calibrated_on_b"] = dict(
        zip(("precision", "recall", "f1"), prf(zero[in_b], truth[in_b]), strict=True)
    )
    teach: dict[str, dict[str, float]] = {}
    for j, name in enumerate(tags if args.trials else []):
        pos = [i for i in in_a if truth[i, j]]
        neg = [i for i in in_a if not truth[i, j]]
        if len(pos) < 5 or len(neg) < 5:
            continue
        # Corrections: the user confirms photos zero-shot missed and rejects photos it
        # tagged wrongly (topped up with random ones when A has fewer than 5 of either).
        missed = [i for i in pos if not zero[i, j]]
        wrong = [i for i in neg if zero[i, j]]
        learned: dict[str, list[float]] = {"random": [], "corrections": []}
        for _ in range(args.trials):
            for protocol in learned:
                if protocol == "random":
                    yes_rows = list(rng.choice(pos, 5, replace=False))
                    no_rows = list(rng.choice(neg, 5, replace=False))
                else:
                    yes_rows = _top_up(rng, missed, [i for i in pos if zero[i, j]])
                    no_rows = _top_up(rng, wrong, [i for i in neg if not zero[i, j]])
                yes = [fp_path[fps[i]] for i in yes_rows]
                no = [fp_path[fps[i]] for i in no_rows]
                service.teach(name, yes, no)
                run(service.run([name]))
                learned[protocol].append(prf(predicted(name)[in_b], truth[in_b, j])[2])
                for path in yes + no:
                    service.forget(name, path)
        teach[name] = {
            "zero_shot_f1": prf(zero[in_b, j], truth[in_b, j])[2],
            "taught_f1": float(np.mean(learned["random"])),
            "corrected_f1": float(np.mean(learned["corrections"])),
        }
    out["teaching"] = teach
    if teach:
        out["teaching_mean"] = {
            key: float(np.mean([v[key] for v in teach.values()]))
            for key in ("zero_shot_f1", "taught_f1", "corrected_f1")
        }

    # A custom tag from 5 examples only, against its words as a zero-shot prompt.
    want = np.array([("red", "circle") in records[fp_path[fp]][2] for fp in fps])
    custom_rng = np.random.default_rng(args.seed + 1)  # the same draws whatever ran before
    out["custom_tag"] = (
        _custom(service, store, fps, fp_path, want, in_a, in_b, custom_rng, args.trials)
        if args.trials
        else {}
    )
    out["elapsed_s"] = round(time.monotonic() - started, 1)
    library.close()
    _print(out, args.json)
    return 0


def _top_up(rng, first: list[int], rest: list[int], want: int = 5) -> list[int]:
    """``want`` rows: as many of ``first`` as there are (at random), then of ``rest``."""
    take = list(rng.choice(first, min(want, len(first)), replace=False)) if first else []
    return take + list(rng.choice(rest, want - len(take), replace=False))


def _recall_by_objects(zero, tags, objects) -> dict[str, dict[str, float]]:
    """Zero-shot recall of each object's colour and shape, by how many objects its photo
    shows: what a small model loses to a second and third thing in the picture."""
    out: dict[str, dict[str, float]] = {}
    for count in sorted({len(o) for o in objects}):
        found = {"colour": [], "shape": []}
        for row, photo in enumerate(objects):
            if len(photo) == count:
                for colour, shape in photo:
                    found["colour"].append(zero[row, tags.index(colour)])
                    found["shape"].append(zero[row, tags.index(shape)])
        out[str(count)] = {k: float(np.mean(v)) for k, v in found.items()}
    return out


def _ceiling(images, truth, in_a, in_b) -> dict[str, float]:
    """What the embeddings can tell at best: a probe per tag trained on the truth of
    every photo of A, judged on B. Zero-shot tagging cannot beat what is not there."""
    from clipdesk.core.tags.probe import train_probe

    center = images.mean(axis=0)
    found = np.zeros((len(in_b), truth.shape[1]), dtype=bool)
    for j in range(truth.shape[1]):
        pos, neg = images[in_a][truth[in_a, j]], images[in_a][~truth[in_a, j]]
        if len(pos) >= 2 and len(neg) >= 2:
            probe = train_probe(pos, neg, center=center)
            found[:, j] = probe.probabilities(images[in_b]) >= 0.5
    return dict(zip(("precision", "recall", "f1"), prf(found, truth[in_b]), strict=True))


def _custom(service, store, fps, fp_path, want, in_a, in_b, rng, trials) -> dict[str, float]:
    positives = [i for i in in_a if want[i]]
    if len(positives) < 5:
        return {}
    service.add_tag("red circle (words)", "a red circle")
    run(service.run(["red circle (words)"]))
    words = set(store.fingerprints_with_tag(store.tag("red circle (words)").id))
    zero_f1 = prf(np.array([fps[i] in words for i in in_b]), want[in_b])[2]
    taught = []
    for trial in range(trials):
        name = f"red circle {trial}"
        yes = [fp_path[fps[i]] for i in rng.choice(positives, 5, replace=False)]
        service.teach(name, yes)
        run(service.run([name]))
        have = set(store.fingerprints_with_tag(store.tag(name).id))
        taught.append(prf(np.array([fps[i] in have for i in in_b]), want[in_b])[2])
    return {"zero_shot_prompt_f1": zero_f1, "taught_from_5_f1": float(np.mean(taught))}


def _row(label: str, *values: float) -> str:
    return f"  {label:<40}" + "".join(f"{v:>10.3f}" for v in values)


def _print(out: dict, as_json: bool) -> None:
    if as_json:
        json.dump(out, sys.stdout, indent=1)
        print()
        return
    c, f, m = out["calibrated"], out["best_fixed_cosine"], out["best_fixed_margin"]
    r, own = out["best_fixed_vocabulary_margin"], out["per_tag_own_mixture"]
    print(f"{out['photos']} held-out photos, {len(out['tags'])} tags")
    print(f"{'zero-shot, every (photo, tag) pair':<42}{'precision':>10}{'recall':>10}{'F1':>10}")
    for label, v in (
        ("calibrated thresholds", c),
        (f"best fixed cosine cut-off ({f['threshold']:.4f})", f),
        (f"best fixed margin cut-off ({m['threshold']:+.4f})", m),
        (f"best fixed vocabulary margin ({r['threshold']:+.4f})", r),
        ("each tag's own mixture (not pooled)", own),  # against the chosen reference
    ):
        print(_row(label, v["precision"], v["recall"], v["f1"]))
    print(f"  calibrated macro F1 over tags: {out['calibrated_macro_f1']:.3f}")
    print(f"  reference the calibration chose: {out['reference']}")
    for label, key in (
        ("calibrated zero-shot, B only", "calibrated_on_b"),
        ("probes trained on all of A's truth, on B", "supervised_ceiling"),
    ):
        v = out[key]
        print(_row(label, v["precision"], v["recall"], v["f1"]))
    for count, v in out["recall_by_objects"].items():
        print(f"  recall with {count} object(s) in the photo: colour {v['colour']:.3f}, "
              f"shape {v['shape']:.3f}")  # fmt: skip
    if out["teaching"]:
        print(f"{'teaching from 5+5 photos of A, F1 on B':<42}{'zero-shot':>10}{'random':>10}"
              f"{'corrected':>10}")  # fmt: skip
        for name, v in [*out["teaching"].items(), ("mean", out["teaching_mean"])]:
            print(_row(name, v["zero_shot_f1"], v["taught_f1"], v["corrected_f1"]))
    if out["custom_tag"]:
        ct = out["custom_tag"]
        print(
            f"custom tag 'red circle' on B: the words as a prompt F1 "
            f"{ct['zero_shot_prompt_f1']:.3f}, taught from 5 photos F1 {ct['taught_from_5_f1']:.3f}"
        )
    print(f"({out['elapsed_s']} s)")


if __name__ == "__main__":
    sys.exit(main())
