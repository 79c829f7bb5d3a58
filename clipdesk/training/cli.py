"""Command line for retraining tiny-shapes: ``python -m clipdesk.training train``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from clipdesk.training.train import TrainConfig

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "resources" / "models" / "tiny-shapes"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m clipdesk.training")
    sub = parser.add_subparsers(dest="command", required=True)
    defaults = TrainConfig()
    t = sub.add_parser("train", help="generate data, train, evaluate, write the model folder")
    t.add_argument("--out", type=Path, default=DEFAULT_OUT, help="model folder to write")
    t.add_argument("--samples", type=int, default=defaults.samples)
    t.add_argument("--steps", type=int, default=defaults.steps)
    t.add_argument("--batch-size", type=int, default=defaults.batch_size)
    t.add_argument("--lr", type=float, default=defaults.lr)
    t.add_argument("--seed", type=int, default=defaults.seed)
    t.add_argument("--threads", type=int, default=defaults.threads)
    t.add_argument("--workers", type=int, default=2, help="processes rendering the data")
    t.add_argument("--no-eval", action="store_true", help="skip the held-out evaluation")
    t.add_argument(
        "--save-every", type=int, default=0, metavar="N", help="also save the model every N steps"
    )
    e = sub.add_parser("eval", help="evaluate a model folder on the held-out sets")
    e.add_argument("model_dir", type=Path, nargs="?", default=DEFAULT_OUT)
    e.add_argument("--workers", type=int, default=2)
    e.add_argument("--threads", type=int, default=2)
    return parser


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def cmd_train(args: argparse.Namespace) -> int:
    import torch

    from clipdesk.training.data import generate, training_sample
    from clipdesk.training.model import IMAGE_SIZE, build_model, save_model, tokenizer

    torch.set_num_threads(args.threads)
    cfg = TrainConfig(
        samples=args.samples,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        threads=args.threads,
    )
    t0 = time.perf_counter()
    data = generate(training_sample, cfg.samples, cfg.seed, IMAGE_SIZE, workers=args.workers)
    t_data = time.perf_counter() - t0
    _log(f"rendered {len(data)} training pictures in {t_data:.0f} s")
    torch.manual_seed(cfg.seed)
    model = build_model()
    from clipdesk.training.train import train

    for log in train(model, tokenizer(), data, cfg):
        _log(
            f"step {log.step}/{cfg.steps} loss {log.loss:.3f} scale {log.logit_scale:.1f} "
            f"lr {log.lr:.2e} {log.elapsed_s:.0f} s"
        )
        if args.save_every and log.step % args.save_every == 0 and log.step < cfg.steps:
            save_model(model, args.out)
            model.train()
    t_train = time.perf_counter() - t0 - t_data
    save_model(model, args.out)
    _log(f"saved {args.out}")
    timing = {"data_s": round(t_data), "train_s": round(t_train), "threads": cfg.threads}
    metrics: dict = {}
    if not args.no_eval:
        from clipdesk.training.evaluate import evaluate_dir

        t1 = time.perf_counter()
        metrics = evaluate_dir(args.out, workers=args.workers)
        timing["eval_s"] = round(time.perf_counter() - t1)
    timing["total_s"] = round(time.perf_counter() - t0)
    from clipdesk.training.card import write_card

    write_card(args.out, cfg, metrics, timing, command=_command(args, cfg))
    print(json.dumps({"metrics": metrics, "timing": timing}, indent=2))
    return 0


def _command(args: argparse.Namespace, cfg: TrainConfig) -> str:
    """The command line that reproduces this run (only non-default settings spelled out)."""
    parts = ["python -m clipdesk.training train"]
    defaults = TrainConfig()
    for field in ("samples", "steps", "batch_size", "lr", "seed"):
        if getattr(cfg, field) != getattr(defaults, field):
            parts.append(f"--{field.replace('_', '-')} {getattr(cfg, field)}")
    return " ".join(parts)


def cmd_eval(args: argparse.Namespace) -> int:
    import torch

    from clipdesk.training.evaluate import evaluate_dir

    torch.set_num_threads(args.threads)
    print(json.dumps(evaluate_dir(args.model_dir, workers=args.workers), indent=2))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return {"train": cmd_train, "eval": cmd_eval}[args.command](args)
