"""Commands over one library: index, search, similar, status, check, roots."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from clipdesk.cli.checks import (
    check_search_folder,
    containing_root,
    existing_folders,
    non_empty,
    positive_int,
    tag_name,
)
from clipdesk.cli.output import one_line, print_json

if TYPE_CHECKING:
    from clipdesk.core.changes import IndexReport
    from clipdesk.core.errors import CatalogError
    from clipdesk.core.library import CheckReport, Library
    from clipdesk.core.search import Filters, SearchResults
    from clipdesk.core.serve.wire import ServedResults
    from clipdesk.core.tags.retag import RetagOutcome


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("index", help="add folders and index their photos")
    p.add_argument(
        "paths",
        nargs="*",
        type=non_empty,
        metavar="PATH",
        help="folders to add (default: all roots)",
    )
    p.add_argument(
        "--workers", type=positive_int, help="decode processes (default: cores - 1, at least 2)"
    )
    p.add_argument("--batch-size", type=positive_int, default=32, help="images per encoder batch")
    p.add_argument(
        "--ray",
        type=non_empty,
        metavar="ADDRESS",
        help="read and embed on Ray: `local` (this computer's cores), `auto` or "
        "ray://HOST:PORT (a running cluster); see docs/scale.md",
    )
    p.add_argument("--json", action="store_true", help="print a JSON report")
    p.add_argument(
        "--no-tags", action="store_true", help="do not tag new photos afterwards (`tags run` does)"
    )
    p.add_argument(
        "--no-ocr",
        dest="text",
        action="store_const",
        const=False,
        default=None,
        help="do not read text in photos in this run (text: searches find what was read)",
    )
    faces = p.add_mutually_exclusive_group()
    faces.add_argument(
        "--no-faces",
        dest="faces",
        action="store_false",
        default=None,
        help="do not look for faces in this run",
    )
    faces.add_argument(
        "--faces",
        dest="faces",
        action="store_true",
        help="look for faces, and keep doing so (after `people forget-all` turned it off)",
    )
    p.set_defaults(func=cmd_index)

    p = subparsers.add_parser("search", help="find photos by text (and optionally an image)")
    p.add_argument(
        "text",
        nargs="?",
        default="",
        metavar="TEXT",
        help='what to look for; "-word" lowers photos that match word; operators '
        'text:WORD text:"some words" place:NAME after:DATE before:DATE camera:WORD '
        "tag:NAME folder:DIR type:TYPE narrow it (alone, they list photos newest first)",
    )
    p.add_argument("-n", type=positive_int, default=20, metavar="N", help="number of results")
    p.add_argument("--image", type=non_empty, metavar="IMG", help="also match this image")
    p.add_argument("--folder", type=non_empty, metavar="DIR", help="only photos below this folder")
    p.add_argument(
        "--tag",
        type=tag_name,
        metavar="TAG",
        help="only photos with this tag (all of them if no TEXT)",
    )
    _add_filter_arguments(p)
    p.add_argument(
        "--sort",
        choices=("relevance", "date"),
        default="relevance",
        help="order of the results: best match first, or newest first (taken-at time)",
    )
    _add_scene_argument(p)
    _add_update_argument(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_search)

    p = subparsers.add_parser("similar", help="find photos that look like an image")
    p.add_argument("image", type=non_empty, metavar="IMG")
    p.add_argument("-n", type=positive_int, default=20, metavar="N", help="number of results")
    p.add_argument("--folder", type=non_empty, metavar="DIR", help="only photos below this folder")
    _add_filter_arguments(p)
    _add_scene_argument(p)
    _add_update_argument(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_similar)

    p = subparsers.add_parser("status", help="what is indexed, pending, skipped, offline")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_status)

    p = subparsers.add_parser("check", help="check database, index and disk agree")
    p.add_argument("--repair", action="store_true", help="fix what can be fixed")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_check)

    p = subparsers.add_parser("roots", help="list the library's folders, or remove one")
    p.add_argument("--remove", type=non_empty, metavar="PATH", help="stop indexing this folder")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_roots)


def _add_filter_arguments(p: argparse.ArgumentParser) -> None:
    """Filters ``search`` and ``similar`` share; each narrows what may be returned."""
    from clipdesk.core.search.filetypes import TYPE_NAMES

    p.add_argument(
        "--after",
        metavar="DATE",
        help="only photos taken on or after DATE (YYYY, YYYY-MM or YYYY-MM-DD: its first day)",
    )
    p.add_argument("--before", metavar="DATE", help="only photos taken before DATE (its first day)")
    p.add_argument(
        "--type",
        dest="types",
        action="append",
        default=[],
        metavar="TYPE",
        help=f"only files of this type, repeatable: {', '.join(TYPE_NAMES)}",
    )
    p.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="DIR",
        help="leave out photos below this folder (repeatable)",
    )
    p.add_argument(
        "--person",
        dest="persons",
        action="append",
        default=[],
        type=non_empty,
        metavar="NAME",
        help="only photos of this person (name, id or 'Person 3'; repeatable: all of them)",
    )


def _add_scene_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--all-scenes",
        action="store_true",
        help="list every matching scene of a video, not only its best one",
    )


def _filters(args: argparse.Namespace) -> Filters:
    """The query's filters from the command line; a bad value is bad usage (``UsageError``)."""
    from clipdesk.core.errors import FileTypeError
    from clipdesk.core.search import Filters, extensions_of

    types = tuple(t.strip().lower() for v in args.types for t in v.split(",") if t.strip())
    try:
        extensions_of(types)  # unknown names are refused before the library opens
    except FileTypeError as exc:
        raise UsageError(f"--type: {exc}") from exc
    return Filters(
        folder=args.folder,
        excluded=tuple(args.exclude),
        after=_date("--after", args.after),
        before=_date("--before", args.before),
        types=types,
        persons=tuple(args.persons),
    )


