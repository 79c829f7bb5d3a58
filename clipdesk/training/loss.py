"""The CLIP objective: symmetric cross-entropy over the image-text similarity matrix.

Row i of the batch is a matching (image, caption) pair; every other caption in the batch
is a negative for image i and vice versa. The temperature is learned as a log-scale so it
stays positive, and is clamped so that the scale never exceeds 100 (as in the paper), which
keeps early training from collapsing into a very sharp softmax.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

INIT_LOGIT_SCALE = math.log(1 / 0.07)
MAX_LOGIT_SCALE = math.log(100.0)


def contrastive_loss(
    image_features: torch.Tensor, text_features: torch.Tensor, logit_scale: torch.Tensor
) -> torch.Tensor:
    """Mean of image->text and text->image cross-entropy.

    ``image_features`` and ``text_features`` are (n, d) and L2-normalised; ``logit_scale``
    is the log of the softmax scale (a 0-d or 1-element tensor).
    """
    import torch.nn.functional as F

    logits = logit_scale.exp() * image_features @ text_features.T
    labels = _arange(logits)
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


def _arange(logits: torch.Tensor) -> torch.Tensor:
    import torch

    return torch.arange(logits.shape[0], device=logits.device)


def clamp_logit_scale_(logit_scale: torch.Tensor) -> None:
    """Clamp the learnable log-scale in place to [0, ln 100] after an optimiser step."""
    import torch

    with torch.no_grad():
        logit_scale.clamp_(0.0, MAX_LOGIT_SCALE)
