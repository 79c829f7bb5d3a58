"""CLIP models: the curated registry, safe downloads, and imports from disk.

The registry lives in ``resources/models/registry.json``; downloading is in
:mod:`clipdesk.core.models.download`, importing a checkpoint in
:mod:`clipdesk.core.models.importing`. Loading a model for use is
:func:`clipdesk.core.encoder.load_encoder`. Nothing imported here pulls in torch.
"""

from clipdesk.core.errors import (
    ChecksumError,
    DownloadError,
    ImportCheckpointError,
    MissingDependencyError,
    ModelError,
    ModelNotInstalledError,
    UnknownModelError,
    UnpinnedFileError,
)
from clipdesk.core.models.registry import (
    DEMO_MODEL,
    ModelFile,
    ModelSpec,
    default_model_name,
    get_model,
    install_dir,
    is_installed,
    list_models,
    missing_requirements,
    resolve_model,
)

__all__ = [
    "DEMO_MODEL",
    "ChecksumError",
    "DownloadError",
    "ImportCheckpointError",
    "MissingDependencyError",
    "ModelError",
    "ModelFile",
    "ModelNotInstalledError",
    "ModelSpec",
    "UnknownModelError",
    "UnpinnedFileError",
    "default_model_name",
    "get_model",
    "install_dir",
    "is_installed",
    "list_models",
    "missing_requirements",
    "resolve_model",
]
