"""A running clipdesk answers ``clipdesk search`` for the library it has open.

The answer must be the command's own, byte for byte; whatever the server could answer
differently (another model, an index behind the catalog, an error) it declines, and the
command searches by itself. Here the server runs in this process beside the command, as
the window's searches run beside its writer; the last test runs ``clipdesk watch`` and
``clipdesk search`` as separate processes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_harness import NON_UTF8, library_env, make_photos, run_cli

from clipdesk.core.library import Library
from clipdesk.core.progress import run_to_end
from clipdesk.core.serve.client import CONNECT_TIMEOUT_S, ask, ping, search_request
from clipdesk.core.serve.endpoint import PROTOCOL, endpoint_for
from clipdesk.core.serve.server import SearchServer
from clipdesk.core.serve.start import serve_searches
from clipdesk.training.shapes import write_sample_library

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Unix sockets")


@dataclass
class Served:
    library: Library
    server: SearchServer
    photos: Path
    directory: Path


@pytest.fixture
def served(tmp_path: Path, tiny_shapes_installed: str):
    photos = make_photos(tmp_path / "photos", count=6)
    directory = tmp_path / "lib"
    library = Library.open(directory, model=tiny_shapes_installed)
    run_to_end(library.index([photos], workers=1))
    server = serve_searches(library)
    assert server is not None, "the library's searches were not served"
    try:
        yield Served(library, server, photos, directory)
    finally:
        server.stop()
        library.close()


def _both(monkeypatch: pytest.MonkeyPatch, served: Served, argv: list[str]):
    """The command served, then the same command searching by itself."""
    with library_env(monkeypatch, served.directory):
        asked = run_cli(argv)
        monkeypatch.setenv("CLIPDESK_SERVE", "0")
        alone = run_cli(argv)
        monkeypatch.delenv("CLIPDESK_SERVE")
    return asked, alone


QUERIES = [
    ["search", "a red circle", "-n", "20"],
    ["search", "a red circle", "-n", "20", "--json"],
    ["search", "a blue square -red", "-n", "3"],
    ["search", "circle type:jpeg", "--json"],
    ["search", "a green triangle", "--sort", "date", "-n", "4"],
]


def test_a_running_clipdesk_answers_exactly_as_the_command_would(monkeypatch, served):
    photo = sorted(served.photos.rglob("IMG_*.jpg"))[0]
    monkeypatch.chdir(photo.parent)
    looks = [  # similar: a photo of the library, by its path as typed, and with a filter
        ["similar", photo.name, "-n", "4"],
        ["similar", str(photo), "--json", "--type", "png"],
    ]
    for argv in QUERIES + looks:
        asked, alone = _both(monkeypatch, served, argv)
        assert alone.code == 0, alone
        assert (asked.code, asked.out, asked.err) == (alone.code, alone.out, alone.err), argv
    assert served.server.served == len(QUERIES) + len(looks)
    asked, _ = _both(monkeypatch, served, QUERIES[1])
    document = json.loads(asked.out.encode("utf-8"))  # valid UTF-8 JSON, any file name
    paths = {hit["path"] for hit in document["results"]}
    assert str(served.photos / f"{NON_UTF8}.jpg") in paths
    assert str(served.photos / "line\nbreak.jpg") in paths


def test_what_it_cannot_answer_alike_the_command_searches_itself(monkeypatch, served):
    declined = [
        ["--model", "ViT-B-32-256-datacomp", "search", "a red circle"],  # another model
        ["search", "a red circle", "--folder", str(served.photos)],  # checked with the roots
        ["search", "a red circle", "--image", str(served.photos / "missing.jpg")],
    ]
    for argv in declined:
        asked, alone = _both(monkeypatch, served, argv)
        assert (asked.code, asked.out, asked.err) == (alone.code, alone.out, alone.err), argv
    assert served.server.served == 0
    assert _both(monkeypatch, served, declined[2])[0].code == 1  # a clear error, as before


def test_an_index_behind_what_another_process_wrote_is_not_used(monkeypatch, served, tmp_path):
    newer = write_sample_library(served.photos / "newer", 3, seed=99)
    assert newer
    with Library.open(served.directory, model="tiny-shapes") as other:  # another process
        run_to_end(other.index([served.photos], workers=1))
    argv = ["search", "a red circle", "-n", "50", "--json"]
    asked, alone = _both(monkeypatch, served, argv)
    assert asked.out == alone.out
    assert any("/newer/" in hit["path"] for hit in json.loads(asked.out)["results"])
    assert served.server.served == 0  # declined: its index had not caught up

    # Declining, the server had its writer catch up (it took the write lock for that):
    # nothing else in that process writes here, as a watcher of unchanged folders would not.
    deadline = time.monotonic() + 60
    while not served.library.index_matches_catalog():
        assert time.monotonic() < deadline, "the index never caught up"
        time.sleep(0.05)
    asked, alone = _both(monkeypatch, served, argv)
    assert asked.out == alone.out
    assert served.server.served == 1


def test_only_the_key_holder_is_answered_and_bad_requests_are_declined(served):
    endpoint = endpoint_for(served.directory)
    assert endpoint is not None
    assert stat.S_IMODE(endpoint.key_file.stat().st_mode) == 0o600
    request = {"protocol": PROTOCOL, "op": "ping"}
    key = endpoint.read_key()
    assert key is not None and ask(served.directory, request) is not None
    endpoint.key_file.write_bytes(os.urandom(32))  # a stranger's key
    assert ask(served.directory, request) is None
    endpoint.key_file.write_bytes(key)
    assert ask(served.directory, request)["pid"] == os.getpid()

    reply = served.server.reply
    assert "declined" in reply({"protocol": PROTOCOL + 1, "op": "search"})
    assert "declined" in reply({"protocol": PROTOCOL, "op": "delete everything"})
    location = os.fspath(served.directory)
    bad = search_request(location, {"text": "x", "rm": "-rf"}, "x", None)
    assert "declined" in reply(bad)
    other = search_request(location + "-other", {"text": "x"}, "x", None)
    assert "declined" in reply(other)
    assert served.server.served == 0


def test_one_server_per_library_and_nothing_left_when_it_stops(served, tiny_shapes_installed):
    endpoint = endpoint_for(served.directory)
    assert endpoint is not None and ping(endpoint)
    with Library.open(served.directory, model=tiny_shapes_installed) as second:
        assert serve_searches(second) is None  # the first one keeps serving
    assert ping(endpoint)
    served.server.stop()
    assert not os.path.exists(endpoint.address)
    assert not endpoint.key_file.exists()
    assert not ping(endpoint)


def test_a_socket_left_by_a_killed_clipdesk_is_passed_over_and_replaced(served, monkeypatch):
    endpoint = endpoint_for(served.directory)
    assert endpoint is not None
    served.server.stop()
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(endpoint.address)  # bound, never listening, never removed: as after a kill
    dead.close()
    endpoint.write_key()
    started = time.monotonic()
    with library_env(monkeypatch, served.directory):
        asked = run_cli(["search", "a red circle"])
    assert asked.code == 0 and asked.out
    assert time.monotonic() - started < CONNECT_TIMEOUT_S
    server = serve_searches(served.library)
    assert server is not None
    try:
        assert ping(endpoint)
    finally:
        server.stop()


def test_stopping_just_after_an_answer_never_waits_on_the_accept_loop(served, monkeypatch):
    """stop() wakes the accept loop with a connection of its own. If the loop saw the stop
    first and ended, nobody accepts that connection: stop() must still return."""
    import clipdesk.core.serve.server as server_module

    class SlowToHandOver(server_module.ThreadPoolExecutor):
        def submit(self, *args, **kwargs):  # the answer goes out while the loop dawdles
            future = super().submit(*args, **kwargs)
            time.sleep(0.3)
            return future

    served.server.stop()
    monkeypatch.setattr(server_module, "ThreadPoolExecutor", SlowToHandOver)
    endpoint = endpoint_for(served.directory)
    server = serve_searches(served.library)
    assert endpoint is not None and server is not None
    assert ping(endpoint)  # answered; the loop is still inside submit()
    stopping = threading.Thread(target=server.stop, daemon=True)
    stopping.start()
    stopping.join(10.0)
    assert not stopping.is_alive(), "stop() hung waiting for an accept that never came"
    assert not os.path.exists(endpoint.address) and not ping(endpoint)


def test_a_runtime_folder_others_can_reach_is_never_used(tmp_path, monkeypatch):
    base = Path(tempfile.mkdtemp(prefix="cd-"))  # short: a socket's path is short
    try:
        shared = base / "shared"
        shared.mkdir()
        shared.chmod(0o777)
        monkeypatch.setenv("CLIPDESK_RUNTIME_DIR", str(shared))
        assert endpoint_for(tmp_path / "lib", create=True) is None
        private = base / "rt"
        monkeypatch.setenv("CLIPDESK_RUNTIME_DIR", str(private))
        endpoint = endpoint_for(tmp_path / "lib", create=True)
        assert endpoint is not None
        assert stat.S_IMODE(private.stat().st_mode) == 0o700
        monkeypatch.setenv("CLIPDESK_RUNTIME_DIR", str(private / ("deep" * 30)))
        assert endpoint_for(tmp_path / "lib", create=True) is None  # too long for a socket
    finally:
        shutil.rmtree(base)


def test_clipdesk_watch_serves_clipdesk_search_in_another_process(tmp_path, served):
    served.server.stop()
    served.library.close()
    env = {
        **os.environ,
        "CLIPDESK_LIBRARY": str(served.directory),
        "CLIPDESK_MODEL": "tiny-shapes",
    }
    command = [sys.executable, "-m", "clipdesk"]
    watch = subprocess.Popen(
        [*command, "watch", "--poll", "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        endpoint = endpoint_for(served.directory)
        assert endpoint is not None
        deadline = time.monotonic() + 90
        while not ping(endpoint):
            assert watch.poll() is None, watch.stderr.read().decode()
            assert time.monotonic() < deadline, "clipdesk watch never served"
            time.sleep(0.2)
        query = [*command, "search", "a red circle", "-n", "20", "--json"]
        asked = subprocess.run(query, env=env, capture_output=True, timeout=120)
        alone = subprocess.run(
            query, env={**env, "CLIPDESK_SERVE": "0"}, capture_output=True, timeout=120
        )
        assert asked.returncode == alone.returncode == 0, alone.stderr.decode()
        assert asked.stdout == alone.stdout
        assert len(json.loads(asked.stdout)["results"]) == 8
    finally:
        watch.send_signal(signal.SIGTERM)
        assert watch.wait(timeout=60) == 0
    assert not os.path.exists(endpoint.address)
    assert not endpoint.key_file.exists()
