"""`culler list` starts small (issue #32): at a million photos a page of `list --sort SCORER --limit N`
is read from an index in milliseconds, so what the photographer waits for is the process start. The
list path must not load numpy, torch, PIL, pluggy, sqlite-utils or any plugin; plugins' commands and
the modules that hold an option's choices load when they are needed."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from culler.catalog import now, open_catalog

#: Modules the list path never needs (plugins' packages are ``culler_plugins``).
HEAVY = ("numpy", "torch", "PIL", "pluggy", "sqlite_utils", "culler_plugins", "PySide6")


def _child(code: str, tmp_path: Path) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON line last."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**__import__("os").environ, "CULLER_HOME": str(tmp_path / "home")},
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _scored_catalog(path: Path) -> Path:
    catalog = open_catalog(path)
    stamp = now()
    pk = catalog.scorer_pk("technical", "1.0")
    with catalog.transaction() as conn:
        for k, score in enumerate([3.5, 7.25, 1.0]):
            pid = conn.execute(
                "INSERT INTO photos (path, root, status, first_seen, last_seen)"
                " VALUES (?, '/r', 'ok', ?, ?)",
                [f"/r/IMG_{k}.jpg", stamp, stamp],
            ).lastrowid
            conn.execute(
                "INSERT INTO scores (photo_id, scorer_pk, score, created) VALUES (?, ?, ?, ?)",
                [pid, pk, score, stamp],
            )
    catalog.close()
    return path


@pytest.mark.parametrize("as_json", [False, True])
def test_culler_list_loads_no_heavy_module_and_no_plugin(tmp_path, as_json):
    db = _scored_catalog(tmp_path / "c.db")
    args = ["list", "--sort", "technical", "--limit", "2", "--db", str(db)] + (
        ["--json"] if as_json else []
    )
    result = _child(
        f"""
        import io, json, sys, contextlib
        from culler.cli import cli
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            cli.main({args!r}, standalone_mode=False)
        loaded = sorted(m for m in {HEAVY!r} if m in sys.modules)
        print(json.dumps({{"loaded": loaded, "out": out.getvalue()}}))
        """,
        tmp_path,
    )
    assert result["loaded"] == []
    out = result["out"]
    if as_json:  # the page is right: best first, two rows
        assert [r["path"] for r in json.loads(out)] == ["/r/IMG_1.jpg", "/r/IMG_0.jpg"]
    else:
        lines = out.splitlines()
        assert lines[0].split("\t")[:3] == ["path", "status", "technical"]
        assert [ln.split("\t")[0] for ln in lines[1:]] == ["/r/IMG_1.jpg", "/r/IMG_0.jpg"]


def test_a_plugin_command_loads_on_first_use(tmp_path):
    """Plugins' commands are not loaded at start any more: a name that is not a core command (and
    ``--help``) loads them, so a plugin's command still runs and is still listed."""
    result = _child(
        """
        import io, json, sys, contextlib, click
        import culler
        from culler.cli import cli
        from culler.plugin import manager
        class Late:
            @staticmethod
            @culler.hookimpl
            def register_commands(cli):
                @cli.command(name="late-hello")
                def hello():
                    '''Say hello.'''
                    click.echo("hello from a plugin")
        manager.register_plugin(Late, "late")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            cli.main(["late-hello"], standalone_mode=False)
        ctx = click.Context(cli)
        print(json.dumps({"out": out.getvalue(), "listed": "late-hello" in cli.list_commands(ctx)}))
        """,
        tmp_path,
    )
    assert result == {"out": "hello from a plugin\n", "listed": True}


def test_an_unknown_command_is_still_refused_after_plugins_load():
    result = CliRunner().invoke(__import__("culler.cli").cli.cli, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command 'no-such-command'" in result.output


def test_choices_read_from_their_module_when_used(tmp_path):
    """`--naming` and `--editor` take their choices from the XMP and agreement modules, which load
    when the option is parsed or shown (not at start); a bad value is refused with the choices."""
    from culler.cli import cli
    from culler.decide.agreement import PRESETS, SOURCES
    from culler.interop.xmp import NAMINGS

    runner = CliRunner()
    result = runner.invoke(
        cli, ["xmp", "write", "--naming", "nope", "--db", str(tmp_path / "x.db")]
    )
    assert result.exit_code == 2
    for naming in NAMINGS:
        assert f"'{naming}'" in result.output
    shown = runner.invoke(cli, ["agreement", "--help"]).output
    assert all(source in shown for source in SOURCES)
    assert all(editor in shown for editor in PRESETS)


def test_lazy_choice_is_a_click_choice():
    from culler.commands.options import LazyChoice

    choice = LazyChoice("culler.interop.xmp", "NAMINGS")
    assert choice.convert("basename", None, None) == "basename"
    with pytest.raises(click.BadParameter):
        choice.convert("IMG", None, None)
    assert list(LazyChoice("culler.decide.agreement", "SOURCES", sort=True).choices) == sorted(
        ["auto", "catalog", "xmp"]
    )


def test_the_record_table_is_sqlite_utils_own():
    import sqlite_utils

    from culler.catalog.migrations import RECORD_TABLE

    assert sqlite_utils.Migrations.migrations_table == RECORD_TABLE


def test_a_core_only_open_leaves_plugin_steps_for_the_next_open(tmp_path, register_test_plugin):
    """`culler list` opens with core steps only: a plugin's new step waits (nothing is lost, nothing
    half-applied) and the next ordinary open applies it."""
    import culler

    class Plugin:
        @staticmethod
        @culler.hookimpl
        def register_migrations(migrations):
            @migrations("001_startup_probe")
            def step(db):
                db.execute("CREATE TABLE startup_probe (id INTEGER PRIMARY KEY)")

    path = tmp_path / "c.db"
    open_catalog(path).close()  # before the plugin exists
    register_test_plugin(Plugin, "startup-probe")
    catalog = open_catalog(path, create=False, plugins=False)
    assert "startup_probe" not in {
        r[0] for r in catalog.conn.execute("SELECT name FROM sqlite_master")
    }
    assert catalog.pending_migrations(plugins=False) == []
    assert catalog.pending_migrations() == ["plugin:001_startup_probe"]
    catalog.close()
    catalog = open_catalog(path, create=False)
    assert "startup_probe" in {r[0] for r in catalog.conn.execute("SELECT name FROM sqlite_master")}
    catalog.close()
