"""Small real models for tests, benchmarks and offline development.

Model weights cannot be fetched in tests, so these helpers build open_clip models with
random weights from a fixed seed and save them exactly as an installed model folder
looks (``open_clip_config.json`` + ``open_clip_model.safetensors``): the encoder loads
them through its normal path. Random weights cost the same compute as trained ones, so
they also serve the speed benchmarks. torch is imported only inside the functions.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from clipdesk.core.models.manifest import Manifest, file_record, sha256_file, write_manifest
from clipdesk.core.models.openclip_config import builtin_model_config, write_open_clip_config
from clipdesk.core.preprocess import PreprocessConfig

WEIGHTS_NAME = "open_clip_model.safetensors"


def tiny_model_config(context_length: int = 32, image_size: int = 64) -> dict[str, Any]:
    """A CLIP small enough to build in a fraction of a second (real CLIP BPE vocabulary)."""
    return {
        "embed_dim": 64,
        "vision_cfg": {"image_size": image_size, "layers": 2, "width": 64, "patch_size": 16},
        "text_cfg": {
            "context_length": context_length,
            "vocab_size": 49408,
            "width": 64,
            "heads": 2,
            "layers": 2,
        },
    }


def save_random_model(
    folder: Path,
    model_cfg: dict[str, Any] | str,
    preprocess: PreprocessConfig | None = None,
    *,
    seed: int = 0,
    name: str | None = None,
) -> Path:
    """Write a random-initialised open_clip model folder loadable with ``local-dir:``.

    ``model_cfg`` is an open_clip model config or the name of a built-in architecture.
    With ``name`` the folder also gets a manifest, as an imported model would.
    """
    import open_clip
    import torch
    from safetensors.torch import save_file

    cfg = (
        builtin_model_config(model_cfg) if isinstance(model_cfg, str) else copy.deepcopy(model_cfg)
    )
    size = cfg["vision_cfg"].get("image_size", 224)
    preprocess = preprocess or PreprocessConfig(int(size))
    folder.mkdir(parents=True, exist_ok=True)
    write_open_clip_config(folder, cfg, preprocess)
    torch.manual_seed(seed)
    model = open_clip.create_model(f"local-dir:{folder}")  # no weights yet: random init
    state = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    weights = folder / WEIGHTS_NAME
    save_file(state, str(weights))
    if name is not None:
        write_manifest(
            folder,
            Manifest(
                name=name,
                arch=str(model_cfg) if isinstance(model_cfg, str) else "custom",
                pretrained="random",
                source="import",
                files={WEIGHTS_NAME: file_record(weights, sha256_file(weights))},
                facts={"resolution": preprocess.size},
            ),
        )
    return folder
