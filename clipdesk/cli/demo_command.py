"""``clipdesk demo``: see clipdesk work in a minute, with no download.

Writes a folder of generated pictures (coloured shapes on varied backgrounds), indexes it
with the bundled demo model ``tiny-shapes`` and runs a few searches.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

DEMO_MODEL = "tiny-shapes"
DEMO_QUERIES = ("a red circle", "a photo of a blue square", "a yellow star", "a heart -green")
DEMO_SIZE = 60


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo", help="index a generated sample library with the demo model and search it"
    )
    p.add_argument("dir", nargs="?", metavar="DIR", help="where to put it (default: data dir)")
    p.add_argument("--count", type=int, default=DEMO_SIZE, help="number of sample pictures")
    p.add_argument("-n", type=int, default=3, metavar="N", help="results shown per query")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from clipdesk.cli.errors import CliError
    from clipdesk.cli.progress_bar import run_job
    from clipdesk.core import paths
    from clipdesk.core.errors import LibraryError
    from clipdesk.core.library import Library
    from clipdesk.training.shapes import write_sample_library

    base = Path(args.dir).expanduser() if args.dir else paths.data_dir() / "demo"
    photos = base / "photos"
    truth_file = base / "captions.json"
    if not truth_file.exists():
        print(f"Writing {args.count} sample pictures to {photos} ...", file=sys.stderr)
        records = write_sample_library(photos, args.count, seed=0)
        captions = {os.fspath(Path(r.path).resolve()): r.caption for r in records}
        truth_file.write_text(json.dumps(captions, indent=1))
    captions = json.loads(truth_file.read_text())
    library_dir = args.library or base / "library"
    model = args.model or DEMO_MODEL
    try:
        with Library.open(library_dir, model=model) as library:
            report = run_job(library.index([photos]))
            print(
                f"Indexed {report.decoded} pictures ({report.encoded} embedded) with "
                f"{library.model_name} on {library.device} in {report.elapsed_s:.1f} s.\n",
                file=sys.stderr,
            )
            for query in DEMO_QUERIES:
                results = library.search(query, k=args.n)
                print(f'search "{query}"')
                for hit in results.hits:
                    caption = captions.get(hit.path, "")
                    print(f"  {hit.score:.3f}  {Path(hit.path).name:<14} {caption}")
            first = sorted(captions)[0]
            print(f"similar {Path(first).name} ({captions[first]})")
            for hit in library.similar(first, k=args.n).hits:
                print(f"  {hit.score:.3f}  {Path(hit.path).name:<14} {captions.get(hit.path, '')}")
    except LibraryError as exc:
        raise CliError(str(exc)) from exc
    print(
        f"\nTry it yourself: clipdesk --library {library_dir} search 'two small squares'",
        file=sys.stderr,
    )
    return 0