def _date(flag: str, text: str | None) -> float | None:
    from clipdesk.core.errors import DateError
    from clipdesk.core.search import parse_date

    try:
        return None if text is None else parse_date(text)
    except DateError as exc:
        raise UsageError(f"{flag}: {exc}") from exc


class UsageError(Exception):
    """A bad option value: one line on stderr, exit status 2 (as argparse does)."""


def _usage(command: str, run: Callable[[], int]) -> int:
    try:
        return run()
    except UsageError as exc:
        print(f"clipdesk {command}: error: {exc}", file=sys.stderr)
        return 2


def with_library(
    args: argparse.Namespace,
    action: Callable[[Library], int],
    *,
    unopenable: Callable[[CatalogError], int] | None = None,
    tell_waits: bool = False,
) -> int:
    """Open the library named by the global options, turning its errors into CLI errors.

    ``unopenable`` handles a library that cannot be opened (``check`` reports it).
    ``tell_waits``: an edit that waits while another process writes to the library
    says so on stderr (a long job's progress says it itself).
    """
    import sqlite3

    from sqlalchemy.exc import DBAPIError

    from clipdesk.cli.errors import CliError
    from clipdesk.core.catalog.health import database_error_message
    from clipdesk.core.errors import CatalogError, LibraryError
    from clipdesk.core.library import Library

    check_model_name(args.model)
    try:
        library = Library.open(args.library, model=args.model)
    except CatalogError as exc:
        if unopenable is not None:
            return unopenable(exc)
        raise CliError(str(exc)) from exc
    if tell_waits:
        from clipdesk.cli.output import say

        library.writer.add_wait_listener(say)
    try:
        return action(library)
    except (LibraryError, CatalogError) as exc:
        raise CliError(str(exc)) from exc
    except (DBAPIError, sqlite3.DatabaseError) as exc:  # damaged, or a write to a read-only one
        raise CliError(database_error_message(exc, library.location)) from exc
    finally:
        library.close()


