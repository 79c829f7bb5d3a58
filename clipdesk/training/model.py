"""The tiny-shapes architecture, and saving it in open_clip's local-dir format.

The model is a plain open_clip ``CLIP`` (ViT image tower, causal text transformer) with the
real CLIP BPE vocabulary, so that the rest of clipdesk loads it exactly like any published
CLIP: ``open_clip.create_model_and_transforms("local-dir:<dir>")``.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

MODEL_NAME = "tiny-shapes"
CONFIG_FILE = "open_clip_config.json"
WEIGHTS_FILE = "open_clip_model.safetensors"
ARCH_FILE = f"{MODEL_NAME}.json"  # the bare architecture, for open_clip.add_model_config
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGE_SIZE = 64
CONTEXT_LENGTH = 32

# Image tower: timm's smallest ResNet (four basic blocks, 96 channels, 0.4 M parameters)
# under open_clip's timm adapter. A convolutional tower learns shapes from a few thousand
# generated pictures far sooner than a small ViT (which, from scratch, still guessed at
# chance after the same number of steps), and it is cheap enough to train on two cores.
MODEL_CFG: dict[str, Any] = {
    "embed_dim": 128,
    "vision_cfg": {
        "image_size": IMAGE_SIZE,
        "timm_model_name": "test_resnet",
        "timm_model_pretrained": False,
        "timm_pool": "avg",
        "timm_proj": "linear",
    },
    "text_cfg": {
        "context_length": CONTEXT_LENGTH,
        "vocab_size": 49408,
        "width": 128,
        "heads": 4,
        "layers": 3,
    },
}

PREPROCESS_CFG: dict[str, Any] = {
    "size": IMAGE_SIZE,
    "mode": "RGB",
    "mean": list(OPENAI_MEAN),
    "std": list(OPENAI_STD),
    "interpolation": "bicubic",
    "resize_mode": "shortest",
    "fill_color": 0,
}


def model_config() -> dict[str, Any]:
    """A fresh copy of the architecture config (open_clip's ``model_cfg``)."""
    return copy.deepcopy(MODEL_CFG)


def build_model(cfg: dict[str, Any] | None = None) -> torch.nn.Module:
    """An untrained tiny-shapes ``open_clip.CLIP`` (logit scale starts at ln(1/0.07))."""
    from open_clip.model import CLIP

    return CLIP(**(cfg or model_config()))


def tokenizer(context_length: int = CONTEXT_LENGTH):
    """The real CLIP BPE tokenizer, truncated to the model's context length."""
    from open_clip.tokenizer import SimpleTokenizer

    return SimpleTokenizer(context_length=context_length)


def save_model(model: torch.nn.Module, directory: Path, *, half: bool = True) -> Path:
    """Write config + safetensors weights (fp16 by default) in open_clip's hub layout."""
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    state = {
        k: (v.detach().half() if half and v.is_floating_point() else v.detach()).contiguous()
        for k, v in model.state_dict().items()
    }
    tmp = directory / f".{WEIGHTS_FILE}.tmp"
    save_file(state, str(tmp), metadata={"name": MODEL_NAME})
    tmp.chmod(0o644)  # a shipped resource, readable by everyone
    os.replace(tmp, directory / WEIGHTS_FILE)  # readers never see a half-written file
    config = {"model_cfg": model_config(), "preprocess_cfg": copy.deepcopy(PREPROCESS_CFG)}
    _write_text(directory / CONFIG_FILE, json.dumps(config, indent=2) + "\n")
    _write_text(directory / ARCH_FILE, json.dumps(model_config(), indent=2) + "\n")
    return directory


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def load_model(directory: Path, device: str = "cpu") -> tuple[Any, Any, Any]:
    """(model, preprocess, tokenizer) through open_clip's own local-dir loader."""
    import open_clip

    name = f"local-dir:{Path(directory).resolve()}"
    model, _, preprocess = open_clip.create_model_and_transforms(name, device=device)
    model.eval()
    return model, preprocess, open_clip.get_tokenizer(name)


def register_architecture(directory: Path) -> None:
    """Register the architecture with open_clip, so ``create_model("tiny-shapes")`` works."""
    import open_clip

    open_clip.add_model_config(Path(directory) / ARCH_FILE)
