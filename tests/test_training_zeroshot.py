"""build_zero_shot_classifier: a pure function over a real (untrained) text encoder."""

from __future__ import annotations

import pytest
import torch

from clipdesk.training.model import build_model, model_config, tokenizer
from clipdesk.training.zeroshot import build_zero_shot_classifier, classify


@pytest.fixture(scope="module")
def small_model():
    cfg = model_config()
    cfg["text_cfg"].update(layers=1, width=32, heads=2)
    cfg["embed_dim"] = 16
    torch.manual_seed(0)
    return build_model(cfg).eval()


def test_classifier_is_the_normalised_mean_over_templates(small_model) -> None:
    tok = tokenizer()
    templates = ["a {}.", "a photo of a {}.", lambda c: f"{c}!"]
    clf = build_zero_shot_classifier(small_model, tok, ["circle", "star"], templates)
    assert clf.shape == (16, 2)
    assert torch.allclose(clf.norm(dim=0), torch.ones(2), atol=1e-5)
    with torch.no_grad():
        emb = small_model.encode_text(
            tok(["a star.", "a photo of a star.", "star!"]), normalize=True
        )
    expected = emb.mean(dim=0)
    expected = expected / expected.norm()
    assert torch.allclose(clf[:, 1], expected, atol=1e-5)
    assert not torch.allclose(clf[:, 0], clf[:, 1], atol=1e-3)


def test_classify_picks_the_most_similar_class() -> None:
    clf = torch.eye(3)
    feats = torch.tensor([[0.1, 0.9, 0.0], [0.0, 0.2, 0.8], [1.0, 0.0, 0.0]])
    assert classify(feats, clf).tolist() == [1, 2, 0]
