"""``clipdesk tags ...``: list, show, teach, edit the vocabulary, run, export to XMP."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from clipdesk.cli.checks import non_empty, regular_file, tag_name, utf8_text
from clipdesk.cli.output import one_line

if TYPE_CHECKING:
    from clipdesk.core.library import Library


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    tags = subparsers.add_parser("tags", help="automatic tags: list, show, teach, vocabulary")
    sub = tags.add_subparsers(dest="tags_command", metavar="ACTION", required=True)

    p = sub.add_parser("list", help="every tag with its photo count and sources")
    p.add_argument("--all", action="store_true", help="also tags no photo carries")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("show", help="the tags of one photo, with scores and sources")
    p.add_argument("image", type=non_empty, metavar="IMG")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser(
        "teach",
        help="confirm or reject a tag on photos (a new name makes a custom tag) and re-tag",
    )
    p.add_argument("tag", type=tag_name, metavar="TAG")
    p.add_argument(
        "--yes", nargs="+", type=non_empty, default=[], metavar="IMG", help="photos that carry it"
    )
    p.add_argument(
        "--no", nargs="+", type=non_empty, default=[], metavar="IMG", help="photos that do not"
    )
    p.add_argument("--prompt", type=utf8_text, help="describe the tag to the model in other words")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_teach)

    p = sub.add_parser("forget", help="undo a teach: let the models decide TAG on IMG again")
    p.add_argument("tag", type=tag_name, metavar="TAG")
    p.add_argument("images", nargs="+", type=non_empty, metavar="IMG")
    p.set_defaults(func=cmd_forget)

    p = sub.add_parser("vocab", help="show or edit the tag vocabulary")
    p.add_argument(
        "--file",
        type=non_empty,
        metavar="FILE",
        help="replace it: one tag per line, 'tag | phrase'",
    )
    p.add_argument(
        "--yes",
        action="store_true",
        help="let --file remove tags (your yes and no on photos are kept for their return)",
    )
    p.add_argument(
        "--add", type=tag_name, metavar="TAG", action="append", default=[], help="add a tag"
    )
    p.add_argument(
        "--remove", type=tag_name, metavar="TAG", action="append", default=[], help="remove a tag"
    )
    p.add_argument("--rename", nargs=2, type=tag_name, metavar=("OLD", "NEW"), help="rename a tag")
    p.add_argument(
        "--prompt", nargs=2, type=utf8_text, metavar=("TAG", "PHRASES"), help="set a tag's prompt"
    )
    p.add_argument("--no-run", action="store_true", help="do not re-tag after a change")
    p.set_defaults(func=cmd_vocab)

    p = sub.add_parser("run", help="(re)tag the library")
    p.add_argument("tags", nargs="*", type=tag_name, metavar="TAG", help="only these tags")
    p.add_argument("--json", action="store_true", help="print a JSON report")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "export-xmp", help="write tags to photo.jpg.xmp sidecars (originals are not touched)"
    )
    p.add_argument("images", nargs="*", type=non_empty, metavar="IMG", help="only these photos")
    p.add_argument(
        "--sources",
        default="manual,learned,zero-shot",
        help="which tags to write (default: manual,learned,zero-shot)",
    )
    p.add_argument("--dry-run", action="store_true", help="say what would be written")
    p.add_argument("--json", action="store_true", help="print a JSON report")
    p.set_defaults(func=cmd_export_xmp)


def _with_library(args: argparse.Namespace, action) -> int:  # type: ignore[no-untyped-def]
    """Run ``action`` on the library. An edit waits while another process writes to the
    library (an index in the window), and says so once on stderr."""
    from clipdesk.cli.library_commands import with_library

    return with_library(args, action, tell_waits=True)


def _fmt(value: float | None) -> str:
    return "     -" if value is None else f"{value:6.3f}"


def cmd_list(args: argparse.Namespace) -> int:
    from clipdesk.cli.output import print_json

    def action(library: Library) -> int:
        tags = [t for t in library.tags.list_tags() if args.all or t.count]
        if args.json:
            print_json([t.to_json() for t in tags])
            return 0
        if not tags:
            print("no tagged photos; run `clipdesk tags run`", file=sys.stderr)
        for t in tags:
            sources = ", ".join(f"{k} {v}" for k, v in t.sources.items())
            print(f"{t.count:6d}  {one_line(t.name):<28} {sources}")
        return 0

    return _with_library(args, action)


def cmd_show(args: argparse.Namespace) -> int:
    from clipdesk.cli.output import print_json

    def action(library: Library) -> int:
        tags = library.tags.tags_of(args.image)
        if args.json:
            print_json({"path": args.image, "tags": [t.to_json() for t in tags]})
            return 0
        if not tags:
            print("no tags", file=sys.stderr)
        for t in tags:
            state = "  (rejected)" if t.rejected else ""
            print(f"{_fmt(t.confidence)} {_fmt(t.score)}  {one_line(t.name):<28} {t.source}{state}")
        return 0

    return _with_library(args, action)


def _run_tags(library: Library, names: list[str] | None):  # type: ignore[no-untyped-def]
    from clipdesk.cli.progress_bar import run_job

    return run_job(library.tags.run(names))


def cmd_teach(args: argparse.Namespace) -> int:
    from clipdesk.cli.errors import CliError
    from clipdesk.cli.output import print_json

    if not args.yes and not args.no:
        raise CliError("give example photos with --yes IMG... and/or --no IMG...")

    def action(library: Library) -> int:
        info = library.tags.teach(args.tag, args.yes, args.no, prompt=args.prompt)
        report = _run_tags(library, [info.name])
        after = next(t for t in library.tags.list_tags() if t.name == info.name)
        if args.json:
            print_json({**after.to_json(), "learned": info.name in report.learned})
            return 0
        how = "learned from the examples" if info.name in report.learned else "not learned yet"
        hint = "" if info.name in report.learned else " (needs at least 2 photos with --yes)"
        print(f"{after.name}: {after.count} photos, {how}{hint}")
        return 0

    return _with_library(args, action)


def cmd_forget(args: argparse.Namespace) -> int:
    from clipdesk.core.tags.vocabulary import quoted

    def action(library: Library) -> int:
        # Notes wait until the re-tag succeeds: an error must stay the only line on stderr.
        notes = [
            f"no decision of yours about {quoted(args.tag)} on {one_line(image)}"
            for image in args.images
            if not library.tags.forget(args.tag, image)
        ]
        _run_tags(library, [args.tag])
        for note in notes:
            print(note, file=sys.stderr)
        return 0

    return _with_library(args, action)


def cmd_vocab(args: argparse.Namespace) -> int:
    from clipdesk.cli.errors import CliError
    from clipdesk.cli.vocab_edits import check_vocab_edits
    from clipdesk.core.errors import VocabularyError
    from clipdesk.core.tags.vocabulary import format_vocabulary, quoted, read_vocabulary

    def action(library: Library) -> int:
        service = library.tags
        changed = False
        new = None
        if args.file:
            try:
                new = read_vocabulary(regular_file(args.file))
            except OSError as exc:
                raise CliError(f"cannot read {args.file}: {exc.strerror or exc}") from exc
            except VocabularyError as exc:
                raise CliError(str(exc)) from exc
            lost = _tags_removed_by(service, new)
            if lost and not args.yes:
                names = ", ".join(quoted(n) for n in lost[:5]) + (", …" if len(lost) > 5 else "")
                raise CliError(
                    f"{args.file} would remove {len(lost)} of the "
                    f"{len(service.vocabulary())} tags ({names}); "
                    "add --yes to remove them"
                )
        check_vocab_edits(
            _names_after(service, new),
            add=args.add,
            remove=args.remove,
            rename=args.rename,
            prompt=args.prompt,
        )
        summary = None
        if new is not None:
            added, removed = service.set_vocabulary(new)
            summary = f"vocabulary: {len(new)} tags ({added} new, {removed} removed)"
            changed = True
        for name in args.add:
            name, _, prompt = name.partition("|")
            service.add_tag(name, prompt or None)
            changed = True
        for name in args.remove:
            service.remove_tag(name)
        if args.rename:
            service.rename_tag(*args.rename)
        if args.prompt:
            service.set_prompt(args.prompt[0], args.prompt[1] or None)
            changed = True
        if changed and not args.no_run and _library_is_indexed(library):
            _run_tags(library, None)
        elif not (changed or args.remove or args.rename):
            sys.stdout.write(format_vocabulary(service.vocabulary()))
        if summary:
            print(summary, file=sys.stderr)
        return 0

    return _with_library(args, action)


def _tags_removed_by(service: object, new: list) -> list[str]:  # type: ignore[type-arg]
    """Names of the vocabulary's tags that ``new`` leaves out (custom tags always stay)."""
    wanted = {t.name.casefold() for t in new}
    return [
        t.name
        for t in service.list_tags()  # type: ignore[attr-defined]
        if t.origin == "vocabulary" and t.name.casefold() not in wanted
    ]


