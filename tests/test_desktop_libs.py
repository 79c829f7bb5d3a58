"""A Linux desktop without Qt's xcb libraries gets one line naming the packages, not an abort."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from clipdesk.cli import desktop_libs
from clipdesk.cli.desktop_libs import XCB_LIBRARIES, desktop_problem, platform_will_be_xcb

ROOT = Path(__file__).resolve().parents[1]
X11 = {"DISPLAY": ":0"}


def test_xcb_is_expected_only_with_an_x_display_and_no_override() -> None:
    assert platform_will_be_xcb(X11, "linux")
    assert not platform_will_be_xcb({}, "linux")
    assert not platform_will_be_xcb({**X11, "QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert platform_will_be_xcb({"QT_QPA_PLATFORM": "xcb"}, "linux")
    wayland = {**X11, "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}
    assert not platform_will_be_xcb(wayland, "linux")
    assert not platform_will_be_xcb(X11, "darwin")


def test_missing_libraries_are_named_by_their_debian_packages() -> None:
    absent = {"libxcb-cursor.so.0", "libxcb-icccm.so.4"}
    line = desktop_problem(X11, "linux", load=lambda soname: soname not in absent)
    assert line is not None
    assert "\n" not in line
    assert line.endswith("sudo apt install libxcb-cursor0 libxcb-icccm4")


def test_nothing_is_said_when_everything_loads_or_xcb_is_not_used() -> None:
    assert desktop_problem(X11, "linux", load=lambda soname: True) is None
    offscreen = {**X11, "QT_QPA_PLATFORM": "offscreen"}
    assert desktop_problem(offscreen, "linux", load=lambda soname: False) is None


def test_the_real_lookup_finds_a_library_that_exists_and_not_one_that_does_not() -> None:
    assert desktop_libs.can_load("libc.so.6" if sys.platform == "linux" else "libc.dylib")
    assert not desktop_libs.can_load("libclipdesk-no-such-library.so.0")


def test_clipdesk_gui_prints_one_line_and_exits_1_without_creating_a_window(tmp_path) -> None:
    """The check runs before Qt is imported: a sitecustomize makes one library unloadable
    and Qt unimportable, so reaching Qt would fail differently."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import sys\n"
        "from clipdesk.cli import desktop_libs\n"
        "real = desktop_libs.can_load\n"
        "desktop_libs.can_load = lambda s: s != 'libxcb-cursor.so.0' and real(s) or False\n"
        "sys.modules['PySide6'] = None\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)]),
        "DISPLAY": ":99",
        "CLIPDESK_DATA_DIR": str(tmp_path / "data"),
    }
    env.pop("QT_QPA_PLATFORM", None)
    env.pop("WAYLAND_DISPLAY", None)
    out = subprocess.run(
        [sys.executable, "-m", "clipdesk", "gui"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 1, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "sudo apt install" in lines[0] and "libxcb-cursor0" in lines[0]


@pytest.mark.skipif(sys.platform != "linux", reason="Linux install script")
def test_install_script_names_missing_xcb_packages(tmp_path: Path) -> None:
    app = tmp_path / "clipdesk"
    (app / "_internal" / "resources").mkdir(parents=True)
    shutil.copytree(ROOT / "resources" / "icons", app / "_internal" / "resources" / "icons")
    (app / "clipdesk").write_text("#!/bin/sh\n")
    (app / "clipdesk").chmod(0o755)
    for name in ("clipdesk.desktop", "install.sh", "uninstall.sh"):
        shutil.copy2(ROOT / "packaging" / "linux" / name, app / name)
    fake = tmp_path / "bin"
    fake.mkdir()
    present = [s for s in XCB_LIBRARIES if s != "libxcb-keysyms.so.1"]
    listing = "".join(f"\t{s} (libc6,x86-64) => /usr/lib/{s}\\n" for s in present)
    (fake / "ldconfig").write_text(f'#!/bin/sh\nprintf "{listing}"\n')
    (fake / "ldconfig").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"}
    out = subprocess.run(
        ["sh", str(app / "install.sh"), "--prefix", str(tmp_path / "prefix")],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert "sudo apt install libxcb-keysyms1" in out.stderr
    assert "libxcb-cursor0" not in out.stderr
    assert "Done." in out.stdout
