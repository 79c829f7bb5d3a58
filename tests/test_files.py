"""Whole-or-nothing writes and safe file names (``clipdesk.core.files``)."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from clipdesk.core.files import atomic_path, atomic_write, safe_file_name


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "settings.json"
    atomic_write(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half of the ne")
        raise RuntimeError("power cut")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.json"]


def test_writes_replace_text_and_bytes(tmp_path: Path) -> None:
    target = tmp_path / "a.bin"
    atomic_write(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    atomic_write(target, "é", durable=False)
    assert target.read_bytes() == "é".encode()


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_a_written_file_is_readable_by_others_as_the_umask_allows(tmp_path: Path) -> None:
    """Sidecars beside photos must stay readable by other programs and users
    (``tempfile.mkstemp`` would make them owner-only)."""
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "photo.xmp", "<x/>")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "photo.xmp").stat().st_mode) == 0o644


def test_concurrent_writers_never_mix_or_collide(tmp_path: Path) -> None:
    target = tmp_path / "thumb.jpg"
    payloads = [bytes([i]) * 50_000 for i in range(8)]
    errors: list[BaseException] = []

    def write(data: bytes) -> None:
        try:
            for _ in range(20):
                atomic_write(target, data, durable=False)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert target.read_bytes() in payloads
    assert [p.name for p in tmp_path.iterdir()] == ["thumb.jpg"]


def test_safe_file_name_keeps_one_path_component() -> None:
    assert safe_file_name("ViT-B-32@abc123.def") == "ViT-B-32@abc123.def"
    assert safe_file_name("a/b\\c:d e\x00") == "a_b_c_d_e_"
    assert os.sep not in safe_file_name("../../etc/passwd")
