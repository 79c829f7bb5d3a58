"""Shared fixtures: every test runs with its own data, cache, config and models dirs."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# One BLAS thread, set before numpy loads (and inherited by every child process): on a
# busy two-core machine OpenBLAS's spinning worker threads made one 311x311 solve take
# 40 ms instead of 2 ms, and the few-shot probe tests 30 s instead of 3 s. Torch and ONNX
# Runtime keep their own thread pools.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Keep tests away from the user's real clipdesk folders."""
    base = tmp_path_factory.mktemp("clipdesk-home")
    for name in ("DATA", "CACHE", "CONFIG", "MODELS"):
        monkeypatch.setenv(f"CLIPDESK_{name}_DIR", str(base / name.lower()))
    monkeypatch.delenv("CLIPDESK_LIBRARY", raising=False)
    monkeypatch.delenv("CLIPDESK_MODEL", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return base
