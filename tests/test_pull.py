"""`culler models pull`: a local HTTP server (threaded, in the test) and a stubbed hub stand in for the
internet. Nothing here touches the network."""

from __future__ import annotations

import hashlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch
from culler_plugins.clip import common
from culler_plugins.clip.testing import TINY_MODEL, TINY_TAG, write_tiny_backbone

import culler
from culler.models import pull
from culler.models.weights import WeightSpec, manifest, scorer_dir, sha256_file
from culler.plugin.scorers import Scorer, ScoreResult

PAYLOAD = b"culler test weights\n" * 2048


@pytest.fixture(autouse=True)
def _no_proxy_no_offline(monkeypatch):
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "CULLER_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


@pytest.fixture
def server():
    """``server(files)`` serves {path: bytes} on 127.0.0.1; returns the base URL."""
    started = []

    def start(files: dict[str, bytes]) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                body = files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        started.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    yield start
    for httpd in started:
        httpd.shutdown()
        httpd.server_close()


class Remote(Scorer):
    """A scorer whose one file is downloaded; its spec is set per test."""

    id = "remote-test"
    weights = []

    def score_batch(self, images):
        return [ScoreResult(score=5.0) for _ in images]


@pytest.fixture
def remote(register_test_plugin, monkeypatch):
    """``remote(source, content)`` declares one file at ``source`` with ``content``'s sha256 and size."""

    class Plugin:
        @staticmethod
        @culler.hookimpl
        def register_scorers(register):
            register(Remote)

    register_test_plugin(Plugin, "remote-test")

    def declare(source: str, content: bytes = PAYLOAD, name: str = "model.bin") -> WeightSpec:
        spec = WeightSpec(name, source, hashlib.sha256(content).hexdigest(), len(content))
        monkeypatch.setattr(Remote, "weights", [spec])
        return spec

    return declare


def _leftovers(scorer_id: str) -> list[str]:
    folder = scorer_dir(scorer_id)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_pull_over_http_installs_verifies_and_is_idempotent(server, remote, culler_cli):
    url = server({"/w/model.bin": PAYLOAD}) + "/w/model.bin"
    spec = remote(url)
    out = culler_cli("models", "pull", "remote-test").output
    assert "model.bin: installed" in out
    installed = scorer_dir("remote-test") / "model.bin"
    assert installed.read_bytes() == PAYLOAD
    entry = manifest("remote-test")["model.bin"]
    assert (entry["source"], entry["origin"], entry["sha256"]) == ("pull", url, spec.sha256)
    assert _leftovers("remote-test") == ["manifest.json", "model.bin"]
    again = culler_cli("models", "pull", "remote-test").output
    assert "model.bin: already installed" in again


def test_sha_mismatch_from_the_server_keeps_the_old_file(server, remote, culler_cli):
    url = server({"/model.bin": b"tampered" + PAYLOAD[8:]}) + "/model.bin"
    remote(url)
    folder = scorer_dir("remote-test")
    folder.mkdir(parents=True)
    old = b"an older, damaged copy"
    (folder / "model.bin").write_bytes(old)
    result = culler_cli("models", "pull", "remote-test", expect=1)
    assert "does not match its published sha256" in result.output
    assert "Traceback" not in result.output
    assert (folder / "model.bin").read_bytes() == old
    assert _leftovers("remote-test") == ["model.bin"]  # no partial download, no manifest entry


def test_wrong_size_and_http_errors_are_refused(server, remote, culler_cli):
    base = server({"/short.bin": PAYLOAD[:100]})
    remote(base + "/short.bin")
    short = culler_cli("models", "pull", "remote-test", expect=1)
    assert "not the published" in short.output and _leftovers("remote-test") == []
    remote(base + "/gone.bin")
    gone = culler_cli("models", "pull", "remote-test", expect=1)
    assert "HTTP 404" in gone.output and "culler models import" in gone.output


