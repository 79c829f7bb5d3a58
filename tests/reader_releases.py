"""The OCR and face models' release files, served from a local server (tests of
``clipdesk.core.models.readers`` and of the window's offer to download them).

The release files are built from the model files the installed rapidocr and
face-recognition-models packages carry (the same bytes PyPI's releases hold), in the
releases' own layouts: a wheel and a source tarball.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from clipdesk.core.models import readers

_PACKAGE_DIR = readers._package_dir  # taken before a test hides the packages


def package_file(models: readers.ReaderModels, name: str) -> Path:
    folder = _PACKAGE_DIR(models.package)
    assert folder is not None, f"the {models.package} package is part of the install"
    return folder / name


def release_bytes(models: readers.ReaderModels, *, spoil: str | None = None) -> bytes:
    """The release file's bytes in its own format, holding the real model files (and
    ``spoil``'s bytes changed)."""
    buffer = io.BytesIO()
    contents = {}
    for pinned in models.files:
        data = package_file(models, pinned.name).read_bytes()
        if pinned.name == spoil:
            data = data[:-1] + bytes([data[-1] ^ 1])
        contents[models.prefix + pinned.name] = data
    if models.release.endswith(".whl"):
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(models.package + "/__init__.py", "")
            for name, data in contents.items():
                archive.writestr(name, data)
    else:
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for name, data in {"other/README": b"unused", **contents}.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def serve_releases(server, monkeypatch: pytest.MonkeyPatch) -> tuple:
    """Both releases on the local file server, pinned as served, with the packages'
    own copies out of sight (as in the installer)."""
    monkeypatch.setenv(readers.PYPI_FILES_ENV, server.url)
    monkeypatch.setattr(readers, "_package_dir", lambda package: None)
    pinned = {}
    for models in readers.READERS:
        data = release_bytes(models)
        server.files["/" + models.release] = data
        pinned[models.key] = dataclasses.replace(
            models, release_sha256=hashlib.sha256(data).hexdigest(), release_size=len(data)
        )
    monkeypatch.setattr(readers, "OCR", pinned["ocr"])
    monkeypatch.setattr(readers, "FACES", pinned["faces"])
    monkeypatch.setattr(readers, "READERS", (pinned["ocr"], pinned["faces"]))
    return server, pinned
