"""clipdesk beside rclip 3.3, the closest peer: the same photos, the same model, whole runs.

rclip (a command-line CLIP photo search on ONNX Runtime) indexes the folder it is run in
and answers a query in one process. Both get the same random-initialised ViT-B-32-256
(the registry default's architecture; random weights cost what trained ones cost):

- rclip its fp32 ONNX towers in the layout it downloads (``RCLIP_DATADIR`` /
  ``ViT-B-32-256-datacomp_s34b_b86k/{visual,textual}.onnx``, input ``input``, and
  ``tokenizer/bpe_simple_vocab_16e6.txt.gz``), exported here from open_clip;
- clipdesk a pack of the same weights (``clipdesk models export``'s ``write_pack``),
  imported once before the first run (timed apart) into a models folder every variant
  and version shares; each variant starts from an empty cache, removed after it (the
  disk it needs: the pack and the optimised models, about 0.5 GB at a time).

A run is what a user waits for, whole processes: rclip ``rclip -f QUERY`` in the photo
folder; clipdesk ``clipdesk index DIR`` then ``clipdesk search QUERY``, twice: its default
index (which also reads text in photos, looks for faces and tags the photos), and with
``--no-ocr --no-faces``, the work rclip does (plus tags). The first run starts from an
empty database (and, for clipdesk, an empty cache); the warm run repeats it unchanged.
A third clipdesk row makes the same first run, then leaves ``clipdesk watch`` running, as
a user of the window or the watcher has it: it keeps the library current and answers
each warm ``clipdesk search`` itself (``clipdesk.core.serve``), so a warm run is that
search alone. An index that reads text or faces embeds every photo first and says so on
stderr; its row is followed by one whose first run ends when a search started at that
moment (beside the index, still reading) has answered: when a user has an answer. The
default index's rows end with one whose warm run is a single ``clipdesk search --update``
(index what changed, then answer, in one process: rclip's warm run).
A last table times what a user who adds one photo waits for: a new photo (one of
``--warm-runs``, each new) is copied into the folder, then rclip's run, and clipdesk's
``search --update``, until its answer is printed and until the process ends (it reads
the new photo's text and faces, and tags, after the answer). The photo is removed after
each run and the library brought back in step, untimed.
rclip is installed from the registry into its own virtual environment (never this one:
it pins other numpy and ONNX Runtime versions), kept under ``$CLIPDESK_BENCH_DIR`` with
the photos, the model files and the pack, so a second run only measures.

The warm run is the median of ``--warm-runs`` repeats. Both tools run from bytecode, as
installed programs do (pip compiles rclip's; clipdesk's source trees are compiled here,
which matters where ``PYTHONDONTWRITEBYTECODE`` is set). ``--baseline-ref REF`` also runs
clipdesk as it was at that commit (``git archive``), interleaved, for a before/after in
the same run. Run::

    .venv/bin/python benchmarks/bench_rclip.py [--photos 40] [--rounds 1] [--warm-runs 3]
        [--baseline-ref REF]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from benchlib import bench_dir, median, print_conditions, save_results, table
from photos import ensure_photos

ROOT = Path(__file__).resolve().parents[1]
RCLIP = "rclip==3.3.0"
ARCH = "ViT-B-32-256"
RCLIP_SUBDIR = "ViT-B-32-256-datacomp_s34b_b86k"
QUERY = "a red car parked in front of a house"
# clipdesk's default index also reads text in photos (OCR) and looks for faces, which rclip
# does not do; the second variant does rclip's work (and still tags the photos).
VARIANTS = {
    "clipdesk (default)": [],
    "clipdesk --no-ocr --no-faces": ["--no-ocr", "--no-faces"],
}
# The third: the same first run, then `clipdesk watch` keeps the library current (as the
# window does) and answers each warm `clipdesk search` (clipdesk.core.serve); a warm run
# is that search alone, as nothing needs indexing.
SERVED = "clipdesk search, clipdesk watch running"
SERVED_FLAGS = ["--no-ocr", "--no-faces"]
# A fourth, for each index that reads text or faces: its first run is the time until a
# search made as soon as `clipdesk index` said the photos could be searched (its first
# pass done) had answered, while the index went on reading text and faces beside it.
ANSWERED = "first answer, searched during the index"
# A fifth, for the default index: its warm run is one `clipdesk search --update`, which
# indexes what changed and answers in one process, as rclip does (its first run is the
# row's first: a folder is added to the library by `clipdesk index DIR`).
UPDATED = "warm: one `search --update`"
NEW_PHOTO = "NEW_PHOTO.jpg"  # the name a new photo takes in the folder while it is timed


def _rclip_venv(work: Path) -> Path:
    """rclip's own venv, made once; returns its ``rclip`` script."""
    venv = work / "rclip-venv"
    script = venv / "bin" / "rclip"
    if not script.is_file():
        print(f"installing {RCLIP} into {venv} (once)", flush=True)
        base_python = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base_python, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", RCLIP], check=True
        )
    return script


