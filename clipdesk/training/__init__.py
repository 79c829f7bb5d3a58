"""tiny-shapes: the project's own small CLIP, trained on generated pictures of shapes.

Modules: ``shapes`` (data generator and sample library, numpy + PIL only), ``loss``
(contrastive objective), ``train`` (loop), ``zeroshot`` (prompt-ensembled classifiers),
``evaluate`` (held-out metrics), ``model`` (architecture and open_clip local-dir export).
Torch and open_clip are imported inside functions, so importing this package is cheap.
Retrain with ``python -m clipdesk.training train``.
"""

MODEL_NAME = "tiny-shapes"

__all__ = ["MODEL_NAME"]
