"""``clipdesk dupes``: groups of near-duplicate photos (bursts, edits, re-saves)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clipdesk.core.library import Library


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from clipdesk.cli.checks import similarity
    from clipdesk.core.dupe_threshold import DEFAULT_THRESHOLD

    p = subparsers.add_parser("dupes", help="find groups of near-duplicate photos")
    p.add_argument(
        "--threshold",
        type=similarity,
        default=DEFAULT_THRESHOLD,
        metavar="T",
        help=f"cosine similarity from which photos count as copies (default {DEFAULT_THRESHOLD})",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_dupes)


def cmd_dupes(args: argparse.Namespace) -> int:
    from clipdesk.cli.library_commands import with_library
    from clipdesk.cli.output import one_line, print_json
    from clipdesk.cli.progress_bar import run_job
    from clipdesk.core.dupes import find_duplicates

    def action(library: Library) -> int:
        report = run_job(find_duplicates(library, threshold=args.threshold))
        if args.json:
            print_json(
                {
                    "threshold": report.threshold,
                    "model": library.model_name,
                    "groups": [g.to_json() for g in report.groups],
                }
            )
            return 0
        if not report.groups:
            print(f"no near-duplicates among {report.photos} photos", file=sys.stderr)
        for number, group in enumerate(report.groups, 1):
            print(
                f"group {number}  ({len(group.photos)} photos, similarity {group.similarity:.3f})"
            )
            for i, photo in enumerate(group.photos):
                mark = "keep" if i == 0 else "    "
                size = f"{photo.width}x{photo.height}" if photo.width else "?"
                print(f"  {mark} {photo.similarity:.3f}  {size:>11}  {one_line(photo.path)}")
        return 0

    return with_library(args, action)
