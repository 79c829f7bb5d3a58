"""A running clipdesk answers the searches of other clipdesk processes.

- ``endpoint.py``: where: one socket (or pipe) and key per library, private to the user;
- ``wire.py``: what: requests and answers as JSON;
- ``server.py``: :class:`SearchServer`, run by ``clipdesk watch`` and the window;
- ``client.py``: :func:`ask`, used by ``clipdesk search`` before it loads anything.

``CLIPDESK_SERVE=0`` turns both sides off.
"""

from __future__ import annotations

import os

__all__ = ["serving_enabled"]


def serving_enabled() -> bool:
    """Whether this process may serve, or ask, over an endpoint (``CLIPDESK_SERVE``)."""
    return os.environ.get("CLIPDESK_SERVE", "1").strip().lower() not in ("0", "no", "false", "off")