def check_model_name(name: str | None) -> None:
    """``--model`` must name a model clipdesk knows, before any library records it."""
    from clipdesk.cli.errors import CliError
    from clipdesk.core.models import ModelError, get_model

    if name is None:
        return
    try:
        get_model(name)
    except ModelError as exc:
        raise CliError(str(exc)) from exc


def cmd_index(args: argparse.Namespace) -> int:
    from clipdesk.cli.errors import CliError
    from clipdesk.cli.progress_bar import run_job

    folders = existing_folders(args.paths)

    def action(library: Library) -> int:
        roots = library.roots()
        if not folders and not roots:
            raise CliError("nothing to index: give a folder, e.g. clipdesk index ~/Pictures")
        for folder in folders:
            inside = containing_root(folder, roots)
            if inside is not None and os.fsencode(folder.resolve()) != inside:
                print(
                    f"note: {one_line(os.fspath(folder))} is inside "
                    f"{one_line(os.fsdecode(inside))}, which the library already indexes",
                    file=sys.stderr,
                )
        with contextlib.ExitStack() as stack:
            pool = None
            if args.ray:
                from clipdesk.core.cluster.ray_pool import RayReadPool

                pool = stack.enter_context(RayReadPool(args.ray, library.model_name))
            job = library.index(
                folders,
                workers=args.workers,
                batch_size=args.batch_size,
                retag=not args.no_tags,
                faces=args.faces,
                text=args.text,
                pool=pool,
            )
            report = run_job(job)
        _say_indexed(report, quiet=args.json)
        if args.json:
            print_json(report.to_json())
        return 0

    return with_library(args, action)


def _add_update_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--update",
        action="store_true",
        help="first index what changed in the library's folders, as `clipdesk index` does "
        "(a running clipdesk keeps them current and answers at once)",
    )


def _say_indexed(report: IndexReport, *, quiet: bool) -> None:
    """What an index run did, on stderr (``quiet``: only the warnings and notes)."""
    if not quiet:
        scenes = f", {report.scenes_encoded} video scenes" if report.scenes_encoded else ""
        print(
            f"Indexed {report.decoded} files in {report.elapsed_s:.1f} s "
            f"({report.encoded} embedded{scenes}, {report.reused} reused, "
            f"{report.moved} moved, {report.removed} removed, {report.skipped} skipped)",
            file=sys.stderr,
        )
        _say_read_findings(report)
        for root in report.offline_roots:
            print(f"offline (kept as it was): {root}", file=sys.stderr)
    _say_models_missing(report.models_missing)
    _say_tagged(report.tagging, quiet=quiet)


def _update(library: Library, filters: Filters) -> Callable[[], None]:
    """``--update`` of ``search`` and ``similar``: index what changed in the library's
    folders first, as ``clipdesk index`` does, saying on stderr what it did only when
    anything changed (a search repeated on an unchanged library stays quiet).

    Only what the answer needs comes before it: every new photo embedded. Reading text
    and looking for faces (seconds per photo) and tagging again (every photo against
    every tag) are what the returned function does, once the answer is printed, unless
    the search filters on them (``text:``, a person, a tag).
    """
    from clipdesk.cli.progress_bar import run_job

    if not library.roots():
        return lambda: None
    if library.catalog.read_only:
        print("note: the library is read-only; searching it as it is", file=sys.stderr)
        return lambda: None
    reads_first = bool(filters.texts or filters.persons)
    tags_first = filters.tag is not None
    later = None if reads_first else False  # None: as the library and settings say
    first = run_job(library.index(retag=tags_first, text=later, faces=later))
    if _changed(first):
        _say_indexed(first, quiet=False)
    if first.decoded and not reads_first:

        def read_and_tag() -> None:
            rest = run_job(library.index(retag=True))
            if rest.added or rest.changed or rest.moved or rest.removed:
                _say_indexed(rest, quiet=False)  # the folders changed again meanwhile
                return
            if rest.decoded or rest.unread:
                _say_read(rest)
            _say_models_missing(rest.models_missing)
            _say_tagged(rest.tagging, quiet=False)

        return read_and_tag
    if tags_first:
        return lambda: None
    return lambda: _say_tagged(run_job(library.retag()), quiet=False)


