"""What the clipdesk benchmarks share: folders, generated photos, random models, reporting.

Generated inputs (12-megapixel JPEGs, random-initialised models, exported encoders) are
kept under ``$CLIPDESK_BENCH_DIR`` (default ``~/.cache/clipdesk-bench``) so that a second
run measures and does not regenerate. Random weights cost exactly the compute of trained
ones, which is all a speed benchmark needs; real weights cannot be downloaded here.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

# torch's OpenMP threads spin while they wait for each other; on a shared machine that
# spinning, not the work, dominates their CPU time. Passive waiting makes CPU time measure
# work (for the baselines and for clipdesk's torch path alike).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_ARCH = "ViT-B-32-256"  # the architecture of the registry's default model
DEFAULT_MODEL = "bench-vit-b-32-256"  # its random-initialised stand-in


def bench_dir() -> Path:
    path = Path(os.environ.get("CLIPDESK_BENCH_DIR", "~/.cache/clipdesk-bench")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def use_bench_dirs(work: Path) -> None:
    """Point clipdesk at benchmark folders: persistent models and cache, fresh data."""
    base = bench_dir()
    os.environ["CLIPDESK_MODELS_DIR"] = str(base / "models")
    os.environ["CLIPDESK_CACHE_DIR"] = str(base / "cache")
    os.environ["CLIPDESK_DATA_DIR"] = str(work / "data")
    os.environ["CLIPDESK_CONFIG_DIR"] = str(work / "config")
    os.environ.pop("CLIPDESK_LIBRARY", None)
    os.environ.pop("CLIPDESK_MODEL", None)


def ensure_random_model(arch: str = DEFAULT_ARCH, name: str = DEFAULT_MODEL) -> str:
    """An imported-model folder with random weights for ``arch``; returns its name."""
    from clipdesk.core import paths
    from clipdesk.core.models.testing import save_random_model

    folder = paths.models_dir() / name
    if not (folder / "clipdesk_model.json").is_file():
        import logging

        logging.disable(logging.WARNING)  # "no pretrained weights": that is the point
        save_random_model(folder, arch, name=name)
        logging.disable(logging.NOTSET)
    return name


def conditions() -> dict[str, object]:
    """The machine and its load, to print beside every figure."""
    load = os.getloadavg()
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "load_1m": round(load[0], 2),
        "load_5m": round(load[1], 2),
        "python": platform.python_version(),
        "when": time.strftime("%Y-%m-%d %H:%M"),
    }


def print_conditions(title: str) -> dict[str, object]:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress shows
    info = conditions()
    print(f"# {title}")
    print("# " + ", ".join(f"{k}={v}" for k, v in info.items()))
    if float(info["load_1m"]) > 0.5 * float(info["cores"] or 1):
        print("# WARNING: the machine is busy; figures are lower than on an idle machine")
    return info


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q / 100
    lo, hi = int(pos), min(int(pos) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Wall seconds of each of ``repeat`` calls."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    box: list[float] = []
    start = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - start)


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A Markdown table (it reads fine in a terminal too)."""
    text = [[str(c) for c in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in text)) if text else len(h) for i, h in enumerate(headers)
    ]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out.extend(line(r) for r in text)
    return "\n".join(out)


def save_results(name: str, data: dict[str, object]) -> Path:
    """Keep the last run's figures as JSON beside the generated inputs."""
    path = bench_dir() / "results" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def rss_mb(pid: int | None = None) -> float:
    """Resident memory of a process in MiB (Linux), NaN elsewhere."""
    try:
        text = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    except OSError:
        return float("nan")
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class CpuClock:
    """Wall and CPU seconds of a block, the CPU of this process's threads and of the
    child processes that ended inside it (decode workers) included.

    On a shared machine wall time depends on what else runs; CPU time per item barely
    does, so both are reported: ``2 cores / CPU seconds per item`` is the rate a fully
    overlapped pipeline would reach on an otherwise idle 2-core machine.
    """

    def __enter__(self) -> CpuClock:
        import resource

        self._self = resource.getrusage(resource.RUSAGE_SELF)
        self._children = resource.getrusage(resource.RUSAGE_CHILDREN)
        self._wall = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        import resource

        self.wall = time.perf_counter() - self._wall
        now_self = resource.getrusage(resource.RUSAGE_SELF)
        now_children = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu = sum(
            getattr(now, f) - getattr(before, f)
            for now, before in ((now_self, self._self), (now_children, self._children))
            for f in ("ru_utime", "ru_stime")
        )
