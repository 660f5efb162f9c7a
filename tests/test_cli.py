"""Every CLI command has --help, and the core commands work through click's runner and as a subprocess."""

import json
import os
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from culler.cli import cli


def all_commands(group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


@pytest.mark.parametrize("path", [p for p, _ in all_commands(cli)], ids=" ".join)
def test_every_command_has_help(path):
    command = dict(all_commands(cli))[path]
    assert command.help and command.help.strip(), f"culler {' '.join(path)} has no help text"
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_scan_list_show_json(photo_dir):
    runner = CliRunner()
    result = runner.invoke(cli, ["scan", str(photo_dir), "--json", "--workers", "0"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    for key in (
        "files_seen",
        "new",
        "changed",
        "skipped",
        "scored",
        "errors",
        "seconds",
        "images_per_second",
    ):
        assert key in summary
    db = str(photo_dir / "culler.db")
    listed = json.loads(
        runner.invoke(cli, ["list", "--db", db, "--sort", "technical", "--json"]).output
    )
    assert len(listed) == summary["files_seen"]
    scores = [row["scores"]["technical"] for row in listed]
    assert scores == sorted(scores, reverse=True)
    assert {"path", "status", "error", "scores"} <= set(listed[0])
    best = listed[0]["path"]
    filtered = json.loads(
        runner.invoke(
            cli, ["list", "--db", db, "--sort", "technical", "--min", str(scores[0]), "--json"]
        ).output
    )
    assert [r["path"] for r in filtered] == [best]
    shown = runner.invoke(cli, ["show", best, "--db", db])
    assert shown.exit_code == 0 and "technical" in shown.output
    details = json.loads(runner.invoke(cli, ["show", best, "--db", db, "--json"]).output)
    assert details["scores"][0]["reasons"]


def test_strict_exits_1_on_errors(photo_dir):
    (photo_dir / "zero.jpg").write_bytes(b"")
    runner = CliRunner()
    assert runner.invoke(cli, ["scan", str(photo_dir), "--workers", "0"]).exit_code == 0
    assert runner.invoke(cli, ["scan", str(photo_dir), "--workers", "0", "--strict"]).exit_code == 1


def test_list_without_catalog_says_what_to_do(tmp_path):
    result = CliRunner().invoke(cli, ["list", "--db", str(tmp_path / "none.db")])
    assert result.exit_code != 0
    assert "culler scan" in result.output


def test_unknown_scorer_is_a_clear_error(photo_dir):
    result = CliRunner().invoke(cli, ["scan", str(photo_dir), "--scorer", "nope"])
    assert result.exit_code != 0 and "unknown scorer nope" in result.output


def test_plugins_json_lists_technical():
    info = json.loads(CliRunner().invoke(cli, ["plugins"]).output)
    technical = next(p for p in info if p["name"] == "technical")
    assert technical["scorers"] == ["technical"] and "register_scorers" in technical["hooks"]


def test_cli_as_a_subprocess(photo_dir):
    env = {**os.environ, "CULLER_LOAD_PLUGINS": "technical"}
    out = subprocess.run(
        [sys.executable, "-m", "culler", "scan", str(photo_dir), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    assert json.loads(out.stdout)["scored"] >= 4
    version = subprocess.run(
        [sys.executable, "-m", "culler", "--version"], capture_output=True, text=True
    )
    assert "culler" in version.stdout
