"""Every error the core raises for a user to read, in one place.

Each message is worded so that the command line and the window can show it as is. Keeping
the classes here, in a module that imports nothing, lets any layer catch them without
importing the code that raises them (and without pulling in torch, SQLAlchemy or Pillow).
"""

from __future__ import annotations

__all__ = [
    "CatalogError",
    "ChecksumError",
    "DateError",
    "DownloadError",
    "ExportError",
    "FaceModelError",
    "FileTypeError",
    "FolderError",
    "ImageReadError",
    "ImportCheckpointError",
    "LibraryError",
    "MissingDependencyError",
    "ModelError",
    "ModelNotInstalledError",
    "PeopleError",
    "QueryError",
    "ReaderModelsMissing",
    "SearchError",
    "TagError",
    "UnknownModelError",
    "UnpinnedFileError",
    "VocabularyError",
]


# --- the library and its catalog -------------------------------------------------------


class LibraryError(Exception):
    """A request the library cannot carry out; the message is meant for the user."""


class CatalogError(Exception):
    """The catalog cannot be opened or used as it is."""


class FolderError(Exception):
    """A folder clipdesk needs cannot be made or used (a file is in its way, say)."""


class TagError(LibraryError):
    """A tag request that cannot be carried out; the message is meant for the user."""


class PeopleError(LibraryError):
    """A people request that cannot be carried out (an unknown person, a face not there)."""


class VocabularyError(ValueError):
    """A vocabulary entry that cannot be used; the message names the line."""


# --- searching -------------------------------------------------------------------------


class SearchError(LibraryError):
    """A search that cannot be run as asked (nothing to search for, a bad filter)."""


class DateError(SearchError, ValueError):
    """A date that is not YYYY, YYYY-MM or YYYY-MM-DD, or names no real day."""


class FileTypeError(SearchError, ValueError):
    """A file type that clipdesk does not know."""


class QueryError(SearchError, ValueError):
    """A query the search box or ``clipdesk search`` cannot read: an unknown operator, an
    operator without a value, an unclosed quote or an empty quoted phrase."""


# --- photos ----------------------------------------------------------------------------


class ImageReadError(Exception):
    """A file that cannot be used as a photo; ``reason`` is short and shown to users."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


# --- models and encoders ---------------------------------------------------------------


class FaceModelError(Exception):
    """dlib's face models cannot be found or loaded."""


class ReaderModelsMissing(Exception):
    """The models that read text or find faces are not installed (the installer leaves
    them out); the message names the command that fetches them."""


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


class ExportError(RuntimeError):
    """The model cannot be exported to ONNX (an architecture the exporter does not handle).

    Not a :class:`ModelError`: the torch encoder still works, so callers fall back to it
    instead of reporting a broken model.
    """
