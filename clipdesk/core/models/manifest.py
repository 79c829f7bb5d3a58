"""The small JSON file that describes one installed model folder.

Every model folder under ``paths.models_dir()`` holds ``clipdesk_model.json``: what the
model is (name, open_clip architecture, pretrained tag, facts for imported ones), where
each file came from and its SHA-256. The SHA-256 of the weights is what makes
``Encoder.model_key``, so it is recorded once, when the file is verified, and trusted
afterwards while the file's size and modification time are unchanged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clipdesk.core.files import atomic_write

MANIFEST_NAME = "clipdesk_model.json"
CONFIG_NAME = "open_clip_config.json"
# A model folder's own checked ONNX towers (tiny-shapes ships them; a pack installs them):
# an export's files with its ``meta.json``, used without torch.
PACKED_DIR = "onnx"
# The default vocabulary's tag features, computed when the pack was made (see
# clipdesk.core.tags.zeroshot.write_shipped_features).
LABEL_FEATURES = "label-features.npz"
FORMAT = 1

# The file names open_clip looks for in a ``local-dir:`` folder, in its own order.
WEIGHT_NAMES = (
    "open_clip_model.safetensors",
    "open_clip_pytorch_model.safetensors",
    "open_clip_pytorch_model.bin",
    "open_clip_pytorch_model.pth",
    "model.safetensors",
    "pytorch_model.bin",
    "pytorch_model.pth",
    "model.pth",
)

_CHUNK = 1 << 20


@dataclass(slots=True)
class Manifest:
    """Contents of ``clipdesk_model.json``."""

    name: str
    arch: str
    pretrained: str
    source: str  # "download" | "import" | "pack"
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "name": self.name,
            "arch": self.arch,
            "pretrained": self.pretrained,
            "source": self.source,
            "files": self.files,
            "facts": self.facts,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        if int(data.get("format", 0)) > FORMAT:
            raise ValueError("written by a newer clipdesk")
        return cls(
            name=str(data["name"]),
            arch=str(data["arch"]),
            pretrained=str(data.get("pretrained", "")),
            source=str(data.get("source", "")),
            files=dict(data.get("files", {})),
            facts=dict(data.get("facts", {})),
        )


def read_manifest(directory: Path) -> Manifest | None:
    """The folder's manifest, or None when it has none or it cannot be read."""
    try:
        data = json.loads((directory / MANIFEST_NAME).read_text(encoding="utf-8"))
        return Manifest.from_json(data)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write JSON so that a crash leaves either the old file or the new one."""
    atomic_write(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_manifest(directory: Path, manifest: Manifest) -> None:
    write_json_atomic(directory / MANIFEST_NAME, manifest.to_json())


def file_record(path: Path, sha256: str) -> dict[str, Any]:
    st = path.stat()
    return {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def sha256_file(
    path: Path, on_bytes: Callable[[int], None] | None = None, start: bytes = b""
) -> str:
    """SHA-256 of a file, reading it in 1 MiB blocks."""
    digest = hashlib.sha256(start)
    with open(path, "rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
            if on_bytes is not None:
                on_bytes(len(block))
    return digest.hexdigest()


def find_weights(directory: Path) -> Path | None:
    """The checkpoint open_clip will load from this folder (same preference order)."""
    for name in WEIGHT_NAMES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    found = sorted(directory.glob("*.safetensors")) + sorted(directory.glob("*.bin"))
    return found[0] if found else None


def has_packed_export(directory: Path) -> bool:
    """True when the folder holds its own ONNX towers (checked when they are loaded)."""
    return (directory / PACKED_DIR / "meta.json").is_file()


def weights_digest(directory: Path) -> str:
    """SHA-256 of the folder's weights: the recorded one while the file is unchanged."""
    weights = find_weights(directory)
    if weights is None:
        raise FileNotFoundError(f"no weights file in {directory}")
    manifest = read_manifest(directory)
    if manifest is not None:
        record = manifest.files.get(weights.name)
        if record:
            st = weights.stat()
            if record.get("size") == st.st_size and record.get("mtime_ns") == st.st_mtime_ns:
                return str(record["sha256"])
    return sha256_file(weights)


def shipped_label_features(directory: Path | None) -> Path | None:
    """The tag features a model folder ships beside its ONNX towers, if any."""
    if directory is None:
        return None
    path = directory / PACKED_DIR / LABEL_FEATURES
    return path if path.is_file() else None
