"""The contrastive loss: exact value, symmetry, gradients, and that training lowers it."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from clipdesk.training.loss import (
    INIT_LOGIT_SCALE,
    MAX_LOGIT_SCALE,
    clamp_logit_scale_,
    contrastive_loss,
)


def test_equals_hand_computed_value() -> None:
    images = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    texts = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    scale = torch.tensor(math.log(2.0))
    # logits = 2 * images @ texts.T = [[2, 1.2], [0, 1.6]]; -log softmax of the diagonal,
    # per row (image->text) and per column (text->image), is log(1 + e^(other - own)).
    expected = (
        math.log1p(math.exp(-0.8))  # image 0: 1.2 vs 2
        + math.log1p(math.exp(-1.6))  # image 1: 0 vs 1.6
        + math.log1p(math.exp(-2.0))  # text 0: 0 vs 2
        + math.log1p(math.exp(-0.4))  # text 1: 1.2 vs 1.6
    ) / 4
    assert contrastive_loss(images, texts, scale).item() == pytest.approx(expected, abs=1e-6)


def _unit(n: int, d: int, seed: int) -> torch.Tensor:
    x = torch.randn(n, d, generator=torch.Generator().manual_seed(seed))
    return x / x.norm(dim=1, keepdim=True)


def test_symmetric_in_images_and_texts() -> None:
    a, b = _unit(8, 16, 1), _unit(8, 16, 2)
    scale = torch.tensor(INIT_LOGIT_SCALE)
    assert contrastive_loss(a, b, scale).item() == pytest.approx(
        contrastive_loss(b, a, scale).item(), abs=1e-6
    )
    # and not trivially constant: a matching batch scores far better than a random one
    assert contrastive_loss(a, a, scale).item() < contrastive_loss(a, b, scale).item() - 1.0


def test_gradient_reaches_logit_scale_and_features() -> None:
    a = _unit(6, 8, 3).requires_grad_(True)
    b = _unit(6, 8, 4)
    scale = torch.nn.Parameter(torch.tensor(INIT_LOGIT_SCALE))
    contrastive_loss(a, b, scale).backward()
    assert scale.grad is not None and scale.grad.abs().item() > 0
    assert a.grad is not None and a.grad.abs().sum().item() > 0


def test_logit_scale_init_and_clamp() -> None:
    from clipdesk.training.model import build_model

    model = build_model()
    assert model.logit_scale.item() == pytest.approx(math.log(1 / 0.07), abs=1e-5)
    with torch.no_grad():
        model.logit_scale.fill_(9.0)
    clamp_logit_scale_(model.logit_scale)
    assert model.logit_scale.exp().item() == pytest.approx(100.0, rel=1e-5)
    assert pytest.approx(math.log(100)) == MAX_LOGIT_SCALE


def test_short_training_run_lowers_the_loss() -> None:
    from clipdesk.training.captions import canonical_caption
    from clipdesk.training.data import generate, training_sample
    from clipdesk.training.model import build_model, model_config, tokenizer
    from clipdesk.training.train import TrainConfig, images_to_tensor, train

    cfg = model_config()
    cfg["vision_cfg"]["image_size"] = 32
    cfg["text_cfg"].update(layers=1, width=32, heads=2, context_length=24)
    cfg["embed_dim"] = 32
    torch.manual_seed(0)
    model = build_model(cfg)
    tok = tokenizer(24)
    data = generate(training_sample, 300, seed=5, size=32, workers=1)
    probe = np.arange(0, 300, 4)
    images = images_to_tensor(data.images[probe])
    texts = tok([canonical_caption(data.specs[i]) for i in probe])

    def probe_loss() -> float:
        with torch.no_grad():
            fi = model.encode_image(images, normalize=True)
            ft = model.encode_text(texts, normalize=True)
            return contrastive_loss(fi, ft, torch.tensor(INIT_LOGIT_SCALE)).item()

    before = probe_loss()
    steps = list(
        train(model, tok, data, TrainConfig(steps=40, batch_size=48, warmup=4, lr=3e-3, threads=1))
    )
    after = probe_loss()
    assert steps[-1].step == 40
    assert after < before * 0.8, (before, after)
