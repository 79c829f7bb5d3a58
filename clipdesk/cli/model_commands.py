"""``clipdesk models list / download / import``: the model registry from the command line."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from clipdesk.core.models import ModelSpec
    from clipdesk.core.models.readers import ReaderModels


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("models", help="list, download or import CLIP models")
    sub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    q = sub.add_parser("list", help="known models with their facts; ✓ installed, * default")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=cmd_list)

    q = sub.add_parser(
        "download",
        help="download a model (pinned and verified); 'ocr' and 'faces' fetch the models "
        "that read text and find faces, which the installer leaves out",
    )
    q.add_argument("name", metavar="NAME")
    q.set_defaults(func=cmd_download)

    q = sub.add_parser(
        "import", help="install an ONNX pack, or an open_clip checkpoint (with --arch), offline"
    )
    q.add_argument(
        "file",
        metavar="FILE",
        help="a .clipdesk-pack (any install), or .safetensors / a state dict (needs torch)",
    )
    q.add_argument(
        "--arch", help="open_clip architecture of a checkpoint, e.g. ViT-B-32-256 (not for packs)"
    )
    q.add_argument("--name", help="name for the model (default: from the file)")
    q.add_argument(
        "--pretrained",
        metavar="TAG",
        help="open_clip pretrained tag of the weights, for their preprocessing",
    )
    q.set_defaults(func=cmd_import)

    q = sub.add_parser(
        "export", help="write an installed model as an ONNX pack that runs without torch"
    )
    q.add_argument("name", metavar="NAME")
    q.add_argument("--out", metavar="FILE", required=True, help="the pack file to write")
    q.add_argument(
        "--unpacked",
        action="store_true",
        help="write the pack's files into the folder FILE instead (how tiny-shapes ships)",
    )
    q.set_defaults(func=cmd_export)


def _describe(spec: ModelSpec, default: str) -> dict[str, Any]:
    from clipdesk.core.models import is_installed

    return {
        "name": spec.name,
        "arch": spec.arch,
        "pretrained": spec.pretrained,
        "resolution": spec.resolution,
        "installed": is_installed(spec),
        "default": spec.name == default,
        "licence": spec.licence,
        "facts": spec.facts(),
    }


def cmd_list(args: argparse.Namespace) -> int:
    from clipdesk.core.models import default_model_name, list_models

    default = default_model_name()
    rows = [_describe(spec, default) for spec in list_models()]
    if args.json:
        from clipdesk.cli.output import print_json

        print_json(rows)
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("", "name", "architecture", "res", "ImageNet", "CPU ms", "MB", "licence"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        facts = row["facts"]
        mark = ("✓" if row["installed"] else " ") + ("*" if row["default"] else " ")
        licence = row["licence"] or "?"
        if facts["research_only"]:
            licence += " (research only)"
        table.add_row(
            mark,
            row["name"] + (" (demo)" if facts["is_demo"] else ""),
            f"{row['arch']}/{row['pretrained']}",
            _num(row["resolution"]),
            f"{facts['imagenet_top1']:.1f}%" if facts["imagenet_top1"] is not None else "-",
            _num(facts["cpu_ms_per_image"]),
            _num(facts["download_mb"]),
            licence,
        )
    # Piped output keeps every column whole (rich would squeeze it to 80 characters).
    Console(width=None if sys.stdout.isatty() else 200, soft_wrap=False).print(table)
    print("✓ installed   * default   CPU ms: per photo on 2 cores, fp32")
    return 0


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def cmd_download(args: argparse.Namespace) -> int:
    from clipdesk.cli.errors import CliError
    from clipdesk.core.errors import ModelError
    from clipdesk.core.models import get_model, is_installed
    from clipdesk.core.models.pack import cannot_run_download, download_runnable
    from clipdesk.core.models.readers import readers_named

    readers = readers_named(args.name)
    if readers is not None:
        return _download_readers(readers)
    try:
        spec = get_model(args.name)
    except ModelError as exc:
        raise CliError(str(exc)) from exc
    if is_installed(spec):
        print(f"{spec.name} is already installed")
        return 0
    if not spec.downloadable:
        raise CliError(f"{spec.name} cannot be downloaded ({spec.source} model)")
    problem = cannot_run_download(spec)
    if problem is not None:
        raise CliError(problem)
    if spec.research_only or spec.licence:
        print(f"{spec.name}: licence: {spec.licence}", file=sys.stderr)
    # Without torch only an ONNX pack can run; with it, the open_clip weights.
    folder = _fetched(spec.name, lambda report: download_runnable(spec, progress=report))
    if folder is None:
        return 130
    print(f"installed {spec.name} in {folder}")
    return 0


def _download_readers(readers: ReaderModels) -> int:
    """``models download ocr|faces``: the reader's models, unless already there."""
    from clipdesk.core.models.readers import download_readers, missing_files

    if not missing_files(readers):
        print(f"the models for {readers.purpose} are already installed")
        return 0
    folder = _fetched(readers.key, lambda report: download_readers(readers, progress=report))
    if folder is None:
        return 130
    print(f"installed the models for {readers.purpose} in {folder}")
    return 0