@pytest.fixture
def urlopen_timeouts(monkeypatch):
    """The ``timeout`` of every urlopen the pull makes (the real urlopen still runs)."""
    import urllib.request

    seen: list[float | None] = []
    real = urllib.request.urlopen

    def recording(*args, **kwargs):
        seen.append(kwargs.get("timeout"))
        return real(*args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", recording)
    return seen


def test_a_server_that_never_answers_fails_within_the_timeout(remote, culler_cli, urlopen_timeouts):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts connections (the kernel does) and never says a word
    try:
        remote(f"http://127.0.0.1:{silent.getsockname()[1]}/model.bin")
        result = culler_cli("models", "pull", "remote-test", "--timeout", "1", expect=1)
    finally:
        silent.close()
    assert urlopen_timeouts == [1.0]  # --timeout bounds the connect and every read
    assert "timed out" in result.output
    assert "could not reach 127.0.0.1" in result.output
    assert "culler models import remote-test FILE" in result.output
    assert _leftovers("remote-test") == []


def test_an_unroutable_address_fails_fast(remote, culler_cli, urlopen_timeouts):
    remote("http://10.255.255.1/model.bin")
    result = culler_cli("models", "pull", "remote-test", "--timeout", "2", expect=1)
    assert urlopen_timeouts == [2.0]
    # Unroutable on a real network; some sandboxes intercept it (and answer 404). Either way: a
    # clear one-line error, no traceback, nothing installed.
    assert "could not reach 10.255.255.1" in result.output or "HTTP 404" in result.output
    assert "Traceback" not in result.output and _leftovers("remote-test") == []


def test_offline_fails_at_once_and_tells_the_hub(remote, culler_cli, monkeypatch):
    remote("https://example.invalid/model.bin")
    monkeypatch.setenv("CULLER_OFFLINE", "1")

    def no_network(*args, **kwargs):
        raise AssertionError("an offline pull opened a connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    result = culler_cli("models", "pull", "remote-test", expect=1)
    assert "offline (CULLER_OFFLINE=1 or --offline): model.bin for remote-test" in result.output
    assert "culler models import remote-test FILE" in result.output
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    monkeypatch.delenv("CULLER_OFFLINE")
    flag = culler_cli("models", "pull", "remote-test", "--offline", expect=1)
    assert "offline" in flag.output


def test_import_only_scorer_explains_how_to_import(culler_cli):
    result = culler_cli("models", "pull", "saan", expect=1)
    assert (
        "saan's weights cannot be downloaded (no published file: saan.safetensors); import a "
        "checkpoint with `culler models import saan FILE`"
    ) in result.output


def test_hf_source_goes_through_the_hub_client(remote, culler_cli, monkeypatch, tmp_path):
    spec = remote("hf://someone/weights-repo/sub/model.bin")
    calls = []

    def fake_download(repo, filename, workdir, timeout):
        calls.append((repo, filename, timeout))
        path = workdir / "hub" / filename
        path.parent.mkdir(parents=True)
        path.write_bytes(PAYLOAD)
        return path

    monkeypatch.setattr(pull, "_hf_download", fake_download)
    culler_cli("models", "pull", "remote-test", "--timeout", "3")
    assert calls == [("someone/weights-repo", "sub/model.bin", 3.0)]
    assert manifest("remote-test")["model.bin"]["sha256"] == spec.sha256


def test_open_clip_source_resolves_to_the_hub_safetensors(culler_cli, monkeypatch, tmp_path):
    tiny = write_tiny_backbone(tmp_path / "tiny.safetensors")
    calls = []

    def fake_download(repo, filename, workdir, timeout):
        calls.append((repo, filename))
        return tiny

    monkeypatch.setattr(pull, "_hf_download", fake_download)
    out = culler_cli("models", "pull", "emotion").output
    assert calls == [("timm/vit_large_patch14_clip_224.openai", "open_clip_model.safetensors")]
    name = common.backbone_spec("ViT-L-14", "openai").name
    entry = manifest("emotion")[name]
    assert entry["sha256"] == sha256_file(tiny) and entry["source"] == "pull"
    assert (
        entry["origin"] == "hf://timm/vit_large_patch14_clip_224.openai/open_clip_model.safetensors"
    )
    assert f"{name}: recorded sha256 {entry['sha256'][:12]}… (trust on first use" in out
    # The backbone now counts for clip-aesthetic too: only LAION's head is left to pull.
    row = {r["scorer"]: r for r in culler_cli.json("models", "list", "--json")}["clip-aesthetic"]
    assert [f["status"] for f in row["files"]] == ["installed", "missing"]


def test_open_clip_falls_back_to_the_pickled_checkpoint_and_converts_it(
    culler_cli, monkeypatch, tmp_path
):
    import open_clip

    tiny = write_tiny_backbone(tmp_path / "tiny.safetensors")
    from culler.models.weights import load_state_dict

    bin_path = tmp_path / "open_clip_pytorch_model.bin"
    torch.save(load_state_dict(tiny), bin_path)
    real_cfg = open_clip.get_pretrained_cfg
    monkeypatch.setattr(
        open_clip,
        "get_pretrained_cfg",
        lambda m, t: {"hf_hub": "someone/tiny-clip/"} if m == TINY_MODEL else real_cfg(m, t),
    )
    calls = []

    def fake_download(repo, filename, workdir, timeout):
        calls.append(filename)
        if filename.endswith(".safetensors"):
            raise pull.NotOnHub(filename)
        return bin_path

    monkeypatch.setattr(pull, "_hf_download", fake_download)
    args = ["--config", f"model={TINY_MODEL}", "--config", f"pretrained={TINY_TAG}"]
    culler_cli("models", "pull", "emotion", *args)
    assert calls == ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
    name = common.backbone_spec(TINY_MODEL, TINY_TAG).name
    entry = manifest("emotion")[name]
    assert entry["origin_sha256"] == sha256_file(bin_path) != entry["sha256"]  # converted
    assert entry["origin"] == "hf://someone/tiny-clip/open_clip_pytorch_model.bin"


def test_unknown_open_clip_tag_lists_valid_ones(culler_cli):
    result = culler_cli("models", "pull", "emotion", "--config", "pretrained=nope", expect=1)
    assert "open_clip knows no pretrained weights 'nope' for ViT-L-14" in result.output
    assert "openai" in result.output
    assert not any(Path(scorer_dir("emotion")).glob("*.safetensors"))
