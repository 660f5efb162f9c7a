"""Third-party registration, the allow-list, and fault isolation of plugins."""

import json
import os
import subprocess
import sys

from click.testing import CliRunner

import culler
from culler.cli import cli
from culler.plugin import manager as plugin_manager
from culler.plugin.info import plugin_info
from culler.plugin.scorers import Scorer, ScoreResult, get_scorer_classes


class BrightnessScorer(Scorer):
    """A tiny third-party scorer: mean brightness on 0–10."""

    id = "test-brightness"
    input_size = 64
    batch_size = 4

    def score_batch(self, images):
        import numpy as np

        return [
            ScoreResult(score=float(np.asarray(im).mean()) / 25.5, reasons=["bright"])
            for im in images
        ]


class FakePlugin:
    @staticmethod
    @culler.hookimpl
    def register_scorers(register):
        register(BrightnessScorer)


class BrokenPlugin:
    @staticmethod
    @culler.hookimpl
    def register_scorers(register):
        raise RuntimeError("boom")

    @staticmethod
    @culler.hookimpl
    def scan_finished(db, summary):
        raise RuntimeError("also boom")


def test_third_party_scorer_is_registered_and_scores(photo_dir, register_test_plugin):
    register_test_plugin(FakePlugin, "fake")
    assert "test-brightness" in get_scorer_classes()
    result = CliRunner().invoke(cli, ["scan", str(photo_dir), "--json", "--workers", "0"])
    summary = json.loads(result.stdout)
    assert set(summary["scorers"]) >= {"technical", "test-brightness"}
    rows = json.loads(
        CliRunner()
        .invoke(
            cli,
            ["list", "--db", str(photo_dir / "culler.db"), "--sort", "test-brightness", "--json"],
        )
        .output
    )
    assert all(0 <= r["scores"]["test-brightness"] <= 10 for r in rows)
    info = {p["name"]: p for p in plugin_info()}
    assert info["fake"]["scorers"] == ["test-brightness"]


def test_plugin_raising_in_a_hook_is_reported_and_skipped(photo_dir, register_test_plugin):
    register_test_plugin(BrokenPlugin, "broken")
    classes = get_scorer_classes()
    assert "technical" in classes
    assert "broken" in plugin_manager.FAILED and "boom" in plugin_manager.FAILED["broken"]
    result = CliRunner().invoke(cli, ["scan", str(photo_dir), "--json", "--workers", "0"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["scored"] > 0


def test_allow_list_restricts_plugins(tmp_path):
    env = {**os.environ, "CULLER_LOAD_PLUGINS": "technical"}
    out = subprocess.run(
        [sys.executable, "-m", "culler", "plugins"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert [p["name"] for p in json.loads(out.stdout)] == ["technical"]


def test_plugin_failing_at_import_is_reported_by_name(tmp_path):
    """A plugin whose module raises at import shows up with its error; the rest still load."""
    pkg = tmp_path / "site"
    (pkg / "badplugin").mkdir(parents=True)
    (pkg / "badplugin" / "__init__.py").write_text("raise ImportError('missing dependency xyz')\n")
    dist = pkg / "badplugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: badplugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[culler]\nbad = badplugin\n")
    env = {**os.environ, "PYTHONPATH": str(pkg), "CULLER_LOAD_PLUGINS": "technical,bad"}
    out = subprocess.run(
        [sys.executable, "-m", "culler", "plugins"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    info = {p["name"]: p for p in json.loads(out.stdout)}
    assert "missing dependency xyz" in info["bad"]["error"]
    assert info["technical"]["scorers"] == ["technical"]


class UnknownRolePlugin:
    class Vibes(BrightnessScorer):
        id = "test-vibes"
        role = "vibes"  # not one of culler.api.ROLES: ranking could not use it

    @staticmethod
    @culler.hookimpl
    def register_scorers(register):
        register(UnknownRolePlugin.Vibes)


def test_scorer_role_is_checked_at_registration(register_test_plugin):
    from culler.api import ROLES

    register_test_plugin(UnknownRolePlugin, "vibes-plugin")
    classes = get_scorer_classes()
    assert "test-vibes" not in classes and "technical" in classes
    assert "role must be one of" in plugin_manager.FAILED["vibes-plugin"]
    assert all(cls.role in ROLES for cls in classes.values())
