"""The desktop app's settings: a small versioned JSON file in the config dir.

Kept free of Qt so it can be read and tested anywhere. A file written by a newer
clipdesk is not overwritten: its settings are ignored (defaults are used) and saving is
refused, so going back to an older version never loses a newer user's choices.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from clipdesk.core import paths
from clipdesk.core.files import atomic_write

SETTINGS_VERSION = 1
SETTINGS_FILE = "gui-settings.json"
DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass
class Settings:
    """What the user chose; every field has a sensible default."""

    version: int = SETTINGS_VERSION
    model: str | None = None  # None: the library's model, else the registry default
    device: str = "auto"
    cpu_share: float = 0.75  # share of the CPU cores indexing may use
    excluded_folders: list[str] = field(default_factory=list)
    thumbnail_cache_mb: int = 512
    first_run_done: bool = False
    thumbnail_size: int = 160
    results_per_page: int = 200
    # Look for faces while indexing (people). Off: index runs find none; faces already
    # found stay until `clipdesk people forget-all`.
    find_faces: bool = True
    smart_albums: list[str] = field(default_factory=list)  # saved queries, in order
    # Read the text in photos while indexing (OCR, for text: searches). Off: index runs
    # from the window read none; text already read stays.
    read_text: bool = True

    def decode_workers(self, cpu_count: int | None = None) -> int:
        """Decode processes for indexing: the CPU share, less one core for the encoder."""
        cores = cpu_count or os.cpu_count() or 2
        share = min(1.0, max(0.1, self.cpu_share))
        return max(1, round(cores * share) - 1)

    def is_excluded(self, path: str) -> bool:
        """True when ``path`` lies in one of the excluded folders."""
        for folder in self.excluded_folders:
            prefix = folder.rstrip("/\\")
            if path == prefix or path.startswith(prefix + os.sep):
                return True
        return False


class SettingsError(Exception):
    """Settings that cannot be saved (e.g. the file belongs to a newer clipdesk)."""


def settings_path() -> Path:
    return paths.config_dir() / SETTINGS_FILE


def load_settings(path: Path | None = None) -> Settings:
    """Read the settings; missing, unreadable or newer files give the defaults."""
    path = path or settings_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Settings()
    if not isinstance(data, dict):
        return Settings()
    version = data.get("version")
    if not isinstance(version, int) or version > SETTINGS_VERSION:
        return Settings(version=version if isinstance(version, int) else SETTINGS_VERSION)
    known = {f.name: f for f in fields(Settings)}
    defaults = Settings()
    values: dict[str, object] = {}
    for name, value in data.items():
        if name in known and name != "version" and _same_kind(getattr(defaults, name), value):
            values[name] = value
    settings = Settings(**values)  # type: ignore[arg-type]
    if settings.device not in DEVICES:
        settings.device = "auto"
    return settings


def _same_kind(default: object, value: object) -> bool:
    if default is None:
        return value is None or isinstance(value, str)
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(default, list):
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return type(value) is type(default)


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write atomically (temp file, then replace), refusing to downgrade a newer file."""
    if settings.version > SETTINGS_VERSION:
        raise SettingsError("these settings belong to a newer clipdesk and are not saved")
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = asdict(settings)
    data["version"] = SETTINGS_VERSION
    atomic_write(path, json.dumps(data, indent=2))
