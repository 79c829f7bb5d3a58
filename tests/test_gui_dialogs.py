"""Settings dialog, first-run wizard, and the model download dialog (local server)."""

from __future__ import annotations

import hashlib
import http.server
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QPushButton

from clipdesk.core.models import ModelFile, ModelSpec, install_dir, is_installed
from clipdesk.core.preprocess import PreprocessConfig
from clipdesk.gui.first_run import FirstRunDialog
from clipdesk.gui.models_ui import DownloadDialog, ModelPicker
from clipdesk.gui.settings import Settings, load_settings, save_settings
from clipdesk.gui.settings_dialog import SettingsDialog

REVISION = "0123456789abcdef0123456789abcdef01234567"
FILENAME = "open_clip_model.safetensors"
CHUNK = 64 * 1024


@pytest.fixture(autouse=True)
def no_threads_left():
    yield
    pool = QThreadPool.globalInstance()
    assert pool.waitForDone(30_000)
    assert pool.activeThreadCount() == 0


def start_server(files: dict[str, bytes], port: int = 0) -> http.server.ThreadingHTTPServer:
    """Serves ``files`` in small chunks, a little slowly, so a download can be cancelled."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            data = files.get(self.path)
            if data is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                for start in range(0, len(data), CHUNK):
                    self.wfile.write(data[start : start + CHUNK])
                    time.sleep(0.005)  # the server's pace, not the test's
            except (BrokenPipeError, ConnectionResetError):
                pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):
    files: dict[str, bytes] = {}
    httpd = start_server(files)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{httpd.server_address[1]}")
    yield files
    httpd.shutdown()
    httpd.server_close()


def published_spec(files: dict[str, bytes], size: int) -> ModelSpec:
    data = bytes(range(256)) * (size // 256)
    files[f"/org/repo/resolve/{REVISION}/{FILENAME}"] = data
    digest = hashlib.sha256(data).hexdigest()
    return ModelSpec(
        name="gui-test-model",
        arch="ViT-B-32",
        pretrained="test",
        resolution=224,
        files=(ModelFile("org/repo", REVISION, FILENAME, digest, len(data)),),
        preprocess=PreprocessConfig(224),
    )


def test_settings_dialog_edits_and_the_edits_persist(qtbot, tmp_path: Path):
    settings = Settings(cpu_share=0.5, thumbnail_cache_mb=256)
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.device.setCurrentText("cpu")
    dialog.cpu_share.setValue(25)
    dialog.excluded.addItem(str(tmp_path / "private"))
    dialog.cache_mb.setValue(1024)
    dialog.model.setCurrentIndex(dialog.model.findData("tiny-shapes"))
    assert "cores decode" in dialog.cpu_share_label.text()
    edited = dialog.result_settings()
    assert settings.cpu_share == 0.5, "the dialog edits a copy"
    assert (edited.device, edited.cpu_share, edited.thumbnail_cache_mb) == ("cpu", 0.25, 1024)
    assert edited.excluded_folders == [str(tmp_path / "private")]
    assert edited.model == "tiny-shapes"
    save_settings(edited)
    assert load_settings() == edited


def test_model_picker_shows_facts_and_install_state(qtbot):
    picker = ModelPicker("tiny-shapes")
    qtbot.addWidget(picker)
    assert picker.name() == "tiny-shapes"
    assert picker.installed() == is_installed(picker.spec())
    picker.select("ViT-B-32-256-datacomp")
    facts = picker.facts.text()
    assert "72.8% ImageNet" in facts and "MIT" in facts and "605 MB" in facts
    assert not picker.installed()


def test_first_run_offers_folders_and_needs_an_installed_model(qtbot, tmp_path: Path):
    wizard = FirstRunDialog("ViT-B-32-256-datacomp")
    qtbot.addWidget(wizard)
    wizard.folders_page.add_folder(str(tmp_path))
    wizard.folders_page.add_folder(str(tmp_path))
    assert wizard.folders().count(str(tmp_path)) == 1
    page = wizard.model_page
    assert not page.isComplete(), "a model that is not installed cannot finish the wizard"
    assert page.download_button.isEnabled()
    page.picker.select("tiny-shapes")
    assert page.isComplete() == is_installed(page.picker.spec())
    assert wizard.model() == "tiny-shapes"


def test_download_dialog_installs_the_model(qtbot, server):
    spec = published_spec(server, 512 * 1024)
    dialog = DownloadDialog(spec)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.finishedOk, timeout=60_000) as done:
        dialog.start()
    assert done.args == [spec.name]
    assert dialog.value() == dialog.maximum() == 1000
    assert is_installed(spec)


def test_download_dialog_cancel_leaves_nothing_behind(qtbot, server):
    spec = published_spec(server, 16 * 1024 * 1024)
    dialog = DownloadDialog(spec)
    qtbot.addWidget(dialog)
    dialog.start()
    qtbot.waitUntil(lambda: 0 < dialog.value() < 1000, timeout=60_000)
    with qtbot.waitSignal(dialog.failed, timeout=60_000) as failed:
        dialog.findChild(QPushButton).click()
    assert failed.args == ["cancelled"]
    folder = install_dir(spec)
    assert not folder.exists()
    assert not any(folder.parent.glob(f".{folder.name}*")) if folder.parent.exists() else True


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def offline_page(qtbot, monkeypatch: pytest.MonkeyPatch):
    """The wizard's model page with a downloadable model whose server is not there."""
    import clipdesk.core.models as models
    from clipdesk.core.models import download

    # One retry shows the same failure as five, without waiting out their back-off.
    monkeypatch.setattr(download, "RETRIES", 1)
    port = _closed_port()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    files: dict[str, bytes] = {}
    spec = published_spec(files, 256 * 1024)
    listed = models.list_models()
    monkeypatch.setattr(models, "list_models", lambda: [*listed, spec])
    wizard = FirstRunDialog(spec.name)
    qtbot.addWidget(wizard)
    page = wizard.model_page
    assert page.picker.name() == spec.name and not page.isComplete()
    page.download_button.click()
    qtbot.waitUntil(lambda: not page.retry_button.isHidden(), timeout=60_000)
    yield page, spec, files, port
    del wizard  # kept alive until the test is done


