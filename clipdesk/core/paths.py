"""Every file location clipdesk uses, in one place.

Platform conventions come from platformdirs; each location can be overridden with an
environment variable so that tests and portable installs can point it anywhere.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

from clipdesk.core.errors import FolderError

APP_NAME = "clipdesk"


def ensure_folder(path: Path, what: str = "folder") -> Path:
    """Create ``path`` (and its parents) if needed; FolderError when that is impossible.

    ``mkdir`` alone reports a file in the way as FileExistsError or NotADirectoryError,
    naming the path it was asked for; the user needs to know which path is the file.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise FolderError(f"the {what} {path} is not a folder (it is a file)") from None
    except NotADirectoryError:
        blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        where = f"{blocker} is a file" if blocker else "part of it is a file"
        raise FolderError(f"the {what} {path} is not a folder: {where}") from None
    except OSError as exc:
        raise FolderError(f"cannot create the {what} {path}: {exc.strerror or exc}") from None
    return path


def _override(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


def data_dir() -> Path:
    """Where libraries and downloaded models live (``CLIPDESK_DATA_DIR``)."""
    return _override("CLIPDESK_DATA_DIR") or Path(platformdirs.user_data_dir(APP_NAME, False))


def cache_dir() -> Path:
    """Where disposable files live: thumbnails, exported encoders (``CLIPDESK_CACHE_DIR``)."""
    return _override("CLIPDESK_CACHE_DIR") or Path(platformdirs.user_cache_dir(APP_NAME, False))


def config_dir() -> Path:
    """Where settings live (``CLIPDESK_CONFIG_DIR``)."""
    return _override("CLIPDESK_CONFIG_DIR") or Path(platformdirs.user_config_dir(APP_NAME, False))


DATABASE_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def is_database_url(location: object) -> bool:
    """Whether a library location names a PostgreSQL database rather than a folder."""
    return isinstance(location, str) and location.lower().startswith(DATABASE_SCHEMES)


def library_location(explicit: str | os.PathLike[str] | None = None) -> str | Path:
    """The library: a PostgreSQL address (kept as written) or a folder (resolved), from
    ``--library``, else ``CLIPDESK_LIBRARY``, else the data dir's folder."""
    chosen = explicit or os.environ.get("CLIPDESK_LIBRARY") or None
    if is_database_url(chosen):
        return str(chosen)
    return library_dir(explicit)


def library_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The library directory: ``--library``, else ``CLIPDESK_LIBRARY``, else the data dir."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = _override("CLIPDESK_LIBRARY")
    if env is not None:
        return env.resolve()
    return data_dir() / "library"


def models_dir() -> Path:
    """Where downloaded and imported model weights live (``CLIPDESK_MODELS_DIR``)."""
    return _override("CLIPDESK_MODELS_DIR") or data_dir() / "models"


def runtime_dir() -> Path:
    """Where a running clipdesk lets other clipdesk processes reach it: sockets and keys
    that die with the session (``CLIPDESK_RUNTIME_DIR``)."""
    env = _override("CLIPDESK_RUNTIME_DIR")
    if env is not None:
        return env
    import warnings

    with warnings.catch_warnings():  # no XDG_RUNTIME_DIR: platformdirs' own fallback is fine
        warnings.simplefilter("ignore")
        return Path(platformdirs.user_runtime_dir(APP_NAME, False))


def resources_dir() -> Path:
    """Read-only files shipped with clipdesk (models, vocabularies, icons).

    Looked up in a frozen (PyInstaller) bundle first, then inside the installed package
    (a wheel carries them as ``clipdesk/resources``, see ``setup.py``), then beside the
    source tree.
    """
    env = _override("CLIPDESK_RESOURCES_DIR")
    if env is not None:
        return env
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    package = Path(__file__).resolve().parents[1]
    if (package / "resources").is_dir():
        return package / "resources"
    return package.parent / "resources"


def pictures_dir() -> Path:
    """The user's Pictures folder, the default folder offered on first run."""
    return Path(platformdirs.user_pictures_dir())
