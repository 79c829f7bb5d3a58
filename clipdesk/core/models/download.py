"""Fetching model weights safely: pinned, verified, resumable, cancellable.

Each file of a registry model is pinned to a repository revision and a SHA-256. It is
streamed into ``<name>.part`` inside a staging folder next to its final place, hashed
while it arrives, checked against the pinned size and SHA-256, and only then moved into
the model folder, which itself appears in one rename. A cut connection is resumed with an
HTTP ``Range`` request; a wrong or tampered file is deleted with a clear message; a
cancel removes what was fetched. ``HF_ENDPOINT`` points every request at a mirror (or a
test server). Nothing else in clipdesk touches the network.
"""

from __future__ import annotations

import os
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from clipdesk import __version__
from clipdesk.core.errors import (
    ChecksumError,
    DownloadError,
    UnpinnedFileError,
)
from clipdesk.core.models.install import install_staged, staging_dir
from clipdesk.core.models.manifest import (
    Manifest,
    file_record,
    sha256_file,
)
from clipdesk.core.models.openclip_config import builtin_model_config
from clipdesk.core.models.registry import ModelSpec, install_dir
from clipdesk.core.progress import Cancelled, CancelToken

ProgressCallback = Callable[[int, int | None], None]

_CHUNK = 1 << 20
_TIMEOUT_S = 30.0
RETRIES = 5


def download_model(
    spec: ModelSpec,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    endpoint: str | None = None,
) -> Path:
    """Download, verify and install every file of ``spec``; returns the model folder.

    ``progress(done_bytes, total_bytes)`` is called as bytes arrive (``total_bytes`` is
    None while unknown). Raises :class:`UnpinnedFileError` before any network access when
    a file has no pinned SHA-256, :class:`ChecksumError` for a wrong file,
    :class:`Cancelled` when ``cancel`` is set; in every failure the model folder is left
    as it was.
    """
    if not spec.downloadable:
        raise DownloadError(f"{spec.name} is not downloadable (it is {spec.source})")
    unpinned = [f.filename for f in spec.files if not f.pinned]
    if unpinned:
        raise UnpinnedFileError(
            f"{spec.name}: no pinned revision and SHA-256 for {', '.join(unpinned)} yet, so it "
            "cannot be downloaded safely; download it yourself and use 'clipdesk models import'"
        )
    if spec.preprocess is None:
        raise DownloadError(f"{spec.name}: the registry gives no preprocessing settings")
    model_cfg = builtin_model_config(spec.arch)

    final = install_dir(spec)
    staging = staging_dir(final, "download")  # kept between runs: downloads resume
    staging.mkdir(parents=True, exist_ok=True)
    sizes = [f.size for f in spec.files]
    total = sum(s for s in sizes if s) if all(sizes) else None
    done_before = 0
    records = {}
    try:
        for f in spec.files:
            target = staging / f.filename

            def report(done: int, file_total: int | None, _base: int = done_before) -> None:
                if progress is not None:
                    progress(_base + done, total if total is not None else file_total)

            if target.is_file() and sha256_file(target) != f.sha256:
                target.unlink()  # left by a run for another pinned revision
            if target.is_file():  # verified by an earlier, interrupted run
                report(target.stat().st_size, f.size)
            else:
                fetch_file(
                    f.url(endpoint), target, f.sha256, f.size, progress=report, cancel=cancel
                )
            records[f.filename] = file_record(target, str(f.sha256))
            done_before += target.stat().st_size
    except (Cancelled, ChecksumError, UnpinnedFileError):
        shutil.rmtree(staging, ignore_errors=True)
        raise
    except DownloadError:
        if not any(staging.glob("*.part")):  # nothing worth resuming
            shutil.rmtree(staging, ignore_errors=True)
        raise

    install_staged(
        staging,
        final,
        model_cfg=model_cfg,
        preprocess=spec.preprocess,
        manifest=Manifest(
            name=spec.name,
            arch=spec.arch,
            pretrained=spec.pretrained,
            source="download",
            files=records,
        ),
    )
    return final