def _changed(report: IndexReport) -> bool:
    return bool(report.decoded or report.moved or report.removed or report.skipped or report.unread)


def _say_read(report: IndexReport) -> None:
    """What the pass that reads text and faces did, after an answer was printed."""
    print(
        f"Read the text and faces of {report.decoded} photos in {report.elapsed_s:.1f} s",
        file=sys.stderr,
    )
    _say_read_findings(report)


def _say_read_findings(report: IndexReport) -> None:
    if report.unread:
        print(
            f"{report.unread} photos stay searchable, but their text and faces could not "
            "be read (`clipdesk status` lists them)",
            file=sys.stderr,
        )
    if report.faces:
        print(f"Found {report.faces} faces (`clipdesk people` lists the people)", file=sys.stderr)


def _say_models_missing(keys: list[str]) -> None:
    """A line for each reader the run left out because its models are not installed:
    the photos are searchable, and a run after the download reads them."""
    from clipdesk.core.models.readers import readers_named

    for key in keys:
        readers = readers_named(key)
        if readers is not None:
            print(f"note: {readers.hint()}; the next index catches up", file=sys.stderr)


def _say_tagged(outcome: RetagOutcome | None, *, quiet: bool) -> None:
    """What the tagging pass after indexing did; tags are an extra, so a problem there is
    a warning and the index run still succeeds."""
    if outcome is None:
        return
    if outcome.error is not None:
        print(f"warning: tagging skipped: {outcome.error}", file=sys.stderr)
        return
    tagged = outcome.report
    if not quiet and tagged is not None:
        on = sum(tagged.tagged.values())
        print(
            f"Tagged {tagged.photos} photos with {tagged.tags} tags in {tagged.elapsed_s:.1f} s "
            f"({on} tags on photos)",
            file=sys.stderr,
        )


def print_results(results: SearchResults | ServedResults, as_json: bool) -> None:
    """What every search prints, whether this process or a running clipdesk found it."""
    for note in results.notes:
        print(f"note: {note}", file=sys.stderr)
    if as_json:
        print_json(results.to_json())
        return
    if not results.hits:
        print("no results", file=sys.stderr)
    for hit in results.hits:
        at = "" if hit.time is None else f"#t={hit.time:.2f}"  # a video's second (media fragment)
        print(f"{hit.score:.4f}  {one_line(hit.path)}{at}")


def cmd_search(args: argparse.Namespace) -> int:
    from clipdesk.cli.errors import CliError

    if not args.text.strip() and args.image is None and args.tag is None and not args.persons:
        raise CliError(
            "nothing to search for: give some text, --image IMG, --tag TAG or --person NAME"
        )

    def run() -> int:
        from dataclasses import replace

        from clipdesk.core.errors import QueryError
        from clipdesk.core.search import SearchQuery

        filters = replace(_filters(args), tag=args.tag)
        try:  # the query language is read before the library opens
            query = SearchQuery.from_text(
                args.text,
                image=args.image,
                k=args.n,
                filters=filters,
                sort=args.sort,
                all_scenes=args.all_scenes,
            )
        except QueryError as exc:
            raise UsageError(str(exc)) from exc

        from clipdesk.cli.served_search import served_results

        served = served_results(args, query, text=args.text)
        if served is not None:
            print_results(served, args.json)
            return 0
        from clipdesk.core.search.quick import quick_search

        quick = quick_search(args.library, query, model=args.model, update=args.update)
        if quick is not None:  # a plain search of a settled library, without opening it
            quick.query = args.text
            print_results(quick, args.json)
            return 0

        def action(library: Library) -> int:
            if query.filters.folder is not None:
                check_search_folder(query.filters.folder, library.roots())
            after = _update(library, query.filters) if args.update else None
            results = library.find(query)
            results.query = args.text
            print_results(results, args.json)
            if after is not None:
                sys.stdout.flush()  # the answer shows while the new photos are read and tagged
                after()
            return 0

        return with_library(args, action)

    return _usage("search", run)