def _names_after(service: object, new: list | None) -> list[str]:  # type: ignore[type-arg]
    """The tag names once ``new`` (if any) has replaced the vocabulary; custom tags stay."""
    tags = service.list_tags()  # type: ignore[attr-defined]
    if new is None:
        return [t.name for t in tags]
    return [t.name for t in tags if t.origin != "vocabulary"] + [t.name for t in new]


def _library_is_indexed(library: Library) -> bool:
    return bool(library.status()["indexed"])


def cmd_run(args: argparse.Namespace) -> int:
    from clipdesk.cli.output import print_json

    def action(library: Library) -> int:
        report = _run_tags(library, args.tags or None)
        if args.json:
            print_json(vars(report))
            return 0
        tagged = sum(1 for n in report.tagged.values() if n)
        print(
            f"Tagged {report.photos} photos with {tagged} of {report.tags} tags in "
            f"{report.elapsed_s:.1f} s ({len(report.learned)} learned from your examples)",
            file=sys.stderr,
        )
        return 0

    return _with_library(args, action)


def cmd_export_xmp(args: argparse.Namespace) -> int:
    from clipdesk.cli.errors import CliError
    from clipdesk.cli.output import print_json
    from clipdesk.cli.progress_bar import run_job
    from clipdesk.core.tags.store import SOURCES

    sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    unknown = [s for s in sources if s not in SOURCES]
    if unknown or not sources:
        raise CliError(f"--sources takes {', '.join(SOURCES)}, not {', '.join(unknown)}")

    def action(library: Library) -> int:
        job = library.tags.export_xmp(args.images or None, sources=sources, dry_run=args.dry_run)
        report = run_job(job)
        if args.json:
            print_json(
                {
                    "written": report.written,
                    "unchanged": report.unchanged,
                    "failed": [{"path": p, "reason": r} for p, r in report.failed],
                    "dry_run": args.dry_run,
                }
            )
        else:
            verb = "would write" if args.dry_run else "wrote"
            print(
                f"{verb} {len(report.written)} sidecars, {report.unchanged} unchanged",
                file=sys.stderr,
            )
            for path, reason in report.failed:
                print(f"failed: {path}: {reason}", file=sys.stderr)
        return 1 if report.failed else 0

    return _with_library(args, action)
