"""Decode functions for the decode workers in ``test_hostile.py`` (no tests here).

They run in the worker processes, so they live in a small module that imports little.
Each wraps the real ``decode_file`` and misbehaves on files whose name says so, the way
a decoder library with a bug would on a hostile file.
"""

from __future__ import annotations

import ctypes
import os
import time

from clipdesk.core.decode_task import DecodeJob, DecodeOutput, decode_file


def misbehaving_decode(job: DecodeJob) -> DecodeOutput:
    name = os.path.basename(job.path)
    if b"segfault" in name:
        ctypes.string_at(0)  # a real invalid memory read: SIGSEGV in native code
    if b"abort" in name:
        os.abort()
    if b"hang" in name:
        time.sleep(3600)
    if b"exit" in name:
        os._exit(3)
    if b"hog" in name:
        hog = bytearray(64 * 1024**3)  # far above the worker's memory limit
        return DecodeOutput(job.file_id, error=str(len(hog)))
    return decode_file(job)


_DROPPED = False


def unprivileged_decode(job: DecodeJob) -> DecodeOutput:
    """``decode_file`` in a worker that has given up root, so permissions apply.

    Tests run as root, who may read any file. The worker first decodes a sample of each
    format (importing every module it will need while it still can), then becomes
    ``nobody``.
    """
    global _DROPPED
    if not _DROPPED and os.geteuid() == 0:
        warm_up = os.environ.get("CLIPDESK_TEST_WARM_UP", "")
        for path in filter(None, warm_up.split(os.pathsep)):
            decode_file(DecodeJob(-1, os.fsencode(path), job.config))
        os.setgid(65534)
        os.setuid(65534)
        _DROPPED = True
    return decode_file(job)


def crashing_text_reader(job: DecodeJob) -> DecodeOutput:
    """Decodes every file, but crashes in native code when asked to read the text of a
    file whose name says so, the way an OCR model with a bug would on an odd photo."""
    if job.text and b"crashes_ocr" in os.path.basename(job.path):
        ctypes.string_at(0)
    return decode_file(job)