def cmd_similar(args: argparse.Namespace) -> int:
    def run() -> int:
        from clipdesk.cli.served_search import served_results
        from clipdesk.core.search import SearchQuery

        filters = _filters(args)
        # The query Library.similar makes, asked of a running clipdesk first.
        query = SearchQuery.from_text(
            "", image=args.image, k=args.n, filters=filters, all_scenes=args.all_scenes
        )
        served = served_results(args, query, text=os.fspath(args.image))
        if served is not None:
            print_results(served, args.json)
            return 0

        def action(library: Library) -> int:
            if args.folder is not None:
                check_search_folder(args.folder, library.roots())
            after = _update(library, filters) if args.update else None
            results = library.similar(
                args.image, k=args.n, filters=filters, all_scenes=args.all_scenes
            )
            print_results(results, args.json)
            if after is not None:
                sys.stdout.flush()  # the answer shows while the new photos are read and tagged
                after()
            return 0

        return with_library(args, action)

    return _usage("similar", run)


def cmd_status(args: argparse.Namespace) -> int:
    def action(library: Library) -> int:
        status = library.status()
        if args.json:
            print_json(status)
            return 0
        print(f"library: {one_line(library.location)}")
        print(f"model:   {status['model']} on {status['device']}")
        for key in ("indexed", "pending", "skipped", "offline"):
            print(f"{key + ':':9}{status[key]}")
        for root in status["roots"]:  # type: ignore[union-attr]
            state = "" if root["online"] else "  (offline)"
            print(f"root:    {one_line(root['path'])}{state}")
        for skipped in status["skipped_files"]:  # type: ignore[union-attr]
            print(f"skipped: {one_line(skipped['path'])}: {one_line(skipped['reason'])}")
        for unread in status["unread_files"]:  # type: ignore[union-attr]
            print(f"unread:  {one_line(unread['path'])}: {one_line(unread['reason'])}")
        return 0

    return with_library(args, action)


def cmd_check(args: argparse.Namespace) -> int:
    from clipdesk.core.check import check_library, unopenable_report

    def action(library: Library) -> int:
        return show(check_library(library, repair=args.repair))

    def show(report: CheckReport) -> int:
        if args.json:
            print_json(report.to_json())
        else:
            for line in report.repaired:
                print(f"repaired: {one_line(line)}")
            for line in report.problems:
                print(f"problem: {one_line(line)}")
            for line in report.cannot_repair:
                print(f"cannot repair: {one_line(line)}")
            for line in report.notes:
                print(f"note: {one_line(line)}")
            print("ok" if report.ok else "problems found")
        if not report.ok:
            hint = "" if args.repair else "; `clipdesk check --repair` fixes what it can"
            print(f"clipdesk: {len(report.problems)} problems found{hint}", file=sys.stderr)
        return 0 if report.ok else 1

    def unopenable(exc: CatalogError) -> int:  # damaged or foreign: a report, not a crash
        return show(unopenable_report(str(exc), repair=args.repair))

    return with_library(args, action, unopenable=unopenable)


def cmd_roots(args: argparse.Namespace) -> int:
    def action(library: Library) -> int:
        if args.remove is not None:
            library.remove_root(args.remove)
        roots = [{"path": r.fspath, "online": r.online} for r in library.roots()]
        if args.json:
            print_json(roots)
        else:
            for root in roots:
                print(one_line(root["path"]) + ("" if root["online"] else "  (offline)"))
        return 0

    return with_library(args, action)
