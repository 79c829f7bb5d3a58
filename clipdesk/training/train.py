"""The training loop: AdamW, linear warm-up then cosine decay, fixed seeds.

A run is fully determined by its ``TrainConfig``: the data set (seeded per sample), the
caption draws, the batch order and the weight initialisation all derive from ``seed``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from clipdesk.training.captions import training_caption, warmup_caption
from clipdesk.training.data import ShapeSet
from clipdesk.training.model import OPENAI_MEAN, OPENAI_STD


@dataclass
class TrainConfig:
    samples: int = 40_000  # distinct pre-rendered training pictures
    steps: int = 4_000
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.1
    warmup: int = 100  # learning-rate warm-up steps
    seed: int = 0
    threads: int = 2
    log_every: int = 50
    warmup_share: float = 0.3  # share of steps on single objects, one attribute per caption
    warmup_shape_share: float = 0.7  # of those captions, the share naming the shape
    short_caption_share: float = 0.2  # share of bare-word captions afterwards
    partial_caption_share: float = 0.5  # share of multi-object scenes named by one object


@dataclass
class StepLog:
    step: int
    loss: float
    logit_scale: float
    lr: float
    elapsed_s: float


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up to ``cfg.lr``, then cosine decay to zero at ``cfg.steps``."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def images_to_tensor(images: np.ndarray):
    """uint8 (n, h, w, 3) -> normalised float (n, 3, h, w) with CLIP's mean and std."""
    import torch

    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255)
    mean = torch.tensor(OPENAI_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(OPENAI_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def _param_groups(model, cfg: TrainConfig) -> list[dict]:
    """No decay on gains, biases, embeddings and the logit scale (as open_clip trains)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        skip = p.ndim < 2 or "embedding" in name or "logit_scale" in name or "ln" in name
        (no_decay if skip else decay).append(p)
    return [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def _batches(data: ShapeSet, cfg: TrainConfig, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Batch indices, epoch after shuffled epoch."""
    order, cursor = rng.permutation(len(data)), 0
    while True:
        if cursor + cfg.batch_size > len(order):
            order, cursor = rng.permutation(len(data)), 0
        yield np.sort(order[cursor : cursor + cfg.batch_size])
        cursor += cfg.batch_size


def _single_object_batches(
    data: ShapeSet, cfg: TrainConfig, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """Random batches of single-object pictures, for the one-attribute warm-up."""
    singles = np.array([i for i, s in enumerate(data.specs) if len(s.objects) == 1])
    while True:
        yield np.sort(rng.choice(singles, min(cfg.batch_size, len(singles)), replace=False))


def train(
    model,
    tokenizer: Callable[[list[str]], object],
    data: ShapeSet,
    cfg: TrainConfig,
) -> Iterator[StepLog]:
    """Train ``model`` in place; yields a ``StepLog`` every ``cfg.log_every`` steps."""
    import torch

    from clipdesk.training.loss import clamp_logit_scale_, contrastive_loss

    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng([cfg.seed, 1])
    opt = torch.optim.AdamW(_param_groups(model, cfg), lr=cfg.lr, betas=(0.9, 0.98))
    model.train()
    batches = _batches(data, cfg, rng)
    singles = _single_object_batches(data, cfg, rng)
    warmup_steps = round(cfg.warmup_share * cfg.steps)
    start = time.perf_counter()
    for step in range(cfg.steps):
        if step < warmup_steps:
            idx = next(singles)
            texts = tokenizer(
                [warmup_caption(data.specs[i], rng, cfg.warmup_shape_share) for i in idx]
            )
        else:
            idx = next(batches)
            captions = [
                training_caption(
                    data.specs[i], rng, cfg.short_caption_share, cfg.partial_caption_share
                )
                for i in idx
            ]
            texts = tokenizer(captions)
        batch = data.images[idx]
        flip = rng.random(len(idx)) < 0.5  # mirrored shapes keep their names
        batch[flip] = batch[flip, :, ::-1]
        images = images_to_tensor(batch)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg)
        image_features = model.encode_image(images, normalize=True)
        text_features = model.encode_text(texts, normalize=True)
        loss = contrastive_loss(image_features, text_features, model.logit_scale)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        clamp_logit_scale_(model.logit_scale)
        if (step + 1) % cfg.log_every == 0 or step == cfg.steps - 1:
            yield StepLog(
                step=step + 1,
                loss=float(loss.detach()),
                logit_scale=float(model.logit_scale.detach().exp()),
                lr=lr_at(step, cfg),
                elapsed_s=time.perf_counter() - start,
            )
    model.eval()
