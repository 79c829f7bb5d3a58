"""Asking a running clipdesk to search a library it has open (``server.py``).

Everything here fails quietly into None: no server, a stale socket, a key that no longer
matches, a server of another version, one that declines or does not answer in time. The
caller then does the work itself, so asking can make a command faster and never wrong.
Only the standard library is imported, and the connection's module only when a
clipdesk may be serving: asking must cost far less than searching.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from clipdesk.core.serve.endpoint import PROTOCOL, Endpoint, endpoint_for
from clipdesk.core.serve.wire import decode, encode

__all__ = ["ask", "ping", "search_request"]

CONNECT_TIMEOUT_S = 2.0  # a server that does not take the call by then is stuck
REPLY_TIMEOUT_S = 120.0  # a search of a large library with a wide filter takes seconds
_MAX_REPLY = 256 << 20


def search_request(
    location: str | os.PathLike[str], query: dict[str, Any], text: str, model: str | None
) -> dict[str, Any]:
    """A search of the folder library at ``location`` (``wire.query_to_wire``)."""
    return {
        "protocol": PROTOCOL,
        "op": "search",
        "location": os.fspath(location),
        "model": model,
        "text": text,
        "query": query,
    }


def ask(
    location: str | os.PathLike[str],
    request: dict[str, Any],
    *,
    reply_timeout_s: float = REPLY_TIMEOUT_S,
) -> dict[str, Any] | None:
    """The reply of the clipdesk serving the library at ``location``, or None."""
    endpoint = endpoint_for(location)
    if endpoint is None:
        return None
    return _exchange(endpoint, request, reply_timeout_s)


def ping(endpoint: Endpoint) -> bool:
    """Whether a clipdesk answers at ``endpoint``."""
    reply = _exchange(endpoint, {"protocol": PROTOCOL, "op": "ping"}, CONNECT_TIMEOUT_S)
    return reply is not None and "pid" in reply


def _exchange(
    endpoint: Endpoint, request: dict[str, Any], reply_timeout_s: float
) -> dict[str, Any] | None:
    if endpoint.family == "AF_UNIX" and not os.path.exists(endpoint.address):
        return None  # nobody serves this library: the common case, decided without a call
    key = endpoint.read_key()
    if key is None:
        return None
    from multiprocessing.connection import Client  # only when someone may be serving

    connected = threading.Event()
    box: list[dict[str, Any]] = []

    def talk() -> None:
        try:
            with Client(endpoint.address, endpoint.family, authkey=key) as conn:
                connected.set()
                conn.send_bytes(encode(request))
                if conn.poll(reply_timeout_s):
                    box.append(decode(conn.recv_bytes(_MAX_REPLY)))
        except Exception:  # refused, stale, another key, cut off: the caller works alone
            pass
        finally:
            connected.set()

    # A thread, so that a server that is stopped (SIGSTOP) or stuck cannot hang the caller.
    thread = threading.Thread(target=talk, name="clipdesk-ask", daemon=True)
    thread.start()
    if not connected.wait(CONNECT_TIMEOUT_S):
        return None
    thread.join(reply_timeout_s + 1.0)
    if not box or box[0].get("protocol") != PROTOCOL:
        return None
    return box[0]
