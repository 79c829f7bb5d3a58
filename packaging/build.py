"""Build the one-folder clipdesk app: ``python packaging/build.py``.

Produces ``dist/clipdesk/`` with the executable ``dist/clipdesk/clipdesk`` (``.exe`` on
Windows, ``dist/clipdesk.app`` on macOS). By default the lite app: no torch, torchvision,
open_clip or timm inside, every model on ONNX Runtime (tiny-shapes ships as ONNX; other
models install as ONNX packs); ``--full`` builds the app with torch (checkpoint imports,
exports, CUDA). Steps: stage ``resources/`` with the chosen
models, make the Windows/macOS icons, run PyInstaller on ``packaging/clipdesk.spec``,
add the desktop-integration files, check that ``--version`` runs, and report the figures.
``--installer`` then wraps the folder for end users (tar.gz with an install script on
Linux, Inno Setup on Windows, a .dmg on macOS).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(ROOT))

import bundle_stage  # noqa: E402
import bundle_trim  # noqa: E402

HF_TEXT_MODULES = ("transformers", "sentencepiece")
# What only the full app carries: the lite app runs every model on ONNX Runtime.
TORCH_MODULES = (
    *("torch", "torchvision", "open_clip", "timm", "triton", "functorch", "torchgen"),
    "onnx",  # exporting only: ONNX Runtime reads the files without it
    # torch's symbolic shapes; otherwise only onnxruntime's shape-inference tools use it.
    *("sympy", "mpmath"),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="build.py", description=__doc__.splitlines()[0])
    p.add_argument(
        "--model",
        action="append",
        metavar="NAME[=DIR]",
        help="bundle this model (repeatable; default: tiny-shapes). NAME alone takes the "
        "files from resources/models/NAME or the models dir; NAME=DIR from DIR",
    )
    p.add_argument("--no-model", action="store_true", help="bundle no model at all")
    p.add_argument(
        "--full",
        action="store_true",
        help="the full app with torch and open_clip (exports, checkpoints, CUDA); "
        "default: the lite app without them",
    )
    p.add_argument(
        "--models-dir",
        metavar="DIR",
        help="downloaded/imported models (default: clipdesk's models dir, $CLIPDESK_MODELS_DIR)",
    )
    p.add_argument(
        "--keep-cuda",
        action="store_true",
        help="keep every CUDA library (a bundle that can use an NVIDIA GPU)",
    )
    p.add_argument(
        "--no-trim",
        action="store_true",
        help="exclude no module or library (to measure what trimming saves)",
    )
    p.add_argument("--distpath", default=str(ROOT / "dist"), metavar="DIR")
    p.add_argument("--workpath", default=str(ROOT / "build"), metavar="DIR")
    p.add_argument("--clean", action="store_true", help="empty PyInstaller's cache first")
    p.add_argument(
        "--installer",
        action="store_true",
        help="also make the end-user installer for this platform",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from clipdesk.core import paths

    version = metadata.version("clipdesk")
    dist, work = Path(args.distpath).resolve(), Path(args.workpath).resolve()
    work.mkdir(parents=True, exist_ok=True)
    models_dir = Path(args.models_dir).expanduser() if args.models_dir else paths.models_dir()
    chosen = [] if args.no_model else (args.model or [bundle_stage.DEMO_MODEL])
    started = time.monotonic()

    stage = work / "clipdesk-resources"
    try:
        staged = bundle_stage.stage_resources(
            ROOT / "resources",
            stage,
            [bundle_stage.parse_model_option(m) for m in chosen],
            models_dir,
            lite=not args.full,
        )
    except bundle_stage.StageError as exc:
        raise SystemExit(f"build.py: {exc}") from None
    for m in staged:
        print(f"bundling model {m.name} ({m.size_mb} MB) from {m.source}")
    icons = bundle_stage.write_icons(ROOT / "resources" / "icons", work / "clipdesk-icons")

    if args.full and _torch_is_cuda_build():
        print(
            "note: torch is a CUDA build; the CUDA libraries it links to must ship with it. "
            "For a smaller release, install the CPU wheels (see docs/packaging.md).",
            file=sys.stderr,
        )
    config = bundle_config(args, staged, stage, icons, version, work)
    config_file = work / "clipdesk-bundle.json"
    config_file.write_text(json.dumps(config, indent=1), encoding="utf-8")

    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        str(HERE / "clipdesk.spec"),
        "--noconfirm",
        "--distpath",
        str(dist),
        "--workpath",
        str(work),
    ]
    if args.clean:
        command.append("--clean")
    env = {**os.environ, "CLIPDESK_BUNDLE_CONFIG": str(config_file)}
    subprocess.run(command, check=True, env=env, cwd=ROOT)

    app = dist / "clipdesk"
    stripped_mb = 0.0
    if sys.platform.startswith("linux"):
        strip = shutil.which("strip")
        if config["trim"] and strip:
            stripped_mb = bundle_trim.strip_debug(app, strip)
        _add_linux_files(app)
    build_s = time.monotonic() - started
    exe = app / ("clipdesk.exe" if sys.platform == "win32" else "clipdesk")
    check_started = time.monotonic()
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=300)
    version_s = time.monotonic() - check_started
    if out.returncode != 0 or version not in out.stdout:
        print(out.stdout, out.stderr, file=sys.stderr)
        raise SystemExit(f"the built app does not run: {exe} --version")

    trim = json.loads(Path(config["report"]).read_text(encoding="utf-8"))
    summary = {
        "version": version,
        "executable": str(exe),
        "models": [m.name for m in staged],
        "lite": not args.full,
        "build_s": round(build_s, 1),
        "bundle_mb": round(folder_mb(app), 1),
        "collected_before_trim_mb": round(sum(trim["before_mb"].values()), 1),
        "collected_after_trim_mb": round(sum(trim["after_mb"].values()), 1),
        "trimmed": config["trim"],
        "debug_info_stripped_mb": round(stripped_mb, 1),
        "cpu_only": config["cpu_only"],
        "version_check_s": round(version_s, 2),
    }
    if args.installer:
        summary["installer"] = str(make_installer(app, dist, version, icons))
    (work / "clipdesk-build-summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))
    return 0


def bundle_config(
    args: argparse.Namespace,
    staged: list[bundle_stage.StagedModel],
    stage: Path,
    icons: dict[str, Path],
    version: str,
    work: Path,
) -> dict[str, object]:
    """What the spec needs to know (it is run by PyInstaller, not imported from here)."""
    excluded = set(bundle_trim.EXCLUDED_MODULES)
    if not args.full:
        excluded |= set(TORCH_MODULES)
    hidden = []
    if any(m.needs_hf_text for m in staged):
        excluded -= set(HF_TEXT_MODULES)
        hidden.append("transformers")
    return {
        "repo_root": str(ROOT),
        "stage_dir": str(stage),
        "icons": {k: str(v) for k, v in icons.items()},
        "excluded_modules": [] if args.no_trim else sorted(excluded),
        "extra_hiddenimports": hidden,
        "trim": not args.no_trim,
        "lite": not args.full,
        # Only Linux wheels link CUDA from separate files that the ELF rule can follow.
        "cpu_only": not args.keep_cuda and sys.platform.startswith("linux"),
        "version": version,
        "report": str(work / "clipdesk-trim.json"),
    }


def folder_mb(folder: Path) -> float:
    """Bytes on disk under ``folder``, links not followed, in MB (10**6 bytes)."""
    total = 0
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
    return total / 1e6


def _torch_is_cuda_build() -> bool:
    """True when the installed torch wheel depends on NVIDIA's CUDA wheels."""
    try:
        requires = metadata.requires("torch") or []
    except metadata.PackageNotFoundError:
        return False
    return any(r.lower().startswith(("nvidia-", "cuda-")) for r in requires)


