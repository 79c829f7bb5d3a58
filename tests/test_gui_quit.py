"""SIGTERM (a logout, ``kill``) and SIGINT (Ctrl+C in the terminal that started it)
close the window as its close button does: the process ends with status 0, and what it
served to terminal searches is taken down, which only a proper close does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from clipdesk.core.serve.client import ping
from clipdesk.core.serve.endpoint import endpoint_for

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_quit_signal_closes_the_window_properly(sample_library, tmp_path, sig):
    lib = sample_library.copy(tmp_path / "lib")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    command = [sys.executable, "-m", "clipdesk", "gui", "--library", str(lib)]
    window = subprocess.Popen(
        [*command, "--model", "tiny-shapes"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:  # serving: the window has opened the library
            endpoint = endpoint_for(lib.resolve())  # its folder is made by the window
            if endpoint is not None and ping(endpoint):
                break
            assert window.poll() is None, window.stderr.read()
            assert time.monotonic() < deadline, "the window never opened its library"
            time.sleep(0.2)
        window.send_signal(sig)
        assert window.wait(timeout=60) == 0, window.stderr.read()
    finally:
        if window.poll() is None:
            window.kill()
            window.wait()
    assert not os.path.exists(endpoint.address), "closed without taking its socket down"
    assert not endpoint.key_file.exists()
