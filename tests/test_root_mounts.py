"""A root mounted at different paths on different computers is one root.

Two "computers" are two clipdesk processes with their own settings folders
(``CLIPDESK_CONFIG_DIR``, where ``clipdesk library mount`` keeps this computer's mounts).
They reach the same photos through two paths: a folder, and a tree of hard links to the
same files elsewhere (as a NAS mounted at /mnt/nas/photos on one computer and at
/Volumes/photos on another; a symbolic link would not do, since clipdesk resolves links
and would find one path by itself). Each indexes the root, one while the other does;
every photo is stored once, under the path the root was first added at, each computer's
searches show its own paths, and ``check`` is clean from both.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from clipdesk.core.catalog.mounts import MountMap


def _link_tree(source: Path, target: Path) -> None:
    for photo in sorted(source.rglob("*.*")):
        dest = target / photo.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not dest.exists():
            os.link(photo, dest)


class Computer:
    """clipdesk run as one computer: its own settings folder, the shared library."""

    def __init__(self, name: str, library: str, model: str, tmp: Path) -> None:
        self.env = {
            **os.environ,
            "CLIPDESK_LIBRARY": library,
            "CLIPDESK_CONFIG_DIR": os.fspath(tmp / f"{name}-config"),
            "PYTHONPATH": os.pathsep.join(sys.path),
        }
        self.model = model

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "clipdesk", "--model", self.model, *args]
        return subprocess.Popen(argv, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def run(self, *args: str) -> str:
        proc = self.start(*args)
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, (args, err.decode())
        return out.decode()

    def json(self, *args: str):  # type: ignore[no-untyped-def]
        return json.loads(self.run(*args, "--json"))


def _stored_paths(library: str) -> list[str]:
    if library.startswith("postgresql://"):
        url = library.replace("postgresql://", "postgresql+psycopg://", 1)
    else:
        url = "sqlite:///" + os.fspath(Path(library) / "catalog.db")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [os.fsdecode(bytes(p)) for (p,) in conn.execute(text("SELECT path FROM files"))]
    finally:
        engine.dispose()


@pytest.fixture(params=["postgresql", "folder"])
def library_address(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return request.getfixturevalue("pg_url")
    return os.fspath(tmp_path / "library")


def test_two_computers_index_one_root_seen_at_two_paths(
    library_address: str, sample_library, tiny_shapes_installed: str, tmp_path: Path
) -> None:
    nas = tmp_path / "nas" / "photos"  # computer A's path
    other = tmp_path / "volumes" / "photos"  # computer B's path to the same files
    photos = sorted(sample_library.photos.rglob("*.*"))
    first, later = photos[: len(photos) // 2], photos[len(photos) // 2 :]
    for photo in first:
        dest = nas / photo.relative_to(sample_library.photos)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(photo, dest)
    _link_tree(nas, other)
    a = Computer("a", library_address, tiny_shapes_installed, tmp_path)
    b = Computer("b", library_address, tiny_shapes_installed, tmp_path)
    a.run("index", "--no-tags", "--workers", "1", os.fspath(nas))

    # B sees A's root at A's path (absent here), and mounts it where it sees it.
    [root] = b.json("library", "roots")
    assert root == {"id": root["id"], "path": os.fspath(nas), "stored_path": os.fspath(nas),
                    "mounted": False, "online": True}  # fmt: skip
    mounted = b.json("library", "mount", str(root["id"]), os.fspath(other))
    assert mounted["path"] == os.fspath(other) and mounted["stored_path"] == os.fspath(nas)
    assert mounted["mounted"] is True
    assert a.json("library", "roots")[0]["path"] == os.fspath(nas)  # A's view is A's own
    settings = json.loads((tmp_path / "b-config" / "mounts.json").read_text())
    assert list(settings.values()) == [{str(root["id"]): os.fspath(other)}]

    # New photos arrive on the NAS; both computers index the root at once.
    for photo in later:
        dest = nas / photo.relative_to(sample_library.photos)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(photo, dest)
    _link_tree(nas, other)
    runs = [
        a.start("index", "--no-tags", "--workers", "1", os.fspath(nas)),
        b.start("index", "--no-tags", "--workers", "1", os.fspath(other)),
    ]
    for run in runs:
        _out, err = run.communicate(timeout=240)
        assert run.returncode == 0, err.decode()

    stored = _stored_paths(library_address)
    assert len(stored) == len(set(stored)) == len(photos)  # every photo once
    assert all(p.startswith(os.fspath(nas) + os.sep) for p in stored)
    assert len(b.json("library", "roots")) == 1
    for computer, base in ((a, nas), (b, other)):
        status = computer.json("status")
        assert status["indexed"] == len(photos) and status["pending"] == 0, status
        hits = computer.json("search", "a red circle", "-n", "40")
        paths = [hit["path"] for hit in hits["results"]]
        assert len(paths) == len(photos) and all(
            p.startswith(os.fspath(base) + os.sep) for p in paths
        )
        assert all(Path(p).is_file() for p in paths)
        # A folder filter given as this computer's path selects by the stored one.
        sub = sorted({Path(p).parent for p in paths})[0]
        inside = computer.json("search", "a red circle", "--folder", os.fspath(sub))
        assert inside["results"] and all(
            h["path"].startswith(os.fspath(sub)) for h in inside["results"]
        )
        check = computer.json("check")
        assert check["ok"] is True, check
        roots = computer.json("roots")
        assert [r["path"] for r in roots] == [os.fspath(base)]

    # Unmounting gives B the path the library stores back.
    back = b.json("library", "unmount", os.fspath(other))
    assert back["path"] == os.fspath(nas) and back["mounted"] is False
    assert json.loads((tmp_path / "b-config" / "mounts.json").read_text()) == {}


def test_a_root_named_wrongly_or_overlapping_another_is_refused(
    tmp_path: Path, tiny_shapes_installed: str
) -> None:
    first, second = tmp_path / "photos", tmp_path / "more"
    (second / "inner").mkdir(parents=True)
    first.mkdir()
    computer = Computer("c", os.fspath(tmp_path / "library"), tiny_shapes_installed, tmp_path)
    computer.run("index", "--no-tags", os.fspath(first), os.fspath(second))

    def refused(*args: str) -> str:
        proc = computer.start("library", "mount", *args)
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 1 and err.decode().count("\n") == 1, err.decode()
        return err.decode()

    assert "not a root of this library" in refused("7", os.fspath(tmp_path))
    assert "not a folder" in refused("1", os.fspath(tmp_path / "missing"))
    # Root 1 seen inside root 2's folder: root 2's photos there would be shown twice.
    assert "overlaps" in refused(os.fspath(first), os.fspath(second / "inner"))
    assert not (tmp_path / "c-config" / "mounts.json").exists()


def test_mount_map_translates_both_ways_and_only_whole_names() -> None:
    mounts = MountMap([(b"/mnt/nas/photos", b"/Volumes/photos"), (b"/a", b"/a")])
    assert mounts.to_local(b"/mnt/nas/photos/x.jpg") == b"/Volumes/photos/x.jpg"
    assert mounts.to_local(b"/mnt/nas/photos") == b"/Volumes/photos"
    assert mounts.to_local(b"/mnt/nas/photos2/x.jpg") == b"/mnt/nas/photos2/x.jpg"
    assert mounts.to_stored(b"/Volumes/photos/sub/\xff.jpg") == b"/mnt/nas/photos/sub/\xff.jpg"
    assert mounts.to_stored(b"/Volumes/photosx") == b"/Volumes/photosx"
    assert mounts.pairs == [(b"/mnt/nas/photos", b"/Volumes/photos")]