def fetch_file(
    url: str,
    dest: Path,
    sha256: str | None,
    size: int | None = None,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    allow_unpinned: bool = False,
) -> Path:
    """Stream ``url`` to ``dest`` through ``dest.part``, resuming and verifying it.

    A ``.part`` left by an earlier interrupted run is resumed. The file is renamed to
    ``dest`` only when its size and SHA-256 match; otherwise it is deleted and
    :class:`ChecksumError` says what was wrong. Network failures after a few retries
    raise :class:`DownloadError` and keep the ``.part`` for the next attempt.
    """
    if not sha256 and not allow_unpinned:
        raise UnpinnedFileError(f"refusing to download {url} without a pinned SHA-256")
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    failures = 0
    while True:
        try:
            _stream(url, part, size, progress, cancel)
            break
        except Cancelled:
            part.unlink(missing_ok=True)
            raise
        except ChecksumError:
            part.unlink(missing_ok=True)
            raise
        except (OSError, urllib.error.URLError, _ShortRead) as exc:
            failures += 1
            if failures > RETRIES:
                raise DownloadError(
                    f"download of {dest.name} failed after {RETRIES} retries ({_reason(exc)}); "
                    "what arrived is kept, so another attempt resumes from there"
                ) from exc
            time.sleep(min(0.2 * 2**failures, 5.0))
    _verify(part, dest.name, sha256, size)
    os.replace(part, dest)
    return dest


class _ShortRead(Exception):
    """The server closed the connection before sending everything."""


def _stream(
    url: str,
    part: Path,
    size: int | None,
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
) -> None:
    offset = part.stat().st_size if part.exists() else 0
    if size is not None and offset > size:
        part.unlink()
        offset = 0
    if size is not None and offset == size:
        return
    request = urllib.request.Request(url, headers={"User-Agent": f"clipdesk/{__version__}"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=_TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # nothing left to send: the .part is complete
            return
        if 400 <= exc.code < 500:
            raise DownloadError(f"the server refused {url}: HTTP {exc.code} {exc.reason}") from exc
        raise
    with response:
        status = response.status
        if offset and status != 206:  # the server ignored Range: start again
            offset = 0
        length = response.headers.get("Content-Length")
        expected = offset + int(length) if length is not None else None
        if size is not None and expected is not None and expected != size:
            raise ChecksumError(
                f"the server offers {expected} bytes for {part.name[:-5]}, but the pinned "
                f"file has {size}; refusing it"
            )
        total = size if size is not None else expected
        done = offset
        with open(part, "r+b" if offset else "wb") as out:
            out.seek(offset)
            out.truncate()
            if progress is not None:
                progress(done, total)
            while True:
                if cancel is not None and cancel.cancelled:
                    raise Cancelled()
                block = response.read(_CHUNK)
                if not block:
                    break
                out.write(block)
                done += len(block)
                if size is not None and done > size:
                    raise ChecksumError(
                        f"{part.name[:-5]} is larger than the pinned {size} bytes; refusing it"
                    )
                if progress is not None:
                    progress(done, total)
            out.flush()
            os.fsync(out.fileno())
        if expected is not None and done < expected:
            raise _ShortRead(f"connection closed after {done} of {expected} bytes")


def _verify(part: Path, name: str, sha256: str | None, size: int | None) -> None:
    actual_size = part.stat().st_size
    if size is not None and actual_size != size:
        part.unlink(missing_ok=True)
        raise ChecksumError(
            f"{name} is {actual_size} bytes, the pinned file has {size}: it is truncated or "
            "not the right file, so it was deleted"
        )
    if sha256:
        actual = sha256_file(part)
        if actual != sha256.lower():
            part.unlink(missing_ok=True)
            raise ChecksumError(
                f"{name} does not match its pinned SHA-256 (expected {sha256[:12]}..., got "
                f"{actual[:12]}...): it was altered or is not the right file, so it was deleted"
            )


def discard_partial(spec: ModelSpec) -> None:
    """Forget an interrupted download of ``spec`` (its staging folder)."""
    staging = staging_dir(install_dir(spec), "download")
    if staging.exists():
        shutil.rmtree(staging, ignore_errors=True)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        return str(exc.reason)
    return str(exc) or type(exc).__name__
