"""Errors of the model layer, each worded so that it can be shown to a user as is."""

from __future__ import annotations


class ModelError(Exception):
    """Base class: anything that stops a model from being found, fetched or loaded."""


class UnknownModelError(ModelError, LookupError):
    """No model of that name in the registry or among the imported ones."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(f"unknown model {name!r}; known models: {', '.join(known)}")


class ModelNotInstalledError(ModelError):
    """The model is known but its files are not on this computer."""


class MissingDependencyError(ModelError):
    """The model needs an optional Python package that is not installed."""


class DownloadError(ModelError):
    """A download failed: network, server, or a file that is not what was pinned."""


class ChecksumError(DownloadError):
    """A file's SHA-256 or size differs from the pinned value; it was deleted."""


class UnpinnedFileError(DownloadError):
    """The registry has no SHA-256 for a file, so it cannot be fetched safely."""


class ImportCheckpointError(ModelError):
    """A checkpoint given to ``models import`` cannot be used."""
