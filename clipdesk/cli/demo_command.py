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

from clipdesk.cli.checks import non_empty, positive_int
from clipdesk.cli.output import one_line

DEMO_MODEL = "tiny-shapes"
DEMO_QUERIES = ("a red circle", "a photo of a blue square", "a yellow star", "a heart -green")
DEMO_SIZE = 60
DEMO_MAX = 5000


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo", help="index a generated sample library with the demo model and search it"
    )
    p.add_argument(
        "dir",
        nargs="?",
        type=non_empty,
        metavar="DIR",
        help="where to put it: a new or empty folder (default: data dir)",
    )
    p.add_argument(
        "--count",
        type=_count,
        default=DEMO_SIZE,
        help=f"number of sample pictures (1 to {DEMO_MAX:,})",
    )
    p.add_argument("-n", type=positive_int, default=3, metavar="N", help="results shown per query")
    p.set_defaults(func=cmd_demo)


def _count(text: str) -> int:
    value = positive_int(text)
    if value > DEMO_MAX:
        raise argparse.ArgumentTypeError(f"at most {DEMO_MAX:,} sample pictures, got {value:,}")
    return value


def cmd_demo(args: argparse.Namespace) -> int:
    from clipdesk.cli.errors import CliError
    from clipdesk.cli.library_commands import check_model_name
    from clipdesk.cli.progress_bar import run_job
    from clipdesk.core import paths
    from clipdesk.core.errors import FolderError, LibraryError
    from clipdesk.core.library import Library
    from clipdesk.training.shapes import write_sample_library

    check_model_name(args.model)
    base = Path(args.dir).expanduser() if args.dir else paths.data_dir() / "demo"
    photos = base / "photos"
    truth_file = base / "captions.json"
    try:
        captions = _earlier_demo(base, photos, truth_file)
    except OSError as exc:  # a path the system cannot use: too long, below a file
        raise CliError(f"cannot use {one_line(os.fspath(base))}: {exc.strerror or exc}") from exc
    if captions is None:
        try:  # before the first line: a folder below a file is one error, alone
            paths.ensure_folder(photos, "demo folder")
        except FolderError as exc:
            raise CliError(one_line(str(exc))) from exc
        print(
            f"Writing {args.count} sample pictures to {one_line(os.fspath(photos))} ...",
            file=sys.stderr,
        )
        try:
            records = write_sample_library(photos, args.count, seed=0)
        except OSError as exc:
            raise CliError(f"cannot write the sample pictures: {exc}") from exc
        captions = {os.fspath(Path(r.path).resolve()): r.caption for r in records}
        truth_file.write_text(json.dumps(captions, indent=1))
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
                    print(f"  {hit.score:.3f}  {one_line(Path(hit.path).name):<14} {caption}")
            first = sorted(captions)[0]
            print(f"similar {Path(first).name} ({captions[first]})")
            for hit in library.similar(first, k=args.n).hits:
                name = one_line(Path(hit.path).name)
                print(f"  {hit.score:.3f}  {name:<14} {captions.get(hit.path, '')}")
    except LibraryError as exc:
        raise CliError(str(exc)) from exc
    print(
        f"\nTry it yourself: clipdesk --library {one_line(os.fspath(library_dir))} "
        "search 'two small squares'",
        file=sys.stderr,
    )
    return 0


def _earlier_demo(base: Path, photos: Path, truth_file: Path) -> dict[str, str] | None:
    """The captions of a demo written here before; None when there is none yet.

    The demo writes only into a new or empty folder: files of the user's that happen to
    share a sample picture's name (``photos/IMG_0001.jpg``) are never written over.
    """
    from clipdesk.cli.errors import CliError

    if base.exists() and not base.is_dir():
        raise CliError(f"not a folder: {one_line(os.fspath(base))}")
    if truth_file.is_file() or truth_file.is_symlink():
        try:
            captions = json.loads(truth_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CliError(
                f"{one_line(os.fspath(truth_file))} is not a clipdesk demo's captions file "
                f"({exc.__class__.__name__}); choose a new folder for the demo"
            ) from exc
        if not (
            isinstance(captions, dict)
            and captions
            and all(isinstance(k, str) and isinstance(v, str) for k, v in captions.items())
        ):
            raise CliError(
                f"{one_line(os.fspath(truth_file))} is not a clipdesk demo's captions file; "
                "choose a new folder for the demo"
            )
        return captions
    if truth_file.exists():
        raise CliError(f"{one_line(os.fspath(truth_file))} is not a file; choose a new folder")
    if photos.exists() and (not photos.is_dir() or any(photos.iterdir())):
        raise CliError(
            f"{one_line(os.fspath(photos))} already exists and the demo never writes over "
            "files; choose a new or empty folder for it"
        )
    return None
