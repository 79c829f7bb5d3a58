"""Kill ``clipdesk index`` with SIGKILL many times (200 by default) and check each restart.

The same rounds as ``tests/test_crash.py`` (4 in the normal test run, 30 under
``pytest -m slow``): the photos change, ``clipdesk index`` is started and killed at a
random moment, the database and the saved index are checked, then a complete
``clipdesk index`` and ``clipdesk check`` must leave every photo indexed or skipped,
none twice. Every ``--real-every`` rounds the killed command is a fresh
``python -m clipdesk`` process.

    .venv/bin/python benchmarks/bench_crash.py --kills 200
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_crash import start_crash_run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--photos", type=int, default=20, help="photos before the first kill")
    parser.add_argument("--real-every", type=int, default=20, metavar="N")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clipdesk-crash-") as tmp:
        started = time.monotonic()
        run = start_crash_run(Path(tmp), args.seed, args.photos)
        try:
            while run.kills < args.kills:
                real = args.real_every > 0 and run.rounds % args.real_every == 0
                killed = run.round(real=real)
                print(
                    f"round {run.rounds:4d}: {'killed' if killed else 'finished'}"
                    f"{' (python -m clipdesk)' if real else ''}; kills {run.kills}, "
                    f"{len(run.images())} photos, {len(run.bad)} broken, "
                    f"run {run.full_run_s:.1f} s, {time.monotonic() - started:.0f} s so far",
                    flush=True,
                )
        finally:
            if run.zygote is not None:
                run.zygote.close()
        elapsed = time.monotonic() - started
        print(
            f"{run.kills} kills ({run.real_kills} of a fresh python -m clipdesk) in "
            f"{run.rounds} rounds, {elapsed:.0f} s: after every kill the database and the "
            f"index were sound; after every restart clipdesk check was clean and every "
            f"photo was indexed or skipped exactly once"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
