"""Which folders cannot be trusted to report changes, so must be polled.

inotify and its kin see only changes made through this machine's kernel: a file copied
onto a network share from another computer, or written inside a virtual machine's shared
folder, raises no event here. Such file systems are recognised from the mount table.
"""

from __future__ import annotations

import os
import sys

# File systems whose changes may come from elsewhere, or that raise no events at all.
NO_EVENT_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb",
        "smb3",
        "smbfs",
        "afs",
        "ncpfs",
        "9p",
        "virtiofs",
        "vboxsf",
        "vmhgfs",
        "prl_fs",
        "davfs",
        "glusterfs",
        "ceph",
        "lustre",
        "gpfs",
        "beegfs",
    }
)
NO_EVENT_FUSE = ("sshfs", "rclone", "s3fs", "gvfs", "davfs", "vmhgfs", "smb", "gcsfuse")


def _unescape(field: str) -> str:
    """Mount points in mountinfo escape space, tab, newline and backslash in octal."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def parse_mountinfo(text: str) -> list[tuple[str, str]]:
    """``(mount point, file system type)`` for each line of ``/proc/self/mountinfo``."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if "-" not in fields:
            continue
        dash = fields.index("-")
        if len(fields) > dash + 1 and len(fields) > 4:
            mounts.append((_unescape(fields[4]), fields[dash + 1]))
    return mounts


def filesystem_type(path: str, mounts: list[tuple[str, str]] | None = None) -> str | None:
    """The type of the file system holding ``path`` (Linux), or None if unknown."""
    if mounts is None:
        try:
            with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
                mounts = parse_mountinfo(f.read())
        except OSError:
            return None
    real = os.path.realpath(path)
    best: tuple[str, str] | None = None
    for point, fstype in mounts:
        inside = real == point or real.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= len(best[0])):
            best = (point, fstype)  # later mounts over the same point win
    return best[1] if best else None


def polling_reason(path: str, mounts: list[tuple[str, str]] | None = None) -> str | None:
    """Why ``path`` must be polled (a network share...), or None if events will do."""
    if sys.platform == "win32":
        return _windows_reason(path)
    fstype = filesystem_type(path, mounts)
    if fstype is None:
        return None
    if fstype in NO_EVENT_FILESYSTEMS:
        return f"network or shared file system ({fstype})"
    if fstype.startswith("fuse.") and any(name in fstype for name in NO_EVENT_FUSE):
        return f"network file system ({fstype})"
    return None


def _windows_reason(path: str) -> str | None:
    if path.startswith(("\\\\", "//")):
        return "network share"
    import ctypes

    drive = os.path.splitdrive(os.path.abspath(path))[0] + "\\"
    drive_remote = 4
    if ctypes.windll.kernel32.GetDriveTypeW(drive) == drive_remote:  # type: ignore[attr-defined]
        return "network drive"
    return None
