"""A retrain is reproducible: same seed, same data, same weights."""

from __future__ import annotations

import numpy as np
import torch

from clipdesk.training.data import generate, training_sample
from clipdesk.training.model import build_model, model_config, tokenizer
from clipdesk.training.train import TrainConfig, train


def _tiny_run(seed: int) -> dict[str, torch.Tensor]:
    cfg = model_config()
    cfg["vision_cfg"]["image_size"] = 32
    cfg["text_cfg"].update(layers=1, width=32, heads=2, context_length=16)
    cfg["embed_dim"] = 32
    torch.manual_seed(seed)
    model = build_model(cfg)
    data = generate(training_sample, 96, seed=seed, size=32, workers=1)
    run = TrainConfig(steps=6, batch_size=32, warmup=2, seed=seed, threads=1, log_every=3)
    list(train(model, tokenizer(16), data, run))
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_same_seed_same_data_and_weights() -> None:
    a = generate(training_sample, 24, seed=3, size=32, workers=1)
    b = generate(training_sample, 24, seed=3, size=32, workers=2, chunk=5)
    assert np.array_equal(a.images, b.images)  # independent of workers and chunking
    first, second, other = _tiny_run(0), _tiny_run(0), _tiny_run(1)
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)
