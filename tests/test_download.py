"""Model downloads against a local HTTP server: progress, resume, refusal, cancel, cleanup."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from file_server import REVISION, FileServer

from clipdesk.core.models import (
    ChecksumError,
    DownloadError,
    ModelFile,
    ModelSpec,
    UnpinnedFileError,
    install_dir,
    is_installed,
)
from clipdesk.core.models.download import download_model, fetch_file
from clipdesk.core.models.manifest import read_manifest
from clipdesk.core.preprocess import PreprocessConfig
from clipdesk.core.progress import Cancelled, CancelToken

FILENAME = "open_clip_model.safetensors"


@pytest.fixture(autouse=True)
def _dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("DATA", "CACHE", "CONFIG", "MODELS"):
        monkeypatch.setenv(f"CLIPDESK_{var}_DIR", str(tmp_path / var.lower()))


def _payload(n_bytes: int = 3 * (1 << 20) + 12345) -> bytes:
    return np.random.default_rng(7).integers(0, 256, n_bytes, dtype=np.uint8).tobytes()


def _spec(data: bytes, *, sha256: str | None = "auto", size: int | None = -1) -> ModelSpec:
    digest = hashlib.sha256(data).hexdigest() if sha256 == "auto" else sha256
    return ModelSpec(
        name="test-model",
        arch="ViT-B-32",
        pretrained="test",
        resolution=224,
        files=(
            ModelFile("org/repo", REVISION, FILENAME, digest, len(data) if size == -1 else size),
        ),
        preprocess=PreprocessConfig(224),
    )


def _publish(server: FileServer, data: bytes) -> None:
    server.files[f"/org/repo/resolve/{REVISION}/{FILENAME}"] = data


def _leftovers(tmp_path: Path) -> list[str]:
    root = tmp_path / "models"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def test_download_installs_verified_model_with_progress(server: FileServer, tmp_path: Path):
    data = _payload()
    _publish(server, data)
    spec = _spec(data)
    seen: list[tuple[int, int | None]] = []

    folder = download_model(spec, progress=lambda d, t: seen.append((d, t)))

    assert folder == install_dir(spec) == tmp_path / "models" / "test-model"
    assert (folder / FILENAME).read_bytes() == data
    assert is_installed(spec)
    manifest = read_manifest(folder)
    assert manifest is not None
    assert manifest.files[FILENAME]["sha256"] == hashlib.sha256(data).hexdigest()
    assert seen[-1] == (len(data), len(data))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert len(seen) > 3
    assert server.requests == [(f"/org/repo/resolve/{REVISION}/{FILENAME}", None)]
    assert _leftovers(tmp_path) == sorted(
        [
            "test-model",
            f"test-model/{FILENAME}",
            "test-model/clipdesk_model.json",
            "test-model/open_clip_config.json",
        ]
    )


def test_resumes_after_the_connection_is_cut(server: FileServer):
    data = _payload()
    _publish(server, data)
    half = len(data) // 2
    server.cut_first_at = half
    seen: list[int] = []

    folder = download_model(_spec(data), progress=lambda d, t: seen.append(d))

    assert (folder / FILENAME).read_bytes() == data
    assert [r for _, r in server.requests] == [None, f"bytes={half}-"]
    assert server.sent == len(data)  # nothing fetched twice
    assert seen[-1] == len(data)


def test_resumes_a_part_file_left_by_an_earlier_run(server: FileServer, tmp_path: Path):
    data = _payload()
    _publish(server, data)
    dest = tmp_path / "dl" / "weights.bin"
    dest.parent.mkdir()
    dest.with_name("weights.bin.part").write_bytes(data[:1000])
    url = f"{server.url}/org/repo/resolve/{REVISION}/{FILENAME}"

    fetch_file(url, dest, hashlib.sha256(data).hexdigest(), len(data))

    assert dest.read_bytes() == data
    assert [r for _, r in server.requests] == ["bytes=1000-"]
    assert not dest.with_name("weights.bin.part").exists()


def test_restarts_when_the_server_ignores_ranges(server: FileServer):
    data = _payload()
    _publish(server, data)
    server.cut_first_at = len(data) // 3
    server.ignore_range = True

    folder = download_model(_spec(data))

    assert (folder / FILENAME).read_bytes() == data
    assert len(server.requests) == 2


def test_tampered_file_is_refused_and_deleted(server: FileServer, tmp_path: Path):
    data = _payload()
    tampered = bytearray(data)
    tampered[len(data) // 2] ^= 0xFF
    _publish(server, bytes(tampered))
    spec = _spec(data)

    with pytest.raises(ChecksumError, match="SHA-256"):
        download_model(spec)

    assert not is_installed(spec)
    assert _leftovers(tmp_path) == []


def test_truncated_file_is_refused(server: FileServer, tmp_path: Path):
    data = _payload()
    _publish(server, data[:-100])

    with pytest.raises(ChecksumError, match="bytes"):
        download_model(_spec(data))

    assert _leftovers(tmp_path) == []


def test_wrong_file_without_known_size_is_refused_by_checksum(server: FileServer, tmp_path):
    data = _payload()
    _publish(server, _payload(2000))

    with pytest.raises(ChecksumError, match="SHA-256"):
        download_model(_spec(data, size=None))

    assert _leftovers(tmp_path) == []


def test_cancel_stops_and_leaves_nothing(server: FileServer, tmp_path: Path):
    data = _payload()
    _publish(server, data)
    token = CancelToken()

    def progress(done: int, total: int | None) -> None:
        if done >= 1 << 20:
            token.cancel()

    with pytest.raises(Cancelled):
        download_model(_spec(data), progress=progress, cancel=token)

    assert _leftovers(tmp_path) == []


def test_unpinned_file_is_refused_before_any_request(server: FileServer):
    data = _payload(100)
    _publish(server, data)

    with pytest.raises(UnpinnedFileError, match="import"):
        download_model(_spec(data, sha256=None))

    assert server.requests == []


def test_missing_file_gives_a_clear_error(server: FileServer, tmp_path: Path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_model(_spec(_payload(100)))
    assert _leftovers(tmp_path) == []


def test_redownload_replaces_an_old_install(server: FileServer):
    old, new = _payload(5000), _payload(7000)
    _publish(server, old)
    download_model(_spec(old))
    _publish(server, new)

    folder = download_model(_spec(new))

    assert (folder / FILENAME).read_bytes() == new
    assert not any(p.name.startswith(".") for p in folder.parent.iterdir())


def test_stale_file_from_another_revision_is_fetched_again(server: FileServer, tmp_path: Path):
    data = _payload()
    _publish(server, data)
    staging = tmp_path / "models" / ".test-model.download"
    staging.mkdir(parents=True)
    (staging / FILENAME).write_bytes(_payload(4000))  # complete, but not these weights

    folder = download_model(_spec(data))

    assert (folder / FILENAME).read_bytes() == data
    assert len(server.requests) == 1
