"""The frozen app's entry point: ``clipdesk`` (and the windowed ``clipdesk-gui.exe``).

Decoding runs in worker processes started with ``spawn``. In a frozen app a spawned
worker is this same executable started again with multiprocessing's own arguments, so
``freeze_support()`` must run before the command line is imported: it turns such a
start into the worker it was meant to be, instead of a second command line or window.

With no command, ``clipdesk`` opens the desktop app wherever there is a display (always
on Windows and macOS), so the Windows launcher and the macOS .app need no logic of their own.
"""

import multiprocessing
import sys


def main() -> int:
    _give_windowed_app_streams()  # before the workers too: they report errors on stderr
    multiprocessing.freeze_support()
    from clipdesk.cli import main as cli_main

    return cli_main(sys.argv[1:])


def _give_windowed_app_streams() -> None:
    """A windowed Windows executable starts with ``sys.stdout``/``sys.stderr`` set to
    None; libraries that write to them (progress bars, warnings) would then fail."""
    import os

    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115


if __name__ == "__main__":
    sys.exit(main())
