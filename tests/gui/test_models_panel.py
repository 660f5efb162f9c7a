"""The Models tab installs weights: Download (the pull of `culler models pull`, in the background, with
progress and cancel, and the same message when offline) and Import… (`culler models import`), then
offers a rescan. A local HTTP server stands in for the internet."""

from __future__ import annotations

import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import culler
from culler.models.weights import WeightSpec, manifest
from culler.plugin.scorers import Scorer, ScoreResult

PAYLOAD = b"culler gui test weights\n" * 4096  # ~100 kB
SLOW_CHUNKS = 40  # of 1 MiB each, one every 0.1 s: a download the test can cancel


class Remote(Scorer):
    id = "remote-gui-test"
    weights: list[WeightSpec] = []

    def score_batch(self, images):
        return [ScoreResult(score=5.0) for _ in images]


@pytest.fixture(autouse=True)
def _online(monkeypatch):
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "CULLER_OFFLINE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server():
    """Serves ``/model.bin`` (PAYLOAD) and ``/slow.bin`` (a large file trickled out)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            if self.path == "/model.bin":
                self.send_response(200)
                self.send_header("Content-Length", str(len(PAYLOAD)))
                self.end_headers()
                self.wfile.write(PAYLOAD)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(SLOW_CHUNKS << 20))
            self.end_headers()
            try:
                for _ in range(SLOW_CHUNKS):
                    self.wfile.write(b"\0" * (1 << 20))
                    time.sleep(0.1)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def panel(qtbot, settings, register_test_plugin, monkeypatch, tmp_path):
    from culler.gui.scorers_panel import ScorersPanel

    class Plugin:
        @staticmethod
        @culler.hookimpl
        def register_scorers(register):
            register(Remote)

    register_test_plugin(Plugin, "remote-gui-test")

    def make(source: str, content: bytes = PAYLOAD):
        spec = WeightSpec("model.bin", source, hashlib.sha256(content).hexdigest(), len(content))
        monkeypatch.setattr(Remote, "weights", [spec])
        widget = ScorersPanel(settings)
        qtbot.addWidget(widget)
        widget.set_catalog(tmp_path / "culler.db")
        assert widget.select_scorer(Remote.id)
        return widget

    return make


def test_download_installs_with_progress_then_offers_a_rescan(qtbot, panel, server):
    widget = panel(f"{server}/model.bin")
    assert widget.download_button.isEnabled()
    progress = []
    with qtbot.waitSignal(widget.weightsFinished, timeout=30_000) as finished:
        widget.download_button.click()
        widget.weights_worker.progress.connect(lambda done, total: progress.append((done, total)))
    assert finished.args[0] is True
    assert manifest(Remote.id)["model.bin"]["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()
    assert next(r for r in widget.model.rows if r.id == Remote.id).weights == "installed"
    assert not widget.download_button.isEnabled()  # nothing left to download
    assert not widget.rescan_offer.isHidden()
    with qtbot.waitSignal(widget.scanRequested, timeout=1000):
        widget.rescan_offer.click()


def test_offline_says_what_to_do_and_installs_nothing(qtbot, panel, server, monkeypatch):
    monkeypatch.setenv("CULLER_OFFLINE", "1")
    widget = panel(f"{server}/model.bin")
    with qtbot.waitSignal(widget.weightsFinished, timeout=30_000) as finished:
        widget.download()
    ok, text = finished.args
    assert not ok and "offline" in text and f"culler models import {Remote.id} FILE" in text
    assert "model.bin" not in manifest(Remote.id)
    assert widget.rescan_offer.isHidden() and text in widget.weights_status.text()


def test_cancel_stops_a_download_and_leaves_no_file(qtbot, panel, server):
    widget = panel(f"{server}/slow.bin", content=b"\0" * (SLOW_CHUNKS << 20))
    widget.download()
    worker = widget.weights_worker
    with qtbot.waitSignal(worker.progress, timeout=30_000):
        pass  # the first megabyte arrived
    with qtbot.waitSignal(widget.weightsFinished, timeout=30_000) as finished:
        widget.weights_cancel.click()
    assert finished.args == [False, "Download cancelled; nothing was installed."]
    assert "model.bin" not in manifest(Remote.id)
    assert widget.download_button.isEnabled()  # it can be tried again


def test_import_installs_a_local_file(qtbot, panel, tmp_path):
    widget = panel("https://example.invalid/model.bin")
    local = tmp_path / "model.bin"
    local.write_bytes(PAYLOAD)
    with qtbot.waitSignal(widget.weightsFinished, timeout=30_000) as finished:
        widget.import_file(Remote.id, local)
    assert finished.args[0] is True and "imported model.bin" in finished.args[1]
    assert manifest(Remote.id)["model.bin"]["source"] == "import"


def test_a_bad_weights_file_is_said_in_one_line_without_pytorchs_advice():
    # Issue #29: the Models tab showed PyTorch's raw error ("Please file an issue") for a bad import.
    from pathlib import Path

    from culler.gui.workers import weights_error_text

    raw = RuntimeError(
        "Weights only load failed. Re-running `torch.load` with `weights_only` set to `False` will "
        "likely succeed. Please file an issue with the following so that we can make "
        "`weights_only=True` compatible with your use case: WeightsUnpickler error: Unsupported "
        "operand 149\n\nCheck the documentation of torch.load to learn more."
    )
    text = weights_error_text("saan", Path("/downloads/model.pth"), raw)
    assert "\n" not in text and "Please file an issue" not in text
    assert text.startswith("saan: model.pth could not be read as its weights (Weights only load")
    assert "weights_only" not in text  # PyTorch's unsafe advice is not passed on
    assert text.endswith("choose the file docs/models.md names for saan")
