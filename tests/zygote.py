"""A process that has imported clipdesk and torch once and forks one ``clipdesk`` command
line per request (no tests here).

Starting Python and importing torch takes seconds, so tests that start ``clipdesk``
many times (and kill it) fork it from here instead. The forked child runs the real
command line (``clipdesk.cli.main``) and is killed like any process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def zygote_main() -> None:
    """Import everything once, then fork one child per request read from stdin."""
    import open_clip  # noqa: F401
    import torch  # noqa: F401

    import clipdesk.cli
    import clipdesk.core.encoder
    import clipdesk.core.indexer as indexer
    import clipdesk.core.library

    print(json.dumps({"ready": os.getpid()}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        if "wait" in request:
            _, status = os.waitpid(request["wait"], 0)
            reply = {
                "code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            }
            print(json.dumps(reply), flush=True)
            continue
        pid = os.fork()
        if pid == 0:
            code = 99
            try:
                os.environ.update(request["env"])
                out = os.open(request["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
                os.dup2(out, 1)
                os.dup2(out, 2)
                if request.get("save_interval") is not None:
                    indexer.SAVE_INTERVAL_S = request["save_interval"]
                code = clipdesk.cli.main(request["argv"])
            except BaseException:
                import traceback

                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        print(json.dumps({"pid": pid}), flush=True)


class Zygote:
    def __init__(self) -> None:
        code = (
            f"import sys; sys.path.insert(0, {str(TESTS)!r}); import zygote; zygote.zygote_main()"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self._ask(None)

    def _ask(self, request: dict | None) -> dict:
        if request is not None:
            self.process.stdin.write(json.dumps(request) + "\n")  # type: ignore[union-attr]
            self.process.stdin.flush()  # type: ignore[union-attr]
        line = self.process.stdout.readline()  # type: ignore[union-attr]
        assert line, "the zygote died"
        return json.loads(line)

    def start(self, argv: list[str], env: dict, out: Path, save_interval: float | None) -> int:
        return self._ask(
            {"argv": argv, "env": env, "out": str(out), "save_interval": save_interval}
        )["pid"]

    def wait(self, pid: int) -> tuple[int | None, int | None]:
        reply = self._ask({"wait": pid})
        return reply["code"], reply["signal"]

    def run(self, argv: list[str], env: dict, out: Path) -> tuple[int | None, str]:
        code, sig = self.wait(self.start(argv, env, out, None))
        assert sig is None, f"{argv} died of signal {sig}"
        return code, out.read_text(errors="replace")

    def close(self) -> None:
        self.process.stdin.close()  # type: ignore[union-attr]
        self.process.wait(30)
