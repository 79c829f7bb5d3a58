"""Zero-shot classification with prompt ensembling, as a pure function.

Each class is represented by the mean of its normalised text embeddings over several
prompt templates, renormalised; an image belongs to the class whose representation it is
most similar to. Reused by evaluation here and by auto-tagging in the core.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

SHAPE_TEMPLATES: tuple[str, ...] = (
    "a {}.",
    "a photo of a {}.",
    "a drawing of a {}.",
    "a picture of a {}.",
    "a {} shape.",
)
COLOUR_TEMPLATES: tuple[str, ...] = (
    "a {} shape.",
    "something {}.",
    "a {} object.",
    "a photo of something {}.",
    "a {} thing.",
)


def build_zero_shot_classifier(
    model: torch.nn.Module,
    tokenizer: Callable[[list[str]], torch.Tensor],
    classnames: Sequence[str],
    templates: Sequence[str | Callable[[str], str]],
    *,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    """(embed_dim, n_classes) matrix of ensembled, L2-normalised class embeddings.

    ``model`` needs ``encode_text(tokens, normalize=True)``; ``templates`` are format strings
    with one ``{}`` or callables taking the class name.
    """
    import torch

    prompts = [t(c) if callable(t) else t.format(c) for c in classnames for t in templates]
    with torch.no_grad():
        tokens = tokenizer(prompts).to(device)
        emb = model.encode_text(tokens, normalize=True).float()
    emb = emb.reshape(len(classnames), len(templates), -1).mean(dim=1)
    emb = emb / emb.norm(dim=-1, keepdim=True)
    return emb.T.contiguous()


def classify(image_features: torch.Tensor, classifier: torch.Tensor) -> torch.Tensor:
    """Index of the best class for each (normalised) image feature row."""
    return (image_features @ classifier).argmax(dim=-1)
