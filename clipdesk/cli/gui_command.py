"""``clipdesk gui``: the desktop app (also what ``clipdesk`` alone opens on a desktop)."""

from __future__ import annotations

import argparse
import os


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("gui", help="open the desktop app")
    # SUPPRESS: without the option here, the global --library/--model still count.
    p.add_argument("--library", metavar="DIR", default=argparse.SUPPRESS, help="library directory")
    p.add_argument("--model", metavar="NAME", default=argparse.SUPPRESS, help="model name")
    p.add_argument("--device", metavar="DEVICE", help="auto, cpu, cuda or mps")
    p.add_argument("--query", metavar="TEXT", help="search for TEXT at start")
    p.add_argument("--similar", metavar="IMG", help="search for photos like IMG at start")
    p.add_argument(
        "--screenshot",
        metavar="FILE.png",
        help="run the query, wait for results and thumbnails, save the window, exit",
    )
    p.add_argument(
        "--size", metavar="WxH", default="1280x820", type=_size, help="window size (1280x820)"
    )
    p.set_defaults(func=cmd_gui)


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    if not (200 <= width <= 8000 and 200 <= height <= 8000):
        raise argparse.ArgumentTypeError("width and height must be between 200 and 8000")
    return width, height


def cmd_gui(args: argparse.Namespace) -> int:
    from clipdesk.cli.errors import CliError

    if args.similar and not os.path.isfile(args.similar):
        raise CliError(f"no such file: {args.similar}")
    from clipdesk.cli.desktop_libs import desktop_problem

    problem = desktop_problem()
    if problem is not None:  # Qt would abort with a page of plugin diagnostics
        raise CliError(problem)
    try:
        from clipdesk.gui import LaunchOptions, run_gui
        from clipdesk.gui.compat import check_binding

        check_binding()
    except (ImportError, RuntimeError) as exc:  # no Qt system libraries, a broken binding
        raise CliError(f"the desktop app cannot start: {exc}") from exc
    options = LaunchOptions(
        library=getattr(args, "library", None),
        model=getattr(args, "model", None),
        device=args.device,
        query=args.query,
        similar=args.similar,
        screenshot=args.screenshot,
        size=args.size,
    )
    return run_gui(options)
