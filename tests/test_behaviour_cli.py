"""Command-line options a photographer relies on, each pinned so that ignoring it fails a test:
plugin commands at start-up, ``list --status/--limit/--max``, ``rate --unflag``,
``scan --batch-timeout`` and ``scan --device``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch
from test_behaviour_cull import SINGLES, LitPlugin, write_lit_shoot

import culler
from culler.catalog import open_catalog
from culler.plugin.scorers import Scorer, ScoreResult


def test_a_command_a_plugin_adds_is_there_when_culler_starts(tmp_path):
    """An installed plugin (an entry point in the ``culler`` group) adds ``culler hello``."""
    site = tmp_path / "site"
    dist = site / "hello_plugin-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hello-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[culler]\nhello = hello_plugin\n")
    (site / "hello_plugin.py").write_text(
        "import click\nimport culler\n\n\n"
        "@culler.hookimpl\ndef register_commands(cli):\n"
        "    @cli.command()\n    def hello():\n"
        '        """Say hello from a plugin."""\n'
        '        click.echo("hello from a plugin command")\n'
    )
    env = {k: v for k, v in os.environ.items() if k != "CULLER_LOAD_PLUGINS"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    run = subprocess.run(
        [sys.executable, "-m", "culler", "hello"], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "hello from a plugin command"


@pytest.fixture
def listed(tmp_path, register_test_plugin, culler_cli):
    """The four lit singles scanned by ``bright`` (scores 1.6, 3.5, 5.9, 7.3), one file that
    cannot be read and one deleted after the scan; returns the catalog path."""
    register_test_plugin(LitPlugin, "lit-test")
    folder = tmp_path / "shoot"
    write_lit_shoot(folder, burst=False)
    (folder / "broken.jpg").write_bytes(b"not a jpeg at all")
    (folder / "gone.jpg").write_bytes((folder / "dusk.jpg").read_bytes()[:-1] + b"\xd9")
    db = tmp_path / "culler.db"
    culler_cli("scan", folder, "--db", db, "--scorer", "bright", "--workers", "0")
    (folder / "gone.jpg").unlink()
    culler_cli("scan", folder, "--db", db, "--scorer", "bright", "--workers", "0")
    return db


def _names(rows) -> list[str]:
    return [Path(r["path"]).stem for r in rows]


def test_list_status_limit_and_max(listed, culler_cli):
    everything = culler_cli.json("list", "--db", listed, "--json")
    assert sorted(_names(everything)) == sorted([*SINGLES, "broken", "gone"])
    assert _names(culler_cli.json("list", "--db", listed, "--status", "error", "--json")) == [
        "broken"
    ]
    assert _names(culler_cli.json("list", "--db", listed, "--status", "missing", "--json")) == [
        "gone"
    ]
    ok = culler_cli.json("list", "--db", listed, "--status", "ok", "--json")
    assert sorted(_names(ok)) == sorted(SINGLES)
    best = culler_cli.json("list", "--db", listed, "--sort", "bright", "--limit", "2", "--json")
    assert _names(best) == ["snow", "noon"]
    dim = culler_cli.json(
        "list", "--db", listed, "--sort", "bright", "--max", "4", "--status", "ok", "--json"
    )
    assert _names(dim) == ["dusk", "night"]


def test_rate_unflag_removes_pick_and_keeps_stars(listed, culler_cli, tmp_path):
    photo = tmp_path / "shoot" / "noon.jpg"
    culler_cli("rate", photo, "--db", listed, "--stars", "4", "--pick")
    culler_cli("rate", photo, "--db", listed, "--unflag")
    catalog = open_catalog(listed)
    try:
        state = catalog.current_rating(catalog.photo_by_path(str(photo))["id"])
    finally:
        catalog.close()
    assert (state["stars"], state["decision"], state["source"]) == (4, "none", "cli")


class _Stuck(Scorer):
    """A scorer whose batch never finishes on its own: it waits for the test to let it go."""

    id = "stuck"
    description = "never finishes a batch (test)"
    release = threading.Event()

    def score_batch(self, images):
        # Bounded so that a scan that ignores --batch-timeout still ends (and the test fails).
        self.release.wait(60)
        return [ScoreResult(score=5.0) for _ in images]


class _Recorder(Scorer):
    """Remembers the device it was loaded on."""

    id = "recorder"
    description = "records its device (test)"
    devices: list[str] = []

    def load(self, device="cpu"):
        super().load(device)
        self.devices.append(device)

    def score_batch(self, images):
        return [ScoreResult(score=5.0) for _ in images]


class _TestScorers:
    @staticmethod
    @culler.hookimpl
    def register_scorers(register):
        register(_Stuck)
        register(_Recorder)


@pytest.fixture
def one_photo(tmp_path, register_test_plugin):
    from culler.testing import sample_image

    register_test_plugin(_TestScorers, "cli-test-scorers")
    folder = tmp_path / "shoot"
    folder.mkdir()
    sample_image("coffee").resize((128, 96)).save(folder / "coffee.jpg")
    return folder


def test_scan_batch_timeout_abandons_a_stuck_batch_and_the_scan_goes_on(one_photo, culler_cli):
    _Stuck.release.clear()
    try:
        result = culler_cli(
            "scan", one_photo, "--db", one_photo / "c.db", "--scorer", "stuck",
            "--scorer", "technical", "--workers", "0", "--batch-timeout", "0.5", "--json",
        )  # fmt: skip
    finally:
        _Stuck.release.set()  # let the abandoned batch's thread end
    summary = json.loads(result.stdout)
    assert summary["scorer_errors"] == {"stuck": 1}
    assert summary["status"] == "finished" and summary["scored"] == 1  # technical still scored it
    assert "timed out after 0.5 s" in result.stderr


def test_scan_device_is_the_one_asked_for(one_photo, culler_cli, monkeypatch):
    # Pretend a CUDA GPU is there: auto would pick it, --device cpu must not.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    _Recorder.devices.clear()
    db = one_photo / "c.db"
    culler_cli("scan", one_photo, "--db", db, "--scorer", "recorder", "--device", "cpu")
    assert _Recorder.devices == ["cpu"]
    culler_cli("scan", one_photo, "--db", db, "--scorer", "recorder", "--rescore")
    assert _Recorder.devices == ["cpu", "cuda"]
    # A device that is not there is said so, not silently replaced by the CPU.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    result = culler_cli("scan", one_photo, "--db", db, "--scorer", "recorder", "--device", "cuda")
    assert "recorder: failed to load" in result.output
    assert "PyTorch sees no CUDA GPU" in result.output
    assert _Recorder.devices == ["cpu", "cuda"]
