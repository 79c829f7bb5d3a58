"""New photos arriving in a watched folder: how soon a search finds them, and how soon the
watcher has read them whole.

``clipdesk watch`` (the window runs the same watcher) follows a library of
``--photos`` 12-MP photos, indexed beforehand. ``--new`` more are copied in at once, as
from a camera card. Timed from the copy:

- until a ``clipdesk search`` finds every new photo. The search is answered by the
  running watcher, and is made every 0.5 s;
- until the watcher says it is idle again (``watch --json``'s ``idle`` event), after
  reading the new photos' text and faces and tagging the library again.

The model is the random ViT-B-32-256 pack that ``bench_rclip.py`` makes (the registry
default's architecture). ``--baseline-ref REF`` runs the same with that commit's package
(``git archive``), interleaved, each on a library of its own.

Run::

    .venv/bin/python benchmarks/bench_watch_arrivals.py [--photos 10] [--new 20]
        [--rounds 2] [--baseline-ref REF]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_rclip import clipdesk_env, compile_package, import_pack, model_files, package_at
from benchlib import bench_dir, median, print_conditions, save_results, table
from photos import ensure_photos

ROOT = Path(__file__).resolve().parents[1]
BASELINE_REF = "867a25e"  # before the watcher read in two passes
QUERY = "a photo"


def run_once(
    code: Path, models: Path, base: Path, old: list[Path], new: list[Path]
) -> tuple[float, float]:
    """(seconds until a search finds every ``new`` photo, seconds until the watcher is
    idle), from the moment they are copied into a watched folder holding ``old``."""
    folder = base / "photos"
    folder.mkdir(parents=True)
    for photo in old:
        shutil.copy2(photo, folder / photo.name)
    env = clipdesk_env(code, models, base)
    lib = [
        sys.executable,
        "-m",
        "clipdesk",
        "--model",
        "bench-rclip",
        "--library",
        str(base / "lib"),
    ]
    subprocess.run([*lib, "index", str(folder)], env=env, cwd=base, check=True, capture_output=True)
    watch = subprocess.Popen(
        [*lib, "watch", "--json"], env=env, cwd=base, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    events: list[tuple[float, dict]] = []
    ready = threading.Event()

    def follow() -> None:
        assert watch.stdout is not None
        for line in watch.stdout:
            event = json.loads(line)
            events.append((time.perf_counter(), event))
            if event["event"] == "idle":
                ready.set()

    threading.Thread(target=follow, daemon=True).start()
    try:
        if not ready.wait(300):
            raise SystemExit("clipdesk watch did not settle")
        time.sleep(1.0)  # its server answers from here on
        ready.clear()
        start = time.perf_counter()
        for photo in new:
            shutil.copy2(photo, folder / f"NEW_{photo.name}")
        wanted = {str((folder / f"NEW_{p.name}").resolve()) for p in new}
        search = [*lib, "search", QUERY, "-n", str(len(old) + len(new)), "--json"]
        found = None
        while found is None and time.perf_counter() - start < 600:
            done = subprocess.run(search, env=env, cwd=base, capture_output=True, text=True)
            paths = {hit["path"] for hit in json.loads(done.stdout or "{}").get("results", [])}
            if wanted <= paths:
                found = time.perf_counter() - start
            else:
                time.sleep(0.5)
        if found is None or not ready.wait(600):
            raise SystemExit("the new photos were not all found, or the watcher never settled")
        time.sleep(3.0)  # a look may end in another (a folder still being written)
        idle = max(t for t, e in events if e["event"] == "idle") - start
        return found, idle
    finally:
        watch.terminate()
        watch.wait(60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=10, help="photos already in the folder")
    parser.add_argument("--new", type=int, default=20, help="photos copied in at once")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--baseline-ref", default=BASELINE_REF)
    args = parser.parse_args()
    info = print_conditions(
        f"{args.new} new 12-MP photos into a watched folder of {args.photos}, ViT-B-32-256"
    )
    work = bench_dir() / "rclip"
    _, pack = model_files(work)
    old = ensure_photos(work / f"photos-{max(40, args.photos)}", max(40, args.photos))
    new = ensure_photos(work / "arrivals", args.new, first=20_000)
    found: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="clipdesk-bench-arrivals-") as tmp:
        base = Path(tmp)
        compile_package(ROOT)
        codes = {"this": ROOT, args.baseline_ref: package_at(args.baseline_ref, base / "old")}
        models = base / "models"
        import_pack(pack, ROOT, models)
        for round_ in range(args.rounds):
            for name, code in codes.items():
                run = base / f"{name}-{round_}"
                times = run_once(code, models, run, old[: args.photos], new)
                shutil.rmtree(run, ignore_errors=True)
                found.setdefault(name, []).append(times)
                print(f"round {round_ + 1}: {name}: found {times[0]:.1f} s, idle {times[1]:.1f} s")
    rows = []
    for name, times in found.items():
        searchable, idle = median([t[0] for t in times]), median([t[1] for t in times])
        rows.append([name, f"{searchable:.1f}", f"{idle:.1f}"])
    print(table(["code", "all new photos found s", "watcher idle s"], rows))
    print(f"median of {args.rounds} rounds; from the copy of {args.new} photos")
    save_results("watch_arrivals", {"conditions": info, "runs": found})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
