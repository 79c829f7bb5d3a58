"""Running a core job (a generator of Progress) under a rich progress bar."""

from __future__ import annotations

import sys
from collections.abc import Generator
from typing import TypeVar

from clipdesk.cli.output import say
from clipdesk.core.progress import Progress, run_to_end

T = TypeVar("T")

STAGE_LABELS = {
    "scan": "Scanning",
    "embed": "Indexing",
    "read": "Reading text and faces",
    "done": "Done",
    "tag": "Tagging",
    "tag-prompts": "Embedding tag prompts",
    "wait": "Waiting",
}


def _telling_waits(job: Generator[Progress, None, T]) -> Generator[Progress, None, T]:
    try:
        while True:
            try:
                step = next(job)
            except StopIteration as stop:
                return stop.value
            said = step.stage == "wait" or (step.stage == "tag-prompts" and step.done == 0)
            if said and step.message:
                say(step.message)
            if step.stage == "read" and step.done == 0 and step.total:
                say(
                    f"the photos can be searched now; reading text and faces in {step.total:,}"
                    " of them (if stopped, the next index reads the rest)"
                )
            yield step
    finally:
        job.close()


def run_job(job: Generator[Progress, None, T], *, show: bool | None = None) -> T:
    """Drive ``job`` to the end and return its result; a bar on a terminal only.

    Ctrl+C closes the generator, whose own clean-up keeps finished work. A job that
    waits for another process writing to the library says so on one line, and so does a
    tag run that must first embed its tags' prompts (a model without shipped features),
    and an index whose photos can be searched while it goes on reading text and faces.
    """
    show = sys.stderr.isatty() if show is None else show
    job = _telling_waits(job)
    if not show:
        return run_to_end(job)
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as Bar

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    )
    with Bar(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task("Starting", total=None, rate="")
        try:
            while True:
                step = next(job)
                rate = f"{step.rate:.1f} img/s" if step.rate else ""
                bar.update(
                    task,
                    description=STAGE_LABELS.get(step.stage, step.stage),
                    completed=step.done,
                    total=step.total,
                    rate=rate,
                )
        except StopIteration as stop:
            return stop.value
        finally:
            job.close()
