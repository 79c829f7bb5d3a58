"""The clipdesk command line.

Each command group lives in its own module exposing ``add_parser(subparsers)``, which
registers its sub-commands and sets ``func`` to a handler ``(args) -> int``. Heavy
imports (torch, open_clip, Qt) happen inside handlers so that ``clipdesk --help`` is fast.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from clipdesk.cli.errors import CliError

__all__ = ["CliError", "build_parser", "main"]

# Modules under clipdesk.cli that each add one or more commands, in --help order.
COMMAND_MODULES = (
    "library_commands",
    "watch_command",
    "tag_commands",
    "dupes_command",
    "people_commands",
    "model_commands",
    "embed_command",
    "copy_command",
    "demo_command",
    "gui_command",
)


class _Parser(argparse.ArgumentParser):
    """argparse, with bad usage reported as one line (exit 2) like every other error."""

    def error(self, message: str) -> NoReturn:
        from clipdesk.cli.output import one_line

        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


class _Version(argparse.Action):
    """``--version``: the package metadata is read only when asked (see ``clipdesk``)."""

    def __call__(self, parser: argparse.ArgumentParser, *_args: object) -> NoReturn:
        import clipdesk

        print(f"clipdesk {clipdesk.__version__}")  # on stdout, as argparse's own action
        parser.exit(0)


def build_parser() -> argparse.ArgumentParser:
    from clipdesk.cli.checks import non_empty

    parser = _Parser(
        prog="clipdesk",
        description="Search your own photos by what is in them. Everything stays on this machine.",
    )
    parser.add_argument(
        "--version", action=_Version, nargs=0, help="show program's version number and exit"
    )
    parser.add_argument(
        "--library",
        type=non_empty,
        metavar="DIR",
        help=(
            "library directory, or postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME for a "
            "shared library (default: $CLIPDESK_LIBRARY, else the user data dir)"
        ),
    )
    parser.add_argument(
        "--model",
        type=non_empty,
        metavar="NAME",
        help="model name (default: $CLIPDESK_MODEL, else the library's model, else the default)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    import importlib

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"clipdesk.cli.{name}")
        except ModuleNotFoundError as exc:  # a command group not built yet
            if exc.name != f"clipdesk.cli.{name}":
                raise
            continue
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    _keep_file_names_printable()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        if _has_display():
            args = parser.parse_args([*(argv or sys.argv[1:]), "gui"])
        else:
            parser.print_help()
            return 2
    from clipdesk.cli.interrupts import interrupted_cleanup, quiet_interrupted_cleanup
    from clipdesk.core.errors import CatalogError, FolderError, ReaderModelsMissing

    quiet_interrupted_cleanup()
    try:
        return int(args.func(args) or 0)
    except (CliError, CatalogError, FolderError, ReaderModelsMissing) as exc:  # refused
        from clipdesk.cli.output import one_line

        print(f"clipdesk: error: {one_line(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("clipdesk: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if not interrupted_cleanup(exc):
            raise
        print("clipdesk: interrupted", file=sys.stderr)
        return 130


def _keep_file_names_printable() -> None:
    """A file name that is not valid UTF-8 prints as its own bytes, as ``ls`` does,
    rather than failing under a strict UTF-8 locale."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            stream.reconfigure(errors="surrogateescape")


def _has_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
