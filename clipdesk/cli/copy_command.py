"""`clipdesk library copy SRC DST`: move a library between a folder and PostgreSQL.

The ``library`` group also holds ``roots``, ``mount`` and ``unmount``
(:mod:`clipdesk.cli.mount_commands`)."""

from __future__ import annotations

import argparse

__all__ = ["add_parser"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from clipdesk.cli.checks import non_empty
    from clipdesk.cli.mount_commands import add_subparsers

    p = subparsers.add_parser(
        "library", help="whole libraries: copy one to another store; where roots are mounted"
    )
    sub = p.add_subparsers(dest="library_command", required=True, metavar="COMMAND")
    copy = sub.add_parser(
        "copy",
        help="copy a library (folder or postgresql://...) into a new one, vectors included",
    )
    copy.add_argument("source", type=non_empty, metavar="SRC", help="library folder or address")
    copy.add_argument("target", type=non_empty, metavar="DST", help="new library folder or address")
    copy.add_argument("--json", action="store_true", help="print JSON")
    copy.set_defaults(func=cmd_copy)
    add_subparsers(sub)


def cmd_copy(args: argparse.Namespace) -> int:
    from clipdesk.cli.errors import CliError
    from clipdesk.cli.output import one_line, print_json
    from clipdesk.core.errors import CatalogError, LibraryError
    from clipdesk.core.stores import open_store
    from clipdesk.core.stores.copy import copy_library

    try:
        source = open_store(args.source, read_only=True)
    except CatalogError as exc:
        raise CliError(str(exc)) from exc
    try:
        target = open_store(args.target)
    except CatalogError as exc:
        source.close()
        raise CliError(str(exc)) from exc
    try:
        report = copy_library(source, target)
    except (LibraryError, CatalogError) as exc:
        raise CliError(str(exc)) from exc
    finally:
        target.close()
        source.close()
    if args.json:
        print_json({"source": source.location, "target": target.location,
                    "files": report.files, "vectors": report.vectors})  # fmt: skip
    else:
        print(
            f"copied {report.files} files and {report.vectors} vectors from "
            f"{one_line(source.location)} to {one_line(target.location)}"
        )
    return 0
