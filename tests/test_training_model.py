"""The shipped tiny-shapes model: format, size, loading through open_clip, and semantics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from clipdesk.training.model import CONFIG_FILE, WEIGHTS_FILE, load_model
from clipdesk.training.shapes import render_scene, scene_for
from clipdesk.training.vocab import COLOURS, SHAPES, vocabulary
from clipdesk.training.zeroshot import (
    COLOUR_TEMPLATES,
    SHAPE_TEMPLATES,
    build_zero_shot_classifier,
    classify,
)

MODEL_DIR = Path(__file__).resolve().parents[1] / "resources" / "models" / "tiny-shapes"


@pytest.fixture(scope="module")
def shipped():
    torch.set_num_threads(2)
    return load_model(MODEL_DIR)


def test_folder_holds_config_weights_card_and_vocabulary() -> None:
    weights = MODEL_DIR / WEIGHTS_FILE
    assert weights.stat().st_size <= 20 * 1024 * 1024
    config = json.loads((MODEL_DIR / CONFIG_FILE).read_text())
    assert config["model_cfg"]["text_cfg"]["vocab_size"] == 49408
    assert config["preprocess_cfg"]["size"] == config["model_cfg"]["vision_cfg"]["image_size"]
    assert (MODEL_DIR / "vocabulary.txt").read_text().split("\n")[:-1] == vocabulary()
    card = (MODEL_DIR / "MODEL_CARD.md").read_text()
    assert "demo" in card.lower() and "python -m clipdesk.training" in card


def test_loads_through_open_clip_with_the_real_bpe_tokenizer(shipped) -> None:
    import open_clip
    from open_clip.tokenizer import SimpleTokenizer

    model, preprocess, tokenizer = shipped
    config = json.loads((MODEL_DIR / CONFIG_FILE).read_text())
    context = config["model_cfg"]["text_cfg"]["context_length"]
    assert isinstance(tokenizer, SimpleTokenizer) and tokenizer.vocab_size == 49408
    tokens = tokenizer(["a red circle"])
    assert tokens.shape == (1, context)
    assert tokens[0, 0] == tokenizer.sot_token_id
    reference = open_clip.tokenize(["a red circle"])[0, :context]
    assert torch.equal(tokens[0], reference)  # the same BPE ids as any CLIP
    image = preprocess(render_scene(scene_for("star", "blue"), (480, 360)))
    assert image.shape == (3, config["preprocess_cfg"]["size"], config["preprocess_cfg"]["size"])
    with torch.no_grad():
        feats = model.encode_image(image[None], normalize=True)
    assert feats.shape == (1, config["model_cfg"]["embed_dim"])


PROBES = [
    ("circle", "red"),
    ("square", "blue"),
    ("triangle", "green"),
    ("star", "yellow"),
    ("heart", "purple"),
    ("circle", "orange"),
    ("square", "black"),
    ("star", "white"),
    ("heart", "red"),
    ("triangle", "blue"),
]


def _probe_features(model, preprocess) -> torch.Tensor:
    rng = np.random.default_rng(0)
    images = [
        render_scene(scene_for(s, c, radius=0.3), (400, 300), rng, shading=False) for s, c in PROBES
    ]
    with torch.no_grad():
        return model.encode_image(torch.stack([preprocess(i) for i in images]), normalize=True)


def test_zero_shot_names_shapes_and_colours(shipped) -> None:
    model, preprocess, tokenizer = shipped
    feats = _probe_features(model, preprocess)
    shape_clf = build_zero_shot_classifier(model, tokenizer, SHAPES, SHAPE_TEMPLATES)
    colour_clf = build_zero_shot_classifier(model, tokenizer, COLOURS, COLOUR_TEMPLATES)
    shapes = [SHAPES[i] for i in classify(feats, shape_clf)]
    colours = [COLOURS[i] for i in classify(feats, colour_clf)]
    assert sum(p == (s, c) for p, s, c in zip(PROBES, shapes, colours, strict=True)) >= 9, list(
        zip(shapes, colours, strict=True)
    )


def test_text_query_finds_the_described_picture(shipped) -> None:
    model, preprocess, tokenizer = shipped
    feats = _probe_features(model, preprocess)
    queries = [f"a {c} {s}" for s, c in PROBES]
    with torch.no_grad():
        text = model.encode_text(tokenizer(queries), normalize=True)
    top = (text @ feats.T).argmax(dim=1).tolist()
    assert sum(i == j for i, j in enumerate(top)) >= 9, top