def model_files(work: Path) -> tuple[Path, Path]:
    """rclip's model folder and clipdesk's pack, of the same random weights (made once)."""
    rclip_dir = work / "rclip-model"
    pack = work / "bench-rclip.clipdesk-pack"
    if (rclip_dir / RCLIP_SUBDIR / "textual.onnx").is_file() and pack.is_file():
        return rclip_dir, pack
    os.environ["CLIPDESK_MODELS_DIR"] = str(work / "maker-models")
    os.environ["CLIPDESK_CACHE_DIR"] = str(work / "maker-cache")
    from clipdesk.core.clip_tokenizer import VOCAB_NAME, default_vocab_path
    from clipdesk.core.models.pack import write_pack
    from clipdesk.core.models.registry import get_model
    from clipdesk.core.models.testing import save_random_model

    logging.disable(logging.WARNING)  # "no pretrained weights": that is the point
    folder = save_random_model(work / "maker-models" / "bench-rclip", ARCH, name="bench-rclip")
    logging.disable(logging.NOTSET)
    _export_rclip_layout(folder, rclip_dir / RCLIP_SUBDIR)
    (rclip_dir / "tokenizer").mkdir(parents=True, exist_ok=True)
    shutil.copy2(default_vocab_path(), rclip_dir / "tokenizer" / VOCAB_NAME)
    start = time.perf_counter()
    write_pack(get_model("bench-rclip"), pack)
    print(f"pack made in {time.perf_counter() - start:.0f} s", flush=True)
    return rclip_dir, pack


def _export_rclip_layout(folder: Path, out: Path) -> None:
    """The model's towers as rclip ships them: fp32, input ``input``, full 77 tokens."""
    import open_clip
    import torch

    out.mkdir(parents=True, exist_ok=True)
    model = open_clip.create_model(f"local-dir:{folder}", weights_only=True).eval()

    class Tower(torch.nn.Module):
        def __init__(self, image: bool) -> None:
            super().__init__()
            self.model, self.image = model, image  # a submodule: its weights export

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.model.encode_image(x) if self.image else self.model.encode_text(x)

    tokens = open_clip.get_tokenizer(ARCH)(["a photo of a dog", "a cat"])
    import warnings

    warnings.simplefilter("ignore")  # the legacy exporter's notices
    for module, example, name in (
        (Tower(True), torch.zeros(2, 3, 256, 256), "visual.onnx"),
        (Tower(False), tokens, "textual.onnx"),
    ):
        with torch.enable_grad():
            torch.onnx.export(
                module.eval(), (example,), str(out / name), dynamo=False,
                input_names=["input"], output_names=["output"],
                dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                opset_version=17, do_constant_folding=True,
            )  # fmt: skip


def _timed(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> float:
    start = time.perf_counter()
    run = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, check=False)
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{run.stdout[-2000:]}{run.stderr[-3000:]}")
    return seconds


SEARCHABLE = "can be searched now"  # what `clipdesk index` says when its first pass ends


