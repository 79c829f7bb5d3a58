"""When events cannot be had or trusted: polling, the inotify limit, lost events."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import time

import pytest
from test_watch_common import FAST, assert_agrees, settle, wait_for, write_image
from watchdog.observers import Observer

from clipdesk.core.watch import WatchEventKind, WatchMode


def test_polling_chosen_in_settings_follows_changes(tmp_path, watched):
    photos = tmp_path / "photos"
    write_image(photos / "a.png", seed=1)
    settings = FAST.__class__(**{**FAST.__dict__, "mode": WatchMode.POLL})
    library, watcher, encoder = watched(photos, settings=settings)
    root = os.fspath(photos.resolve())
    assert watcher.status().roots == {root: "poll"}
    assert watcher.status().reasons == {root: "chosen in settings"}
    write_image(photos / "b.png", seed=2)
    assert wait_for(lambda: library.status()["indexed"] == 2, 60)
    (photos / "b.png").rename(photos / "c.png")
    assert wait_for(lambda: watcher.totals.moved == 1, 60)
    (photos / "a.png").unlink()
    assert wait_for(lambda: library.status()["indexed"] == 1, 60)
    settle(watcher)
    assert_agrees(library, photos)
    assert encoder.images == 2


class LimitedObserver(Observer):
    """An observer on a system whose inotify watch limit is used up."""

    def schedule(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "inotify watch limit reached")


def test_the_inotify_limit_falls_back_to_polling_with_a_message(tmp_path, watched):
    photos = tmp_path / "photos"
    write_image(photos / "a.png", seed=1)
    events = []
    library, watcher, _ = watched(photos, observer_factory=LimitedObserver, on_event=events.append)
    root = os.fspath(photos.resolve())
    assert watcher.status().roots == {root: "poll"}
    messages = [e.message for e in events if e.kind == WatchEventKind.MODE]
    assert any("inotify limit" in m and "max_user_watches" in m for m in messages), messages
    write_image(photos / "b.png", seed=2)
    assert wait_for(lambda: library.status()["indexed"] == 2, 60)
    settle(watcher)
    assert_agrees(library, photos)


def test_lost_events_are_made_good_by_a_full_look_after_an_overflow(tmp_path, watched):
    photos = tmp_path / "photos"
    write_image(photos / "a.png", seed=1)
    events = []
    library, watcher, _ = watched(photos, on_event=events.append)
    watcher._follower.folders.dropping = True  # the kernel's queue is full: events are lost
    write_image(photos / "sub" / "b.png", seed=2)
    time.sleep(1.5)
    settle(watcher)
    assert library.status()["indexed"] == 1, "nothing should have told the watcher"
    # What watchdog logs when the kernel reports IN_Q_OVERFLOW:
    logging.getLogger("watchdog.observers.inotify_c").warning(
        "Inotify queue overflowed; filesystem events were lost"
    )
    assert wait_for(lambda: library.status()["indexed"] == 2, 60)
    settle(watcher)
    assert_agrees(library, photos)
    assert any("overflowed" in e.message for e in events if e.kind == WatchEventKind.MESSAGE)


def test_a_periodic_full_look_finds_what_no_event_announced(tmp_path, watched):
    photos = tmp_path / "photos"
    write_image(photos / "a.png", seed=1)
    settings = FAST.__class__(**{**FAST.__dict__, "full_reconcile_s": 2.0})
    library, watcher, _ = watched(photos, settings=settings)
    watcher._follower.folders.dropping = True
    write_image(photos / "b.png", seed=2)
    (photos / "a.png").rename(photos / "moved.png")
    assert wait_for(lambda: watcher.totals.moved == 1, 60)
    assert wait_for(lambda: library.status()["indexed"] == 2, 60)
    settle(watcher)
    assert_agrees(library, photos)


def test_a_deleted_root_is_offline_and_a_new_one_at_its_path_is_read(tmp_path, watched):
    photos = tmp_path / "photos"
    for i in range(3):
        write_image(photos / f"p{i}.png", seed=i)
    library, watcher, encoder = watched(photos)
    shutil.rmtree(photos)
    assert wait_for(lambda: library.status()["offline"] == 3, 60)
    settle(watcher)
    assert library.status()["indexed"] == 0
    write_image(photos / "p0.png", seed=0)  # the same picture again, in a new folder
    write_image(photos / "fresh.png", seed=40)
    assert wait_for(lambda: library.status()["indexed"] == 2, 60)
    settle(watcher)
    assert_agrees(library, photos)
    assert encoder.images == 4  # the old picture's vector was kept and reused
    write_image(photos / "later.png", seed=41)  # followed by events on the new folder
    settle(watcher)
    assert_agrees(library, photos)
    assert watcher.status().roots == {os.fspath(photos.resolve()): "events"}


@pytest.mark.parametrize("kind", ["settings", "detected"])
def test_network_shares_are_polled(tmp_path, watched, monkeypatch, kind):
    from clipdesk.core.watch import following

    photos = tmp_path / "share"
    write_image(photos / "a.png", seed=1)
    if kind == "detected":
        monkeypatch.setattr(
            following, "polling_reason", lambda path: "network or shared file system (nfs4)"
        )
        settings = FAST
    else:
        settings = FAST.__class__(**{**FAST.__dict__, "poll_folders": (str(photos),)})
    library, watcher, _ = watched(photos, settings=settings)
    reason = watcher.status().reasons[os.fspath(photos.resolve())]
    assert reason == (
        "chosen in settings" if kind == "settings" else "network or shared file system (nfs4)"
    )
    write_image(photos / "b.png", seed=2)
    assert wait_for(lambda: library.status()["indexed"] == 2, 60)
