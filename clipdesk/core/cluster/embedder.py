"""The work of one Ray worker: read a batch of files in a sandbox, then embed them.

One :class:`BatchEmbedder` lives in each Ray actor: it loads the model once (on the
actor's GPU when Ray gave it one) and keeps one sandboxed decode process (the same
:class:`DecodePool` a local index uses, under the same time and memory limits), so a
hostile file costs its worker a decode process, never the actor or the run. Outputs go
back to the library's writer with their vectors, without pixels.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from clipdesk.core.decode_task import DecodeJob, DecodeOutput, decode_file, job_timeout

__all__ = ["BatchEmbedder"]


class BatchEmbedder:
    """Reads and embeds batches of files for one model (see the module docstring)."""

    def __init__(self, model_name: str, device: str = "cpu", decoders: int = 1) -> None:
        from clipdesk.core.decode_pool import DecodePool
        from clipdesk.core.encoder import load_encoder
        from clipdesk.core.models.registry import get_model

        self.encoder = load_encoder(get_model(model_name), device=device)
        self.pool = DecodePool(
            decode_file, workers=decoders, timeout_s=60.0, timeout_for=job_timeout
        )

    def run(self, jobs: Sequence[DecodeJob]) -> list[tuple[int, DecodeOutput | str]]:
        """``(file_id, output)`` for each job; a string is why the file was not read."""
        from clipdesk.core.decode_pool import TaskFailure

        outputs: list[tuple[int, DecodeOutput | str]] = []
        for job, result in self.pool.map_unordered(list(jobs)):
            reason = result.reason if isinstance(result, TaskFailure) else None
            outputs.append((job.file_id, reason or result))  # type: ignore[arg-type]
        readable = [
            i
            for i, (_, out) in enumerate(outputs)
            # A video's scenes stay pixels: the library's writer embeds them, scene by scene.
            if isinstance(out, DecodeOutput) and out.pixels is not None and out.scene_times is None
        ]
        if readable:
            pixels = np.stack([outputs[i][1].pixels for i in readable])  # type: ignore[union-attr]
            vectors = self.encoder.encode_image_batch(pixels.astype(np.float32, copy=False))
            for i, vector in zip(readable, vectors, strict=True):
                file_id, out = outputs[i]
                assert isinstance(out, DecodeOutput)
                outputs[i] = (file_id, dataclasses.replace(out, pixels=None, vector=vector))
        return outputs

    def close(self) -> None:
        self.pool.close()
