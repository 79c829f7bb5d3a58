"""Answering other clipdesk processes' searches from a library that is already open.

``clipdesk watch`` and the window keep a library, its model and its index loaded. A
``clipdesk search`` in a terminal would load them all again, about a second of imports
and model loading; asked here, it gets the same answer in a few milliseconds. The answer
must be the one that command would have found itself, so a request is declined (and the
command searches on its own) whenever this process could answer differently: another
model, an index not yet in step with what another process wrote to the catalog, or any
error at all, which the command then reports in its own words.

The searches are reads, run on this server's threads as the window's searches run on its
pool: they never wait for the writer lane.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clipdesk.core.serve.endpoint import PROTOCOL, Endpoint
from clipdesk.core.serve.wire import decode, encode, query_from_wire, results_to_wire

if TYPE_CHECKING:
    from clipdesk.core.lane import JobHandle
    from clipdesk.core.library import Library

__all__ = ["SearchServer"]

log = logging.getLogger(__name__)

_MAX_REQUEST = 1 << 20
_REQUEST_WAIT_S = 5.0


class SearchServer:
    """Serves searches of ``library`` at ``endpoint`` from :meth:`start` to :meth:`stop`."""

    def __init__(self, library: Library, endpoint: Endpoint, *, threads: int = 4) -> None:
        self._library = library
        self._endpoint = endpoint
        self._threads = threads
        self._listener: Listener | None = None
        self._key: bytes | None = None
        self._accepting: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self.served = 0  # searches answered here, for the tests and the curious
        self._catching_up: JobHandle[None] | None = None

    def start(self) -> bool:
        """Listen; False (and nothing started) when another clipdesk already serves this
        library, or the endpoint cannot be made."""
        from clipdesk.core.serve.client import ping

        endpoint = self._endpoint
        if ping(endpoint):
            return False
        if endpoint.family == "AF_UNIX" and os.path.exists(endpoint.address):
            try:
                Path(endpoint.address).unlink()  # left by a clipdesk that was killed
            except OSError:
                return False
        try:
            self._key = endpoint.write_key()
            self._listener = Listener(endpoint.address, endpoint.family, authkey=self._key)
        except OSError as exc:
            log.info("not serving searches at %s: %s", endpoint.address, exc)
            self._listener = None
            return False
        self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="clipdesk-serve")
        self._accepting = threading.Thread(
            target=self._accept_loop, name="clipdesk-serve-accept", daemon=True
        )
        self._accepting.start()
        return True

    def stop(self) -> None:
        """Stop listening, finish the searches under way, and remove the endpoint."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        self._stopping.set()
        # Wakes accept(), which waits without a timeout. Without a key the connection does
        # no handshake: if the loop saw the stop first and ended, nobody answers one, and
        # stop() must not wait for an answer that never comes. The loop drops it unread.
        try:
            Client(self._endpoint.address, self._endpoint.family).close()
        except Exception as exc:  # stopping must not fail: the accept loop is a daemon
            log.debug("waking the accept loop: %s", exc)
        if self._accepting is not None:
            self._accepting.join(5.0)
        listener.close()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self._endpoint.read_key() == self._key:
            self._endpoint.remove_key()

    def _accept_loop(self) -> None:
        listener = self._listener
        while listener is not None and not self._stopping.is_set():
            try:
                conn = listener.accept()
            except (AuthenticationError, EOFError, ConnectionError) as exc:
                if self._stopping.is_set():
                    return
                log.debug("refused a connection: %s", exc)  # a wrong key, or it hung up
                continue
            except OSError as exc:  # the socket itself is gone: stop serving, quietly
                log.info("stopped serving searches: %s", exc)
                return
            if self._stopping.is_set() or self._pool is None:
                conn.close()
                return
            self._pool.submit(self._answer, conn)

    def _answer(self, conn: Connection) -> None:
        with conn:
            try:
                if not conn.poll(_REQUEST_WAIT_S):
                    return
                request = decode(conn.recv_bytes(_MAX_REQUEST))
            except (OSError, EOFError, ValueError, UnicodeDecodeError) as exc:
                log.debug("unreadable request: %s", exc)
                return
            reply = self.reply(request)
            try:
                conn.send_bytes(encode(reply))
            except (OSError, ValueError) as exc:
                log.debug("the client left before its answer: %s", exc)

    def reply(self, request: dict[str, Any]) -> dict[str, Any]:
        """The answer to one request: results, or why this process will not answer."""
        if request.get("protocol") != PROTOCOL:
            return _declined("another version of clipdesk")
        op = request.get("op")
        if op == "ping":
            return {"protocol": PROTOCOL, "pid": os.getpid()}
        if op != "search":
            return _declined(f"unknown request {op!r}")
        library = self._library
        if request.get("location") != os.fspath(library.location):
            return _declined("another library")
        model = request.get("model")
        if model is not None and not isinstance(model, str):
            return _declined("bad model name")
        try:
            if library.model.would_choose(model) != library.model_name:
                return _declined("another model")
            query = query_from_wire(request["query"])
            if not library.index_matches_catalog():
                self._catch_up()
                return _declined("the index is catching up with another process")
            results = library.find(query)
        except Exception as exc:  # the command reports it itself, in its own words
            log.debug("declined a search: %s", exc)
            return _declined(type(exc).__name__)
        results.query = str(request.get("text", query.text))
        with self._lock:
            self.served += 1
        return {"protocol": PROTOCOL, "results": results_to_wire(results)}

    def _catch_up(self) -> None:
        """Have the writer catch the index up, once at a time: until then, every request
        is declined, and a watcher whose own folders did not change might not write (and
        so catch up) for a long time."""
        with self._lock:
            if self._catching_up is not None and not self._catching_up.done():
                return
            self._catching_up = self._library.catch_up()


def _declined(reason: str) -> dict[str, Any]:
    return {"protocol": PROTOCOL, "declined": reason}
