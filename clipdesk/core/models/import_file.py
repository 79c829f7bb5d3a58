"""One entry point for installing a model file from disk, for the CLI and the window.

``clipdesk models import FILE`` and the window's "Import a model file…" both hand a path
here, so an ONNX pack or an open_clip checkpoint is recognised, checked and installed the
same way whichever of them the user reaches for.
"""

from __future__ import annotations

from pathlib import Path

from clipdesk.core.errors import ImportCheckpointError
from clipdesk.core.models.pack import install_pack, is_pack
from clipdesk.core.models.registry import ModelSpec, torch_available


def import_model_file(
    path: Path,
    *,
    arch: str | None = None,
    name: str | None = None,
    pretrained: str | None = None,
    pack_arch_refused: bool = True,
) -> ModelSpec:
    """Install the pack or checkpoint at ``path``; returns the installed model's spec.

    A pack carries its own architecture, so an ``arch`` given with one is refused when
    ``pack_arch_refused`` (the CLI's ``--arch``) and ignored otherwise (the window passes
    the chosen model's architecture in case the file is a checkpoint). A checkpoint needs
    ``arch`` and torch.
    """
    path = Path(path).expanduser()
    if is_pack(path):
        if arch and pack_arch_refused:
            raise ImportCheckpointError(f"{path.name} is an ONNX pack: import it without --arch")
        return install_pack(path, name=name)
    if not arch:
        raise ImportCheckpointError(
            f"{path.name} is not an ONNX pack; to import an open_clip checkpoint give --arch"
        )
    if not torch_available():
        raise ImportCheckpointError(
            f"{path.name} is not an ONNX pack, and importing an open_clip checkpoint needs "
            "torch: pip install 'clipdesk[torch]' (or import an ONNX pack of the model)"
        )
    from clipdesk.core.models.importing import import_checkpoint

    return import_checkpoint(path, arch, name=name, pretrained=pretrained)
