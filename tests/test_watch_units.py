"""The watcher's small parts on their own: debouncing, settling, event mapping, mounts."""

from __future__ import annotations

import os

from watchdog.events import (
    DirCreatedEvent,
    DirModifiedEvent,
    DirMovedEvent,
    FileClosedNoWriteEvent,
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
)

from clipdesk.core.catalog import StatEntry
from clipdesk.core.watch.dirty import DirtySet, Scope, collapse
from clipdesk.core.watch.folders import scopes_for
from clipdesk.core.watch.fstype import filesystem_type, parse_mountinfo, polling_reason
from clipdesk.core.watch.stability import Stabilizer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_folder_is_due_once_quiet_but_never_later_than_the_max_delay():
    clock = Clock()
    dirty = DirtySet(1.0, 5.0, clock=clock)
    a = Scope(b"/p/a")
    dirty.hint(a)
    clock.now += 0.9
    dirty.hint(a)  # still busy: pushed back
    clock.now += 0.9
    assert dirty.take_due() == []
    clock.now += 0.2
    assert dirty.take_due() == [a]
    assert len(dirty) == 0
    for _ in range(20):  # events every half second, for ten seconds
        dirty.hint(a)
        clock.now += 0.5
        if dirty.take_due():
            break
    assert clock.now - 102.0 <= 5.5, "a busy folder waited past the max delay"


def test_a_due_recursive_scope_takes_the_scopes_below_it():
    clock = Clock()
    dirty = DirtySet(1.0, 5.0, clock=clock)
    dirty.hint(Scope(b"/p/a/b"))
    dirty.schedule(Scope(b"/p/a", recursive=True))
    dirty.hint(Scope(b"/p/other"))
    assert dirty.take_due() == [Scope(b"/p/a", recursive=True)]
    assert len(dirty) == 1  # /p/other is not due yet
    assert collapse([Scope(b"/p"), Scope(b"/p", True), Scope(b"/p/x")]) == [Scope(b"/p", True)]
    assert collapse([Scope(b"/p/ab"), Scope(b"/p/a", True)]) == [
        Scope(b"/p/a", True),
        Scope(b"/p/ab"),
    ]


def test_a_file_is_settled_after_two_equal_looks_far_enough_apart():
    clock = Clock()
    stable = Stabilizer(2.0, clock=clock)
    entry = StatEntry(b"/p/x.jpg", 100, 1, 7)
    assert stable.wait_s(entry) == 2.0  # first look
    clock.now += 1.0
    assert stable.wait_s(entry) == 1.0  # same, but too soon
    clock.now += 1.0
    grown = StatEntry(b"/p/x.jpg", 200, 2, 7)
    assert stable.wait_s(grown) == 2.0  # it grew: start again
    clock.now += 2.0
    assert stable.wait_s(grown) == 0.0
    assert len(stable) == 0
    assert Stabilizer(0.0).wait_s(entry) == 0.0


def test_events_name_the_folders_to_look_at():
    assert scopes_for(FileCreatedEvent("/p/a/x.jpg")) == [Scope(b"/p/a")]
    assert scopes_for(FileModifiedEvent("/p/a/notes.txt")) == []
    assert scopes_for(FileOpenedEvent("/p/a/x.jpg")) == []
    assert scopes_for(FileClosedNoWriteEvent("/p/a/x.jpg")) == []
    assert scopes_for(FileMovedEvent("/p/a/x.part", "/p/b/x.jpg")) == [
        Scope(b"/p/a"),
        Scope(b"/p/b"),
    ]
    assert scopes_for(DirMovedEvent("/p/a", "/p/c")) == [
        Scope(b"/p/a", True),
        Scope(b"/p/c", True),
    ]
    assert scopes_for(DirCreatedEvent("/p/new")) == [Scope(b"/p/new", True)]
    assert scopes_for(DirModifiedEvent("/p/a")) == [Scope(b"/p/a")]
    odd = os.fsdecode(b"/p/caf\xe9/x.jpg")
    assert scopes_for(FileCreatedEvent(odd)) == [Scope(b"/p/caf\xe9")]


MOUNTINFO = r"""22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 0:35 / /mnt/nas rw,relatime shared:20 - nfs4 server:/export rw,vers=4.2
41 22 0:36 / /media/My\040Share rw - cifs //host/share rw
42 22 0:37 / /home/me/remote rw - fuse.sshfs me@host:/ rw
43 22 0:38 / /home/me/local rw - fuse.ntfs-3g /dev/sdb1 rw
"""


def test_network_file_systems_are_polled():
    mounts = parse_mountinfo(MOUNTINFO)
    assert ("/media/My Share", "cifs") in mounts
    assert filesystem_type("/mnt/nas/photos/2024", mounts) == "nfs4"
    assert filesystem_type("/mnt/nasty", mounts) == "ext4"
    assert polling_reason("/mnt/nas/photos", mounts) == "network or shared file system (nfs4)"
    assert "cifs" in (polling_reason("/media/My Share/x", mounts) or "")
    assert "sshfs" in (polling_reason("/home/me/remote/pics", mounts) or "")
    assert polling_reason("/home/me/local/pics", mounts) is None
    assert polling_reason("/home/me/Pictures", mounts) is None


def test_a_missing_file_is_forgotten_only_after_two_looks_far_enough_apart():
    clock = Clock()
    stable = Stabilizer(2.0, clock=clock)
    assert stable.gone_wait_s(b"/p/x.jpg") == 2.0
    clock.now += 1.5
    assert stable.gone_wait_s(b"/p/x.jpg") == 0.5
    clock.now += 0.5
    assert stable.gone_wait_s(b"/p/x.jpg") == 0.0
    assert stable.gone_wait_s(b"/p/y.jpg") == 2.0
    clock.now += 100.0  # back in between: missing again starts the wait afresh
    assert stable.gone_wait_s(b"/p/y.jpg") == 2.0
