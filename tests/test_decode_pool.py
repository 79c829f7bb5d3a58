"""DecodePool: crashes, hangs, memory blow-ups and cancellation stay inside the workers."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import image_samples
import pytest

from clipdesk.core.decode_pool import DecodePool, TaskFailure

# Tasks run in spawned workers, which import this module by name: keep them top-level.


def misbehave(item: str) -> str:
    if item == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    if item == "null":
        ctypes.string_at(0)  # a real invalid read, as a broken decoder would do
    if item == "hang":
        time.sleep(600)
    if item == "oom":
        return str(len(bytearray(3 * 1024**3)))
    if item == "raise":
        raise ValueError("broken header")
    if item == "exit":
        os._exit(7)
    if item == "unpicklable":
        return lambda: None  # type: ignore[return-value]
    return item.upper()


def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def longer_for_long_items(seconds: float) -> float | None:
    """A limit of its own for an item known to take long (as a video gets)."""
    return seconds + 5.0 if seconds >= 1.0 else None


def pid_of(_item: object) -> int:
    return os.getpid()


def heavy_modules(_item: object) -> list[str]:
    banned = ("torch", "open_clip", "PySide6", "shiboken6")
    return sorted(m for m in sys.modules if m.split(".")[0] in banned)


def read_sample(path: Path) -> str:
    from clipdesk.core.errors import ImageReadError
    from clipdesk.core.imageio import read_image

    try:
        return f"ok {read_image(path, target_size=64).format}"
    except ImageReadError as exc:
        return exc.reason


def alive(pid: int) -> bool:
    """Running (a zombie awaiting its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            return "\nState:\tZ" not in fh.read()
    except FileNotFoundError:
        return False


def results(pool: DecodePool, items: list[str]) -> dict[str, object]:
    out = dict(pool.map_unordered(items))
    assert sorted(out) == sorted(items)  # every item exactly once
    return out


def test_results_stream_back_for_every_item() -> None:
    items = [f"item{i}" for i in range(40)]
    with DecodePool(misbehave, workers=2) as pool:
        assert results(pool, items) == {i: i.upper() for i in items}
        first = set(pool.worker_pids())
        assert results(pool, ["again"]) == {"again": "AGAIN"}
        assert set(pool.worker_pids()) == first  # persistent workers are reused
    assert not any(alive(pid) for pid in first)


def test_crashes_are_pinned_on_their_item_and_workers_replaced() -> None:
    items = ["a", "segv", "b", "null", "c", "exit", "d", "e", "f"]
    with DecodePool(misbehave, workers=2, timeout_s=20) as pool:
        out = results(pool, items)
    assert out["segv"] == TaskFailure("decoder crashed (signal 11)", "crashed")
    assert out["null"] == TaskFailure("decoder crashed (signal 11)", "crashed")
    assert out["exit"] == TaskFailure("decoder exited (code 7)", "crashed")
    assert [out[i] for i in "abcdef"] == list("ABCDEF")


def test_task_errors_come_back_as_failures() -> None:
    with DecodePool(misbehave, workers=1) as pool:
        out = results(pool, ["raise", "unpicklable", "ok"])
        worker = pool.worker_pids()
        assert out["raise"] == TaskFailure("broken header", "error")
        assert isinstance(out["unpicklable"], TaskFailure)
        assert "cannot be sent" in out["unpicklable"].reason
        assert out["ok"] == "OK"
        assert pool.worker_pids() == worker  # an exception does not cost the worker


def test_hung_task_is_killed_after_the_timeout() -> None:
    with DecodePool(misbehave, workers=2, timeout_s=1.5) as pool:
        results(pool, ["warm", "up"])  # workers started: their boot is not timed
        before = set(pool.worker_pids())
        started = time.monotonic()
        out = results(pool, ["x", "hang", "y", "z"])
        elapsed = time.monotonic() - started
        assert out["hang"] == TaskFailure("timed out after 1.5 s", "timeout")
        assert [out[i] for i in "xyz"] == ["X", "Y", "Z"]
        assert 1.4 < elapsed < 15
        gone = before - set(pool.worker_pids())
        assert len(gone) == 1 and not any(alive(pid) for pid in gone)


def test_an_item_may_have_a_longer_time_limit_of_its_own() -> None:
    with DecodePool(nap, workers=1, timeout_s=1.0, timeout_for=longer_for_long_items) as pool:
        results(pool, [0.0])  # the worker started: its boot is not timed
        out = dict(pool.map_unordered([2.0, 0.1]))
    assert out == {2.0: 2.0, 0.1: 0.1}  # 2 s is over the pool's 1 s, under its own 7 s
    with DecodePool(nap, workers=1, timeout_s=1.0) as pool:
        results(pool, [0.0])
        out = dict(pool.map_unordered([2.0]))
    assert out == {2.0: TaskFailure("timed out after 1 s", "timeout")}


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is enforced on Linux")
def test_memory_limit_fails_the_item_not_the_app() -> None:
    with DecodePool(misbehave, workers=1, memory_limit_mb=1024) as pool:
        out = results(pool, ["oom", "after"])
    assert out["oom"] == TaskFailure("out of memory", "oom")
    assert out["after"] == "AFTER"


def test_items_are_pulled_lazily() -> None:
    pulled: list[int] = []

    def source() -> Iterator[str]:
        for i in range(1000):
            pulled.append(i)
            yield f"n{i}"

    with DecodePool(misbehave, workers=2, prefetch=2) as pool:
        stream = pool.map_unordered(source())
        for _ in range(10):
            next(stream)
        assert len(pulled) <= 10 + 2 * 2 + 1  # results taken plus what is in flight
        stream.close()


def test_closing_the_stream_stops_busy_workers() -> None:
    with DecodePool(misbehave, workers=2, timeout_s=60) as pool:
        stream = pool.map_unordered(["quick", "hang", "hang", "hang"])
        assert next(stream) == ("quick", "QUICK")
        pids = pool.worker_pids()
        assert len(pids) == 2
        stream.close()
        assert not any(alive(pid) for pid in pids)  # both were busy with "hang"
        assert results(pool, ["later"]) == {"later": "LATER"}  # the pool still works
        pids = pool.worker_pids()
    assert not any(alive(pid) for pid in pids)
    assert not multiprocessing.active_children()


def test_breaking_out_then_closing_leaves_no_process() -> None:
    pool = DecodePool(misbehave, workers=2)
    with pool:
        for item, _ in pool.map_unordered(["a", "hang", "b", "hang", "c"]):
            if item == "a":
                pids = pool.worker_pids()
                break
    assert not any(alive(pid) for pid in pids)
    with pytest.raises(RuntimeError):
        pool.map_unordered(["x"])


def test_workers_die_with_their_parent(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from clipdesk.core.decode_pool import DecodePool
        from test_decode_pool import misbehave
        if __name__ == "__main__":
            pool = DecodePool(misbehave, workers=2, timeout_s=600)
            stream = pool.map_unordered(["a", "hang", "hang"])
            next(stream)
            print(*pool.worker_pids(), flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    pids = [int(p) for p in run.stdout.split()]
    assert run.returncode == -signal.SIGKILL and len(pids) == 2
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in pids)


def test_workers_whose_starting_thread_ended_are_replaced_without_blame() -> None:
    """On Linux a worker dies with the thread that started it (the parent-death signal
    follows the thread): a pool used later from another thread replaces those idle
    workers quietly, and no item is reported as crashed."""
    import threading

    pool = DecodePool(misbehave, workers=2)
    first: list[int] = []

    def use_pool() -> None:
        assert results(pool, ["a", "b", "c"]) == {"a": "A", "b": "B", "c": "C"}
        first.extend(pool.worker_pids())

    thread = threading.Thread(target=use_pool)
    thread.start()
    thread.join()
    try:
        assert first
        deadline = time.monotonic() + 10
        while pool.worker_pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        out = results(pool, [f"x{i}" for i in range(6)])
        assert out == {f"x{i}": f"X{i}" for i in range(6)}
    finally:
        pool.close()
    assert not any(alive(pid) for pid in first)


def test_workers_do_not_import_torch_or_qt() -> None:
    with DecodePool(heavy_modules, workers=1) as pool:
        assert results(pool, ["check"]) == {"check": []}


def test_unpicklable_task_is_refused_at_once() -> None:
    with pytest.raises(Exception, match=r"pickle|attribute|local"):
        DecodePool(lambda x: x, workers=1)


def test_hostile_sample_files_each_get_their_reason(tmp_path: Path) -> None:
    samples = image_samples.write_samples(tmp_path)
    with DecodePool(read_sample, workers=2, timeout_s=30) as pool:
        out = dict(pool.map_unordered([s.path for s in samples]))
    for sample in samples:
        expected = f"ok {sample.facts['format']}" if sample.ok else sample.reason
        assert out[sample.path] == expected, sample.name


def test_a_task_workers_cannot_import_is_an_error_not_a_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "vanishing_task.py").write_text("def run(item):\n    return item\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import vanishing_task

    pool = DecodePool(vanishing_task.run, workers=1)
    monkeypatch.undo()  # the workers will not find the module
    monkeypatch.delitem(sys.modules, "vanishing_task")
    with pool, pytest.raises(RuntimeError, match="cannot start"):
        list(pool.map_unordered(["a", "b"]))
    assert not multiprocessing.active_children()


def sleep_30ms(item: int) -> int:
    time.sleep(0.03)
    return item


def echo(item: int) -> int:
    return item


def _timed_ours(task, n: int, workers: int) -> float:  # type: ignore[no-untyped-def]
    with DecodePool(task, workers=workers) as pool:
        list(pool.map_unordered(range(2 * workers)))  # start the workers first
        started = time.perf_counter()
        assert sum(1 for _ in pool.map_unordered(range(n))) == n
        return time.perf_counter() - started


def _timed_stdlib(task, n: int, workers: int) -> float:  # type: ignore[no-untyped-def]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        list(pool.imap_unordered(task, range(2 * workers)))
        started = time.perf_counter()
        assert sum(1 for _ in pool.imap_unordered(task, range(n), chunksize=1)) == n
        return time.perf_counter() - started


@pytest.mark.slow
def test_throughput_matches_multiprocessing_pool() -> None:
    """Run with -s to see the figures."""
    echo_ours, echo_std = _timed_ours(echo, 3000, 2), _timed_stdlib(echo, 3000, 2)
    busy_ours, busy_std = _timed_ours(sleep_30ms, 200, 2), _timed_stdlib(sleep_30ms, 200, 2)
    print(
        f"\nper-task overhead, empty task, 2 workers: DecodePool {echo_ours / 3000 * 1e6:.0f} us,"
        f" multiprocessing.Pool {echo_std / 3000 * 1e6:.0f} us"
        f"\n200 x 30 ms tasks, 2 workers: DecodePool {busy_ours:.2f} s,"
        f" multiprocessing.Pool {busy_std:.2f} s, ideal 3.00 s"
    )
    assert busy_ours < 1.1 * busy_std