def _answered_while_indexing(
    index: list[str], search: list[str], env: dict[str, str], cwd: Path
) -> tuple[float, float | None]:
    """(index seconds, seconds until a search started once the index says the photos can
    be searched had answered), the search running beside the index's second pass, as a
    user's would; None when the index never said so."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        index, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    answered, said = None, []
    assert proc.stderr is not None
    for line in proc.stderr:
        said.append(line)
        if answered is None and SEARCHABLE in line:
            _timed(search, env, cwd)
            answered = time.perf_counter() - start
    if proc.wait() != 0:
        raise SystemExit(f"{' '.join(index)} failed:\n{''.join(said)[-3000:]}")
    return time.perf_counter() - start, answered


def run_rclip(
    script: Path, model_dir: Path, photos: Path, data: Path, warm_runs: int, new: list[Path]
) -> tuple[float, float, float]:
    """(first, median warm, median with one ``new`` photo) seconds of ``rclip -f QUERY``
    in the photo folder."""
    data.mkdir(parents=True)
    (data / RCLIP_SUBDIR).symlink_to(model_dir / RCLIP_SUBDIR)
    (data / "tokenizer").symlink_to(model_dir / "tokenizer")
    env = {**os.environ, "RCLIP_DATADIR": str(data), "HF_HUB_OFFLINE": "1"}
    argv = [str(script), "-f", QUERY]
    first = _timed(argv, env, photos)
    warm = median([_timed(argv, env, photos) for _ in range(warm_runs)])

    def with_new(photo: Path) -> float:
        with _new_photo(photo, photos):
            seconds = _timed(argv, env, photos)
        _timed(argv, env, photos)  # it lets the photo go
        return seconds

    return first, warm, median([with_new(photo) for photo in new])


@contextlib.contextmanager
def _new_photo(photo: Path, photos: Path) -> Iterator[None]:
    """``photo`` in the folder as a newly added one, for the time of the block."""
    shutil.copy2(photo, photos / NEW_PHOTO)
    try:
        yield
    finally:
        (photos / NEW_PHOTO).unlink()


def _answer_and_end(
    argv: list[str], env: dict[str, str], cwd: Path, lines: int
) -> tuple[float, float]:
    """Seconds until ``argv`` has printed ``lines`` lines (its answer), and until it ends."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    answered = None
    for n, _ in enumerate(proc.stdout, 1):
        if n == lines:
            answered = time.perf_counter() - start
    err = proc.stderr.read() if proc.stderr else ""
    if proc.wait() != 0 or answered is None:
        raise SystemExit(f"{' '.join(argv)} failed or printed too little:\n{err[-3000:]}")
    return answered, time.perf_counter() - start


def package_at(ref: str, into: Path) -> Path:
    """clipdesk's package as it was at ``ref``, compiled, in ``into`` (for ``PYTHONPATH``)."""
    blob = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "clipdesk"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(into, filter="data")
    (into / "resources").symlink_to(ROOT / "resources")  # the shipped models, as in a wheel
    compile_package(into)
    return into


