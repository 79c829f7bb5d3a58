"""``clipdesk watch PATH...``: index, then keep following changes until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import TYPE_CHECKING

from clipdesk.cli.checks import (
    existing_folders,
    non_empty,
    non_negative_seconds,
    positive_int,
    positive_seconds,
)

if TYPE_CHECKING:
    from clipdesk.core.library import Library
    from clipdesk.core.watch import WatchEvent


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "watch",
        help="index folders, then follow their changes until Ctrl+C",
        description=(
            "Add folders (if given) and follow every root of the library: new, changed, "
            "moved and deleted photos are picked up as they happen. Stops cleanly on "
            "Ctrl+C or SIGTERM."
        ),
    )
    p.add_argument(
        "paths",
        nargs="*",
        type=non_empty,
        metavar="PATH",
        help="folders to add (default: all roots)",
    )
    p.add_argument(
        "--poll",
        action="store_true",
        help="walk the folders every --interval seconds instead of using file system events",
    )
    p.add_argument(
        "--interval", type=positive_seconds, default=30.0, metavar="S", help="polling interval (30)"
    )
    p.add_argument(
        "--settle",
        type=non_negative_seconds,
        default=2.0,
        metavar="S",
        help="read a new file once unchanged for this long (2)",
    )
    p.add_argument("--workers", type=positive_int, help="decode processes (default: cores - 1)")
    p.add_argument("--json", action="store_true", help="print one JSON object per event")
    p.set_defaults(func=cmd_watch)


def _printer(as_json: bool):  # type: ignore[no-untyped-def]
    from clipdesk.cli.output import print_json_line
    from clipdesk.core.watch import WatchEventKind

    lock = threading.Lock()

    def show(event: WatchEvent) -> None:
        with lock:
            if as_json:
                print_json_line(event.to_json())
                return
            if event.kind == WatchEventKind.PROGRESS:
                return
            if event.kind == WatchEventKind.UPDATED and event.report is not None:
                r = event.report
                scenes = f", {r.scenes_encoded} video scenes" if r.scenes_encoded else ""
                unread = f", {r.unread} with text and faces unread" if r.unread else ""
                print(
                    f"updated: {r.added} new, {r.changed} changed, {r.moved} moved, "
                    f"{r.removed} removed; {r.decoded} read, {r.encoded} embedded{scenes}, "
                    f"{r.skipped} skipped{unread}",
                    file=sys.stderr,
                )
                if r.tagging is not None and r.tagging.report is not None:
                    print(f"tagged: {r.tagging.report.photos} photos", file=sys.stderr)
                elif r.tagging is not None:
                    print(f"warning: tagging skipped: {r.tagging.error}", file=sys.stderr)
            elif event.message:
                print(f"{event.kind}: {event.message}", file=sys.stderr)
            elif event.kind in (WatchEventKind.STARTED, WatchEventKind.STOPPED):
                print(f"{event.kind}", file=sys.stderr)

    return show


def cmd_watch(args: argparse.Namespace) -> int:
    from clipdesk.cli.errors import CliError
    from clipdesk.cli.library_commands import with_library
    from clipdesk.core.serve.start import serve_searches
    from clipdesk.core.watch import LibraryWatcher, WatchMode, WatchSettings

    folders = existing_folders(args.paths)
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    def action(library: Library) -> int:
        for folder in folders:
            library.add_root(folder)
        if not library.roots():
            raise CliError("nothing to watch: give a folder, e.g. clipdesk watch ~/Pictures")
        settings = WatchSettings(
            mode=WatchMode.POLL if args.poll else WatchMode.AUTO,
            poll_interval_s=args.interval,
            settle_s=args.settle,
            workers=args.workers,
        )
        watcher = LibraryWatcher(library, settings, on_event=_printer(args.json))
        previous = signal.signal(signal.SIGTERM, on_signal)
        watcher.start()
        server = serve_searches(library)
        if server is not None and not args.json:
            print("answering `clipdesk search` and `similar` for this library", file=sys.stderr)
        interrupted = False
        try:
            while not stop.is_set() and watcher.running:
                stop.wait(0.5)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            if server is not None:
                server.stop()
            watcher.stop()
            signal.signal(signal.SIGTERM, previous)
        totals = watcher.totals
        if not args.json:
            print(
                f"stopped: {totals.decoded} files read, {totals.encoded} embedded, "
                f"{totals.moved} moves followed, {totals.removed} removed",
                file=sys.stderr,
            )
        return 0 if stop.is_set() or interrupted else 1  # else the watcher failed

    return with_library(args, action)
