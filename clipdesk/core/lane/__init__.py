"""The writer lane: the one thread that changes a library, one job at a time.

Every job that writes (indexing, the folder watcher's looks, tagging, tag edits,
vocabulary changes, adding and removing roots, a model switch) is submitted here and
runs on the lane's thread, in order. The GUI, the command line and the watcher submit
jobs and get progress and results back; none of them holds a lock while a job runs.

Two kinds of jobs share the lane:

- **long** jobs are generators of :class:`Progress`. They run one at a time, first in,
  first out, and are stepped one ``yield`` at a time: each step assumes the catalog did
  not change under it in ways only another long job makes (roots, files, vectors).
- **short** jobs (a tag decision, a vocabulary edit) run to their end *between* two
  steps of the running long job, so a tag edit made during a long index lands after at
  most one step. A paused long job is simply not stepped; short jobs still run.

Readers (searches, status, lists) never come here: SQLite in WAL mode serves them on
their own connections, and the vector index guards itself for short moments only.

Between processes, a :class:`WriteGuard` (a file lock beside the catalog) is held for
the length of each long job, so two ``clipdesk index`` runs on one library take turns
instead of saving vector indexes over each other. While it waits, the lane keeps
running short jobs and tells the job's watchers once (a ``wait`` progress step).
A short job that writes what another process's long job writes too (a people edit,
``call(..., guarded=True)``) runs between the steps of a long job of this process that
holds the guard, or else takes the guard for itself, waiting as a long job does.

Jobs submitted from the lane's own thread (a job that starts another) run inline.
"""

from clipdesk.core.lane.handle import JobHandle
from clipdesk.core.lane.writer import WAITING_MESSAGE, WriteGuard, WriterLane

__all__ = ["WAITING_MESSAGE", "JobHandle", "WriteGuard", "WriterLane"]
