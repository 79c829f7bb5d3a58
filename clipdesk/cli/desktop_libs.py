"""Whether the Linux desktop has the X11 libraries Qt's xcb platform plugin loads.

Without them (``libxcb-cursor0`` is missing on a fresh Debian or Ubuntu install) Qt
aborts while creating the application, with a page of plugin diagnostics that does not
say what to install. This check runs first and names the Debian packages instead. It
loads libraries by their sonames, as the dynamic linker would for the plugin, and uses
no Qt, so it can run before PySide6 is imported at all.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping

# The xcb plugin's own dependencies (``ldd libqxcb.so`` of PySide6 6.7-6.11), with the
# Debian/Ubuntu package that ships each. libxcb1 and libx11 come with every X desktop.
XCB_LIBRARIES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libX11-xcb.so.1": "libx11-xcb1",
}


def can_load(soname: str) -> bool:
    """True when the dynamic linker finds and loads ``soname``, or the frozen app
    carries it beside its own libraries."""
    bundle = getattr(sys, "_MEIPASS", None)
    candidates = [soname, *([os.path.join(bundle, soname)] if bundle else [])]
    for candidate in candidates:
        try:
            ctypes.CDLL(candidate)
        except OSError:
            continue
        return True
    return False


def platform_will_be_xcb(environ: Mapping[str, str] | None = None, system: str = "") -> bool:
    """Qt picks xcb on Linux with an X display, unless told otherwise or on Wayland."""
    env = os.environ if environ is None else environ
    if (system or sys.platform) != "linux":
        return False
    chosen = env.get("QT_QPA_PLATFORM", "")
    if chosen:
        return chosen.split(":")[0].split(";")[0] == "xcb"
    if not env.get("DISPLAY"):
        return False
    return not (env.get("WAYLAND_DISPLAY") and env.get("XDG_SESSION_TYPE") == "wayland")


def missing_packages(load: Callable[[str], bool] | None = None) -> list[str]:
    """Debian packages whose libraries the xcb plugin needs and cannot load, sorted.
    ``load`` (default :func:`can_load`) is how tests simulate a library's absence."""
    loads = load or can_load
    return sorted({pkg for soname, pkg in XCB_LIBRARIES.items() if not loads(soname)})


def desktop_problem(
    environ: Mapping[str, str] | None = None,
    system: str = "",
    load: Callable[[str], bool] | None = None,
) -> str | None:
    """One line saying what to install, or None when the window can start."""
    if not platform_will_be_xcb(environ, system):
        return None
    missing = missing_packages(load)
    if not missing:
        return None
    return (
        "the desktop app needs X11 libraries that are not installed; "
        f"run: sudo apt install {' '.join(missing)}"
    )
