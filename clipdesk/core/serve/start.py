"""Starting a :class:`SearchServer` for a library a long-running clipdesk holds open."""

from __future__ import annotations

from typing import TYPE_CHECKING

from clipdesk.core.serve import serving_enabled

if TYPE_CHECKING:
    from clipdesk.core.library import Library
    from clipdesk.core.serve.server import SearchServer

__all__ = ["serve_searches"]


def serve_searches(library: Library) -> SearchServer | None:
    """Serve ``library``'s searches to other clipdesk processes; None when serving is
    off (``CLIPDESK_SERVE=0``), the library lives in PostgreSQL (each process there
    reads the server itself), or another clipdesk serves it already."""
    from clipdesk.core.paths import is_database_url

    if not serving_enabled() or is_database_url(library.location):
        return None
    from clipdesk.core.serve.endpoint import endpoint_for
    from clipdesk.core.serve.server import SearchServer

    endpoint = endpoint_for(library.location, create=True)
    if endpoint is None:
        return None
    server = SearchServer(library, endpoint)
    return server if server.start() else None
