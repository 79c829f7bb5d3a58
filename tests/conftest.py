"""Shared fixtures: every test runs with its own data, cache, config and models dirs."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# One BLAS thread, set before numpy loads (and inherited by every child process): on a
# busy two-core machine OpenBLAS's spinning worker threads made one 311x311 solve take
# 40 ms instead of 2 ms, and the few-shot probe tests 30 s instead of 3 s. Torch and ONNX
# Runtime keep their own thread pools.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# Looking for faces is on by default, and costs dlib 0.1-0.3 s per photo: the generated
# pictures of shapes the other tests index have no face to find. The people tests ask for
# faces themselves (``index(faces=True)``, ``index --faces``); test_people checks the
# default without this variable.
os.environ.setdefault("CLIPDESK_FACES", "0")
# Reading text (OCR) is on by default too, and costs PP-OCR's detector about half a second
# per photo on this machine; the OCR tests ask for it (``index(text=True)``) and
# test_photo_text checks the default without this variable.
os.environ.setdefault("CLIPDESK_OCR", "0")

import pytest


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Keep tests away from the user's real clipdesk folders."""
    base = tmp_path_factory.mktemp("clipdesk-home")
    for name in ("DATA", "CACHE", "CONFIG", "MODELS"):
        monkeypatch.setenv(f"CLIPDESK_{name}_DIR", str(base / name.lower()))
    # Sockets live here, and a socket's path has at most about 100 bytes: a short folder
    # of its own, whatever the length of pytest's temporary folders.
    runtime = tempfile.mkdtemp(prefix="cd-", dir="/tmp" if os.path.isdir("/tmp") else None)
    monkeypatch.setenv("CLIPDESK_RUNTIME_DIR", runtime)
    monkeypatch.delenv("CLIPDESK_LIBRARY", raising=False)
    monkeypatch.delenv("CLIPDESK_MODEL", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    yield base
    shutil.rmtree(runtime, ignore_errors=True)


@pytest.fixture(scope="session")
def tiny_shapes_installed() -> str:
    """The name of the shipped demo model; the test fails (never skips) without it."""
    from clipdesk.core.models.registry import get_model, install_dir, is_installed

    spec = get_model("tiny-shapes")
    if not is_installed(spec):
        pytest.fail(f"the shipped tiny-shapes model is missing from {install_dir(spec)}")
    return spec.name


@pytest.fixture(scope="session")
def tiny_shapes_encoder(tiny_shapes_installed: str):
    """The shipped demo model, loaded once per test run (loading it takes seconds)."""
    from clipdesk.core.encoder import load_encoder
    from clipdesk.core.models.registry import get_model

    return load_encoder(get_model(tiny_shapes_installed), device="cpu")


@dataclass(frozen=True)
class SampleLibrary:
    """Forty sample photos indexed and tagged once per test run, to be copied per use.

    ``template`` is never opened by a test: :meth:`copy` gives each user its own library
    over the same (shared, not to be changed) ``photos``, whose paths the catalog holds.
    """

    photos: Path
    records: list  # clipdesk.training.shapes records, with the truth about each photo
    template: Path
    steps: list  # the Progress the first index yielded, in order
    report: object  # that index's IndexReport
    tagged: object  # the tag run's TagReport

    def copy(self, target: Path) -> Path:
        shutil.copytree(self.template, target)
        return target


@pytest.fixture(scope="session")
def sample_library(
    tmp_path_factory: pytest.TempPathFactory, tiny_shapes_installed: str
) -> SampleLibrary:
    """Anki's template collection: the common sample library, built once, copied cheaply."""
    from clipdesk.core.library import Library
    from clipdesk.core.progress import run_to_end
    from clipdesk.training.shapes import write_sample_library

    base = tmp_path_factory.mktemp("sample-library")
    with pytest.MonkeyPatch.context() as mp:
        for name in ("DATA", "CACHE", "CONFIG", "MODELS"):
            mp.setenv(f"CLIPDESK_{name}_DIR", str(base / name.lower()))
        photos = base / "photos"
        records = write_sample_library(photos, 40, seed=7)
        with Library.open(base / "lib", model=tiny_shapes_installed) as library:
            job = library.index([photos], workers=1)
            steps = []
            try:
                while True:
                    steps.append(next(job))
            except StopIteration as stop:
                report = stop.value
            tagged = run_to_end(library.tags.run())  # zero-shot, the model's own vocabulary
    return SampleLibrary(photos, records, base / "lib", steps, report, tagged)


@pytest.fixture(scope="session")
def shared_encoder(tmp_path_factory: pytest.TempPathFactory):
    """The watcher, fuzz and hostile-input tests' small random-weight model, loaded once."""
    from test_watch_common import MODEL, save_model

    from clipdesk.core.encoder import load_encoder

    models = tmp_path_factory.getbasetemp() / "shared-models"  # as test_crash's
    save_model(models)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CLIPDESK_MODELS_DIR", str(models))
        return load_encoder(MODEL, device="cpu")


@pytest.fixture
def watched(tmp_path: Path, shared_encoder, monkeypatch: pytest.MonkeyPatch):
    """``start(*roots, settings=FAST)`` -> (library, watcher, counting encoder)."""
    from test_watch_common import FAST, CountingEncoder, open_library

    from clipdesk.core.watch import LibraryWatcher

    monkeypatch.setenv("CLIPDESK_BACKEND", "torch")  # count the real encoder's work
    started = []

    def start(*roots: Path, settings=FAST, **kwargs):
        encoder = CountingEncoder(shared_encoder)
        library = open_library(tmp_path / "lib", encoder)
        for root in roots:
            library.add_root(root)
        watcher = LibraryWatcher(library, settings, **kwargs)
        started.append((library, watcher))
        watcher.start()
        assert watcher.wait_idle(60), "the start-up look did not finish"
        return library, watcher, encoder

    yield start
    for library, watcher in started:
        watcher.stop()
        assert not watcher.running
        library.close()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):
    """A local model-file server (tests/file_server.py) that downloads are pointed at."""
    import http.server
    import threading

    from file_server import FileServer

    state = FileServer()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), state.handler())
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    monkeypatch.setenv("HF_ENDPOINT", state.url)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL server with pgvector (tests/pg_server.py), one per test process,
    stopped (and its folder removed) when the run ends."""
    from pg_server import PgServer

    with PgServer() as server:
        yield server


@pytest.fixture
def pg_url(pg_server, request: pytest.FixtureRequest) -> str:
    """A new, empty database with pgvector on the test server: its library address."""
    import re
    import secrets

    name = re.sub(r"[^a-z0-9]", "_", request.node.name.lower())[:40] + "_" + secrets.token_hex(3)
    return pg_server.create_database(name)