def _add_linux_files(app: Path) -> None:
    """The .desktop file and the per-user install script travel inside the app folder."""
    for name in ("clipdesk.desktop", "install.sh", "uninstall.sh"):
        shutil.copy2(HERE / "linux" / name, app / name)
        if name.endswith(".sh"):
            (app / name).chmod(0o755)


def make_installer(app: Path, dist: Path, version: str, icons: dict[str, Path]) -> Path:
    """The file an end user downloads, for this platform."""
    if sys.platform == "win32":
        iscc = shutil.which("iscc") or r"C:\Program Files (x86)\Inno Setup 6\ISCC.exe"
        subprocess.run(
            [
                iscc,
                f"/DAppVersion={version}",
                f"/DSourceDir={app}",
                f"/DIconFile={icons['ico']}",
                f"/O{dist}",
                str(HERE / "windows" / "clipdesk.iss"),
            ],
            check=True,
        )
        return dist / f"clipdesk-{version}-setup.exe"
    if sys.platform == "darwin":
        out = dist / f"clipdesk-{version}.dmg"
        subprocess.run(
            ["sh", str(HERE / "macos" / "make_dmg.sh"), str(dist / "clipdesk.app"), str(out)],
            check=True,
        )
        return out
    machine = os.uname().machine
    out = dist / f"clipdesk-{version}-linux-{machine}.tar.gz"
    with tarfile.open(out, "w:gz", compresslevel=6) as tar:
        tar.add(app, arcname=f"clipdesk-{version}")
    return out


if __name__ == "__main__":
    raise SystemExit(main())
