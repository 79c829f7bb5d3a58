"""``clipdesk search`` and ``similar`` ask a running clipdesk first (``clipdesk.core.serve``).

``clipdesk watch`` and the window keep the library, its model and its index loaded; when
one of them has this library open, the answer comes from it in milliseconds instead of
the half second a new process needs to import and load everything. Anything it will not or
cannot answer the same way as this process would, it declines, and the command searches
on its own. A search within ``--folder`` always does: the folder is checked against the
library's roots first, with the library open.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clipdesk.core.search import SearchQuery
    from clipdesk.core.serve.wire import ServedResults

__all__ = ["served_results"]


def served_results(
    args: argparse.Namespace, query: SearchQuery, *, text: str
) -> ServedResults | None:
    """The results of ``query`` from the clipdesk serving this library, or None;
    ``text`` is what the results say was asked (``search``'s text, ``similar``'s image)."""
    from clipdesk.core.serve import serving_enabled

    if not serving_enabled() or query.filters.folder is not None:
        return None
    from clipdesk.core.paths import library_location

    try:
        location = library_location(args.library)
    except (ValueError, RuntimeError, OSError):  # the command says what is wrong with it
        return None
    if not isinstance(location, Path):  # a shared library in PostgreSQL
        return None
    from clipdesk.core.serve.client import ask, search_request
    from clipdesk.core.serve.wire import query_to_wire, results_from_wire

    if query.image is not None:  # the server does not share this process's folder
        query = replace(query, image=os.path.abspath(os.path.expanduser(query.image)))
    model = args.model or os.environ.get("CLIPDESK_MODEL") or None
    reply = ask(location, search_request(location, query_to_wire(query), text, model))
    if reply is None or "results" not in reply:
        return None
    try:
        return results_from_wire(reply["results"])
    except (KeyError, TypeError, ValueError):
        return None