def test_offline_download_offers_retry_and_retry_resumes(qtbot, offline_page):
    page, spec, files, port = offline_page
    note = page.note.text()
    assert "Retry" in note and "import a model file" in note
    assert "command" not in note, note
    assert not page.import_button.isHidden() and page.import_button.isEnabled()
    assert not page.isComplete()
    httpd = start_server(files, port)  # the network is back
    try:
        page.retry_button.click()
        assert page.retry_button.isHidden() and not page.download_button.isEnabled()
        qtbot.waitUntil(page.isComplete, timeout=60_000)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert is_installed(spec) and page.isComplete()
    assert page.retry_button.isHidden()


def test_offline_download_then_import_of_a_pack_completes_the_page(
    qtbot, offline_page, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import clipdesk.gui.first_run as first_run
    from clipdesk.core.models import get_model
    from clipdesk.core.models.pack import write_pack
    from clipdesk.core.models.testing import save_random_model, tiny_model_config

    page, _spec, _files, _port = offline_page
    models_dir = Path(os.environ["CLIPDESK_MODELS_DIR"])
    save_random_model(models_dir / "small", tiny_model_config(), name="small", seed=2)
    pack = tmp_path / "small.clipdesk-pack"
    write_pack(get_model("small"), pack)
    shutil.rmtree(models_dir / "small")
    monkeypatch.setattr(first_run.QFileDialog, "getOpenFileName", lambda *a, **k: (str(pack), ""))
    with qtbot.waitSignal(page.completeChanged, timeout=60_000):
        page.import_button.click()
    qtbot.waitUntil(lambda: page.importer is None, timeout=60_000)
    assert page.picker.name() == "small", page.note.text()
    assert page.isComplete() and is_installed(get_model("small"))
    assert page.note.text() == "Installed: ready to use."
