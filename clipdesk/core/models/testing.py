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


def spread_random_model(model: Any, seed: int = 0) -> None:
    """Make a random-initialised model tell pictures apart, in place.

    Fresh MobileOne/FastViT towers (MobileCLIP) start with layer scales of 1e-5 and
    identity batch-norm statistics, so every picture gets nearly the same vector and a
    comparison of two pipelines would prove nothing. Layer scales of 1 and random
    batch-norm statistics (which re-parameterisation must then fold correctly) give
    vectors that differ from picture to picture. Towers without either are untouched.
    """
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm) and module.affine:
                n = module.num_features
                module.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                module.weight.copy_(torch.rand(n, generator=gen) + 0.5)
        for name, param in model.named_parameters():
            if name.endswith(".gamma"):
                param.fill_(1.0)


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
    # No weights yet: random init (a Hugging Face text tower too, not its base weights).
    model = open_clip.create_model(f"local-dir:{folder}", pretrained_text=False)
    spread_random_model(model, seed)
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


def write_hf_text_files(
    folder: Path, corpus: list[str], *, vocab_size: int = 400, **shape: int
) -> int:
    """Give ``folder`` an XLM-RoBERTa-shaped text tower config and a small tokenizer.

    The real ``xlm-roberta-base`` tokenizer cannot be fetched offline; a Unigram
    tokenizer trained on ``corpus`` with the same special tokens stands in for it, and
    ``config.json`` has the real tower's shape with that smaller vocabulary (``shape``
    overrides it: ``num_hidden_layers=2, hidden_size=64, ...`` for a quick test). Returns
    the vocabulary size. Needs the optional ``transformers`` and ``tokenizers``.
    """
    import json

    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import XLMRobertaConfig

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # XLM-R's ids 0..4
    tokenizer = Tokenizer(models.Unigram())
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size, special_tokens=specials, unk_token="<unk>"
    )
    tokenizer.train_from_iterator(corpus, trainer)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "XLMRobertaTokenizer",
                "bos_token": "<s>",
                "eos_token": "</s>",
                "unk_token": "<unk>",
                "pad_token": "<pad>",
                "mask_token": "<mask>",
                "model_max_length": 512,
            }
        ),
        encoding="utf-8",
    )
    size = tokenizer.get_vocab_size()
    XLMRobertaConfig(
        vocab_size=size,
        max_position_embeddings=514,
        type_vocab_size=1,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        **shape,
    ).to_json_file(str(folder / "config.json"))
    return size
