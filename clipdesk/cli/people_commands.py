"""`clipdesk people ...`: list people, name, merge, hide, "not this person", show, forget all."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from clipdesk.cli.checks import non_empty, positive_int

if TYPE_CHECKING:
    from clipdesk.core.library import Library
    from clipdesk.core.people.records import PersonInfo


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("people", help="people found in photos: list, name, merge, show")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--all", action="store_true", help="also list hidden people")
    p.set_defaults(func=cmd_people)
    sub = p.add_subparsers(dest="people_command", metavar="COMMAND")

    q = sub.add_parser("name", help="name a person")
    q.add_argument("person", type=non_empty, metavar="ID")
    q.add_argument("name", type=non_empty, metavar="NAME")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=cmd_name)

    q = sub.add_parser("merge", help="join the second person into the first")
    q.add_argument("keep", type=non_empty, metavar="ID")
    q.add_argument("gone", type=non_empty, metavar="ID")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=cmd_merge)

    q = sub.add_parser("forget-face", help='"not this person": take a face out of a person')
    q.add_argument("photo", type=non_empty, metavar="PHOTO")
    q.add_argument("--person", required=True, type=non_empty, metavar="NAME")
    q.set_defaults(func=cmd_forget_face)

    q = sub.add_parser("hide", help="hide a person from the list (--undo shows them again)")
    q.add_argument("person", type=non_empty, metavar="ID")
    q.add_argument("--undo", action="store_true", help="show the person again")
    q.set_defaults(func=cmd_hide)

    q = sub.add_parser("show", help="a person's photos, newest first")
    q.add_argument("person", type=non_empty, metavar="ID|NAME")
    q.add_argument("-n", type=positive_int, default=20, metavar="N", help="number of results")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=cmd_show)

    q = sub.add_parser(
        "forget-all", help="delete every face, face embedding and name, and stop finding faces"
    )
    q.set_defaults(func=cmd_forget_all)


def _line(person: PersonInfo) -> str:
    from clipdesk.cli.output import one_line

    hidden = "  (hidden)" if person.hidden else ""
    return (
        f"{person.id:>5}  {one_line(person.label)}  {person.photos} photos  "
        f"{person.faces} faces{hidden}"
    )


def _with_library(args: argparse.Namespace, action) -> int:  # type: ignore[no-untyped-def]
    from clipdesk.cli.library_commands import with_library

    return with_library(args, action)


def _editing(args: argparse.Namespace, action) -> int:  # type: ignore[no-untyped-def]
    """Run an edit: it waits while another process writes to the library (an index in
    the window clusters faces into the same tables), and says so once on stderr."""
    from clipdesk.cli.library_commands import with_library

    return with_library(args, action, tell_waits=True)


def cmd_people(args: argparse.Namespace) -> int:
    from clipdesk.cli.output import print_json

    def action(library: Library) -> int:
        people = library.people.people(include_hidden=args.all)
        if args.json:
            print_json({"people": [p.to_json() for p in people]})
            return 0
        if not people:
            print("no people yet: `clipdesk index` finds faces in photos", file=sys.stderr)
        for person in people:
            print(_line(person))
        return 0

    return _with_library(args, action)


def _print_person(person: PersonInfo, as_json: bool) -> None:
    from clipdesk.cli.output import print_json

    if as_json:
        print_json(person.to_json())
    else:
        print(_line(person))


def cmd_name(args: argparse.Namespace) -> int:
    def action(library: Library) -> int:
        _print_person(library.people.name(args.person, args.name), args.json)
        return 0

    return _editing(args, action)


def cmd_merge(args: argparse.Namespace) -> int:
    def action(library: Library) -> int:
        _print_person(library.people.merge(args.keep, args.gone), args.json)
        return 0

    return _editing(args, action)


def cmd_forget_face(args: argparse.Namespace) -> int:
    def action(library: Library) -> int:
        count = library.people.forget_face(args.photo, args.person)
        print(f"{count} face(s) taken out of {args.person}", file=sys.stderr)
        return 0

    return _editing(args, action)


def cmd_hide(args: argparse.Namespace) -> int:
    def action(library: Library) -> int:
        library.people.hide(args.person, hidden=not args.undo)
        return 0

    return _editing(args, action)


def cmd_show(args: argparse.Namespace) -> int:
    from clipdesk.cli.library_commands import print_results
    from clipdesk.core.search import Filters, SearchQuery

    def action(library: Library) -> int:
        person = library.people.person(args.person)
        query = SearchQuery(k=args.n, filters=Filters(persons=(str(person.id),)))
        print_results(library.find(query), args.json)
        return 0

    return _with_library(args, action)


def cmd_forget_all(args: argparse.Namespace) -> int:
    def action(library: Library) -> int:
        library.people.forget_all()
        print(
            "every face, face embedding and name is deleted; indexing finds no faces "
            "until `clipdesk index --faces`",
            file=sys.stderr,
        )
        return 0

    return _editing(args, action)
