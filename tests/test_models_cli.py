"""``clipdesk models list / download`` as a user runs them (downloads from a local server)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from clipdesk.cli import main
from clipdesk.core import paths
from clipdesk.core.models import get_model, is_installed

REVISION = "c" * 40


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[bytes]:
    """A registry with one small pinned model, and an HTTP server that has its file."""
    for var in ("DATA", "CACHE", "CONFIG", "MODELS"):
        monkeypatch.setenv(f"CLIPDESK_{var}_DIR", str(tmp_path / var.lower()))
    data = np.random.default_rng(3).integers(0, 256, 3_000_000, np.uint8).tobytes()
    site = tmp_path / "site" / "org" / "small" / "resolve" / REVISION
    site.mkdir(parents=True)
    (site / "open_clip_model.safetensors").write_bytes(data)

    resources = tmp_path / "resources" / "models"
    resources.mkdir(parents=True)
    registry = json.loads((paths.resources_dir() / "models" / "registry.json").read_text())
    registry["models"].append(
        {
            "name": "small-download",
            "arch": "ViT-S-32-alt",
            "pretrained": "test",
            "resolution": 224,
            "licence": "MIT",
            "preprocess": {"interpolation": "bicubic", "resize_mode": "shortest"},
            "files": [
                {
                    "repo": "org/small",
                    "revision": REVISION,
                    "filename": "open_clip_model.safetensors",
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "size": len(data),
                }
            ],
        }
    )
    (resources / "registry.json").write_text(json.dumps(registry))
    monkeypatch.setenv("CLIPDESK_RESOURCES_DIR", str(tmp_path / "resources"))

    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "site")
    )
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield data
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def test_download_command(served: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "download", "small-download"]) == 0
    out, err = capsys.readouterr()
    assert "installed small-download" in out
    assert "small-download: 3 of 3 MB" in err  # plain progress lines when not on a terminal
    spec = get_model("small-download")
    assert is_installed(spec)
    folder = paths.models_dir() / "small-download"
    assert (folder / "open_clip_model.safetensors").read_bytes() == served
    config = json.loads((folder / "open_clip_config.json").read_text())
    assert config["model_cfg"]["vision_cfg"]["width"] == 384  # ViT-S-32-alt
    assert config["preprocess_cfg"]["size"] == 224

    assert main(["models", "download", "small-download"]) == 0
    assert "already installed" in capsys.readouterr().out


def test_download_refusals(served: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "download", "multilingual-ViT-B-32"]) == 1
    err = capsys.readouterr().err
    assert "no pinned revision and SHA-256" in err and "models import" in err
    assert main(["models", "download", "tiny-shapes"]) == 1
    assert "cannot be downloaded" in capsys.readouterr().err
    assert main(["models", "download", "ViT-Q-1"]) == 1
    assert "known models" in capsys.readouterr().err


def test_list_table_and_json(served: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list"]) == 0
    table = capsys.readouterr().out
    for name in ("ViT-B-32-256-datacomp", "MobileCLIP2-S0", "small-download", "72.8%"):
        assert name in table
    assert "research only" in table
    assert main(["models", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows if r["default"]] == ["ViT-B-32-256-datacomp"]
    assert {r["name"]: r["installed"] for r in rows}["small-download"] is False
    keys = {"name", "arch", "pretrained", "resolution", "installed", "default", "licence", "facts"}
    assert all(set(r) == keys for r in rows)