def _fetched(label: str, fetch: Callable[[Callable[[int, int | None], None]], Path]) -> Path | None:
    """``fetch(report)`` under a download bar: its folder, or None when Ctrl+C stopped
    it (said on stderr; the same command resumes). A failure is a one-line error."""
    from clipdesk.cli.errors import CliError
    from clipdesk.core.errors import ModelError

    try:
        with _bar(label) as report:
            return fetch(report)
    except ModelError as exc:
        raise CliError(str(exc)) from exc
    except KeyboardInterrupt:
        print("clipdesk: download interrupted; run the same command to resume", file=sys.stderr)
        return None


class _bar:
    """A rich download bar on a terminal, a few plain lines otherwise."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.bar: Any = None
        self.task: Any = None
        self.last_tenth = -1

    def __enter__(self) -> Any:
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self.bar = Progress(
                "{task.description}",
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self.bar.__enter__()
            self.task = self.bar.add_task(self.name, total=None)
        return self.report

    def report(self, done: int, total: int | None) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=done, total=total)
        elif total:
            tenth = 10 * done // total
            if tenth != self.last_tenth:
                self.last_tenth = tenth
                print(f"{self.name}: {done / 1e6:,.0f} of {total / 1e6:,.0f} MB", file=sys.stderr)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def cmd_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from clipdesk.cli.checks import regular_file
    from clipdesk.cli.errors import CliError
    from clipdesk.core.errors import ModelError
    from clipdesk.core.models.import_file import import_model_file
    from clipdesk.core.models.pack import is_pack

    try:
        is_folder = Path(args.file).expanduser().is_dir()  # an unpacked pack
    except OSError:
        is_folder = False
    path = Path(args.file).expanduser() if is_folder else regular_file(args.file)
    try:
        spec = import_model_file(
            path if is_folder else Path(args.file),
            arch=args.arch,
            name=args.name,
            pretrained=args.pretrained,
        )
    except (ModelError, ValueError) as exc:
        raise CliError(str(exc)) from exc
    if is_pack(path):
        print(f"installed {spec.name} (ONNX pack); use it with: clipdesk --model {spec.name} ...")
    else:
        print(f"installed {spec.name} ({spec.arch}); use it with: clipdesk --model {spec.name} ...")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from clipdesk.cli.errors import CliError
    from clipdesk.core.errors import ExportError, ModelError
    from clipdesk.core.models import get_model, is_installed
    from clipdesk.core.models.pack import export_model, write_pack
    from clipdesk.core.models.registry import torch_available

    if not torch_available():
        raise CliError("exporting a model needs torch: pip install 'clipdesk[torch]'")
    try:
        spec = get_model(args.name)
    except ModelError as exc:
        raise CliError(str(exc)) from exc
    if not is_installed(spec):
        raise CliError(f"model {spec.name} is not installed")
    out = Path(args.out).expanduser()
    print(f"exporting {spec.name} and checking it against open_clip...", file=sys.stderr)
    try:
        if args.unpacked:
            meta = export_model(spec, out)
            checks = meta["pack_check"]
        else:
            checks = write_pack(spec, out)["checks"]
    except (ModelError, ExportError) as exc:
        raise CliError(str(exc)) from exc
    cosines = ", ".join(f"{tower} {value:.5f}" for tower, value in checks.items())
    print(f"wrote {out} (least cosine to open_clip: {cosines})")
    return 0
