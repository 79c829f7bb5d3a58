"""The command line's own error, apart from the package's ``__init__``.

Command modules raise it; ``clipdesk.cli`` imports those modules by name to register
their commands. Keeping the class here lets the commands import it without importing
``clipdesk.cli`` back, so the two never form an import cycle.
"""

from __future__ import annotations


class CliError(Exception):
    """A failure to report as one clear line on stderr, with exit status 1."""