def compile_package(root: Path) -> None:
    """Write the package's bytecode, as ``pip install`` or the installer does."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(root / "clipdesk")],
        check=True,
        capture_output=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    )


def clipdesk_env(code: Path, models: Path, base: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(code), os.environ.get("PYTHONPATH", "")]),
        "CLIPDESK_MODELS_DIR": str(models),
        "CLIPDESK_CACHE_DIR": str(base / "cache"),
        "CLIPDESK_DATA_DIR": str(base / "data"),
        "CLIPDESK_CONFIG_DIR": str(base / "config"),
    }
    for name in ("CLIPDESK_LIBRARY", "CLIPDESK_MODEL", "CLIPDESK_BACKEND", "CLIPDESK_DEVICE"):
        env.pop(name, None)
    return env


def import_pack(pack: Path, code: Path, models: Path) -> float:
    """Seconds of ``clipdesk models import`` into ``models`` (shared by the variants)."""
    models.mkdir(parents=True)
    env = clipdesk_env(code, models, models.parent / "import")
    return _timed([sys.executable, "-m", "clipdesk", "models", "import", str(pack)], env, models)


def run_clipdesk(
    models: Path,
    photos: Path,
    base: Path,
    flags: list[str],
    code: Path,
    warm_runs: int,
    new: list[Path],
) -> tuple[float, float, float | None, float | None, tuple[float, float] | None]:
    """(first, median warm) seconds of index (with ``flags``) + search, the package in
    ``code``, from an empty library and cache; the first run's answer to a search made
    as soon as the index said the photos could be searched (None: it never said); and,
    for the default index (``search --update`` runs that one) where ``code`` has it, the
    median warm ``search --update`` (None otherwise), and then its medians with one
    ``new`` photo: to the answer, and to the end. The cache is removed after (disk)."""
    base.mkdir(parents=True)
    env = clipdesk_env(code, models, base)
    cli = [sys.executable, "-m", "clipdesk"]
    lib = ["--model", "bench-rclip", "--library", str(base / "lib")]
    index = [*cli, *lib, "index", *flags, str(photos)]
    search = [*cli, *lib, "search", QUERY, "-n", "10"]
    indexed, answered = _answered_while_indexing(index, search, env, base)
    runs = [indexed + _timed(search, env, base)]
    for _ in range(warm_runs):
        runs.append(_timed(index, env, base) + _timed(search, env, base))
    updated, added = None, None
    if not flags and _has_update(cli, env, base):
        updated = median([_timed([*search, "--update"], env, base) for _ in range(warm_runs)])
        times = []
        for photo in new:
            with _new_photo(photo, photos):
                times.append(_answer_and_end([*search, "--update"], env, base, lines=10))
            _timed([*cli, *lib, "index"], env, base)  # it lets the photo go
        added = (median([a for a, _ in times]), median([e for _, e in times]))
    shutil.rmtree(base / "cache", ignore_errors=True)
    return runs[0], median(runs[1:]), answered, updated, added


def _has_update(cli: list[str], env: dict[str, str], cwd: Path) -> bool:
    """Whether this clipdesk's ``search`` has ``--update`` (a baseline may predate it);
    run outside the source tree, as ``python -m`` finds a package there first."""
    helped = subprocess.run(
        [*cli, "search", "--help"], capture_output=True, text=True, env=env, cwd=cwd
    )
    return "--update" in helped.stdout


def run_served(models: Path, photos: Path, base: Path, warm_runs: int) -> tuple[float, float]:
    """(first, median warm) seconds: the first run as ``run_clipdesk``'s; then, with
    ``clipdesk watch`` following the library, ``clipdesk search`` alone."""
    from clipdesk.core.serve.client import ping
    from clipdesk.core.serve.endpoint import endpoint_for

    base.mkdir(parents=True)
    env = clipdesk_env(ROOT, models, base)
    cli = [sys.executable, "-m", "clipdesk"]
    lib = ["--model", "bench-rclip", "--library", str(base / "lib")]
    search = [*cli, *lib, "search", QUERY, "-n", "10"]
    first = _timed([*cli, *lib, "index", *SERVED_FLAGS, str(photos)], env, base)
    first += _timed(search, env, base)
    watch = subprocess.Popen(
        [*cli, *lib, "watch"],
        env=env,
        cwd=base,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        endpoint = endpoint_for((base / "lib").resolve())
        deadline = time.monotonic() + 300
        while endpoint is None or not ping(endpoint):
            if watch.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("clipdesk watch did not start serving")
            time.sleep(0.2)
            endpoint = endpoint or endpoint_for((base / "lib").resolve())
        time.sleep(3.0)  # its start-up look at the folder, which finds nothing new
        _timed(search, env, base)  # the watcher loads the text tower on its first query
        warm = median([_timed(search, env, base) for _ in range(warm_runs)])
    finally:
        watch.terminate()
        watch.wait(60)
    shutil.rmtree(base / "cache", ignore_errors=True)
    return first, warm


def _add(
    rows: list[list[object]],
    found: dict[str, list[float]],
    rclip: tuple[int, float, float],
    name: str,
    first: float,
    warm: float,
) -> None:
    """One clipdesk row beside ``rclip`` (round, first s, warm s)."""
    n, r_first, r_warm = rclip
    found[name] = [first, warm]
    rows.append([
        n, name, f"{first:.2f}", f"{warm:.2f}", f"{r_first / first:.2f}x", f"{r_warm / warm:.2f}x"
    ])  # fmt: skip
    print(f"round {n}: {name}: {first:.2f} / {warm:.2f} s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=40, help="12-MP photos (default 40)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat both, interleaved")
    parser.add_argument("--warm-runs", type=int, default=3, help="warm repeats (median)")
    parser.add_argument("--baseline-ref", help="also run clipdesk as it was at this commit")
    args = parser.parse_args()
    info = print_conditions(f"clipdesk beside rclip 3.3, {args.photos} photos, {ARCH}")
    work = bench_dir() / "rclip"
    work.mkdir(parents=True, exist_ok=True)
    script = _rclip_venv(work)
    model_dir, pack = model_files(work)
    photos = work / f"photos-{args.photos}"
    ensure_photos(photos, args.photos)
    new = ensure_photos(work / "new-photos", args.warm_runs, first=10_000)  # other seeds
    (photos / NEW_PHOTO).unlink(missing_ok=True)  # left by a run that was killed
    rows, results = [], {"conditions": info, "photos": args.photos, "rounds": []}
    added_rows: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="clipdesk-bench-rclip-code-") as code_tmp:
        codes = {"": ROOT}
        if args.baseline_ref:
            codes[f" at {args.baseline_ref}"] = package_at(args.baseline_ref, Path(code_tmp))
        compile_package(ROOT)
        for i in range(args.rounds):
            with tempfile.TemporaryDirectory(prefix="clipdesk-bench-rclip-") as tmp:
                base = Path(tmp)
                r_first, r_warm, r_added = run_rclip(
                    script, model_dir, photos, base / "rclip-data", args.warm_runs, new
                )
                found = {"rclip": [r_first, r_warm], "rclip, one new photo": [r_added]}
                rows.append([i + 1, "rclip", f"{r_first:.2f}", f"{r_warm:.2f}", "", ""])
                added_rows.append([i + 1, "rclip", f"{r_added:.2f}", f"{r_added:.2f}", "", ""])
                rclip = (i + 1, r_first, r_warm)
                models = base / "models"  # one installed model for all: the format is
                imported = import_pack(pack, ROOT, models)  # the same in every version
                print(f"round {i + 1}: models import {imported:.2f} s", flush=True)
                for label, flags in VARIANTS.items():
                    for suffix, code in codes.items():  # interleaved: load hits both alike
                        name = label + suffix
                        c_first, c_warm, answered, updated, added = run_clipdesk(
                            models,
                            photos,
                            base / name.replace(" ", "-"),
                            flags,
                            code,
                            args.warm_runs,
                            new,
                        )
                        _add(rows, found, rclip, name, c_first, c_warm)
                        if answered is not None:  # the text and faces still being read
                            _add(rows, found, rclip, f"{name}: {ANSWERED}", answered, c_warm)
                        if updated is not None:  # one process, as rclip's run is
                            _add(rows, found, rclip, f"{name}: {UPDATED}", c_first, updated)
                        if added is not None:
                            tool = f"`search --update`{suffix}"
                            found[f"{tool}, one new photo"] = list(added)
                            added_rows.append([
                                i + 1, tool, f"{added[0]:.2f}", f"{added[1]:.2f}",
                                f"{r_added / added[0]:.2f}x", f"{r_added / added[1]:.2f}x",
                            ])  # fmt: skip
                served = run_served(models, photos, base / "served", args.warm_runs)
                _add(rows, found, rclip, SERVED, *served)
            results["rounds"].append(found)  # type: ignore[union-attr]
    print(table(["round", "tool", "first s", "warm s", "first vs rclip", "warm vs rclip"], rows))
    print("x: rclip's seconds / clipdesk's (above 1: clipdesk is faster); targets 1.0x and 2x")
    print(f"warm: median of {args.warm_runs} runs each")
    print(f"\none new photo, then a search (median of {len(new)}, each photo new):")
    header = ["round", "tool", "answer s", "ended s", "answer vs rclip", "ended vs rclip"]
    print(table(header, added_rows))
    save_results("rclip", results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
