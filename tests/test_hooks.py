"""Every hook is documented (docs/plugins.md heading) and has a test named test_hook_<name>."""

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import culler
from culler.catalog import open_catalog
from culler.cli import cli
from culler.plugin import manager as plugin_manager
from culler.scan import ScanOptions, scan_folders

ROOT = Path(__file__).resolve().parent.parent
HOOKS = plugin_manager.hook_names()


def test_hooks_are_found():
    assert {"register_scorers", "load_image", "scan_finished"} <= set(HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_docs_heading(hook):
    docs = (ROOT / "docs" / "plugins.md").read_text()
    assert re.search(rf"^## {hook}$", docs, re.M), f"docs/plugins.md has no '## {hook}' heading"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test(hook):
    sources = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py"))
    assert f"def test_hook_{hook}" in sources, f"no test_hook_{hook} in tests/"


def test_hook_register_scorers():
    from culler.plugin.scorers import get_scorer_classes

    assert get_scorer_classes()["technical"].plugin_name == "technical"


def test_hook_register_commands(register_test_plugin):
    import click

    class P:
        @staticmethod
        @culler.hookimpl
        def register_commands(cli):
            @cli.command(name="hello-test")
            def hello():
                """Say hello."""
                click.echo("hello from a plugin")

    register_test_plugin(P, "cmd-plugin")
    plugin_manager.call_safely("register_commands", cli=cli)
    try:
        assert CliRunner().invoke(cli, ["hello-test"]).output.strip() == "hello from a plugin"
    finally:
        cli.commands.pop("hello-test", None)


def test_hook_load_image(tmp_path, register_test_plugin):
    from PIL import Image

    from culler.imaging import images

    class Loader:
        @staticmethod
        @culler.hookimpl
        def load_image(path, max_side):
            if path.endswith(".fake"):
                return Image.new("RGB", (max_side, max_side // 2), (200, 100, 50))
            return None

    register_test_plugin(Loader, "fake-format")
    (tmp_path / "x.fake").write_bytes(b"anything")
    im, info = images.open_photo(tmp_path / "x.fake", 300)
    assert im.size == (300, 150) and info.width == 300
    jpg = tmp_path / "y.jpg"
    Image.new("RGB", (50, 40)).save(jpg)
    assert images.open_photo(jpg, 300)[0].size == (50, 40)  # PIL still handles the rest


def test_hook_register_migrations(tmp_path, register_test_plugin):
    class P:
        @staticmethod
        @culler.hookimpl
        def register_migrations(migrations):
            @migrations("001_notes")
            def notes(db):
                db.execute("CREATE TABLE test_notes (photo_id INTEGER, note TEXT)")

    register_test_plugin(P, "mig-plugin")
    cat = open_catalog(tmp_path / "c.db")
    assert "test_notes" in cat.db.table_names()
    assert cat.migrate() == []  # applied once only
    cat.close()


def _scan_with_listener(photo_dir, register_test_plugin):
    calls = {"scored": [], "finished": []}

    class P:
        @staticmethod
        @culler.hookimpl
        def photos_scored(db, scorer_id, photo_ids):
            calls["scored"].append((scorer_id, list(photo_ids)))

        @staticmethod
        @culler.hookimpl
        def scan_finished(db, summary):
            calls["finished"].append(summary)

    register_test_plugin(P, "listener")
    cat = open_catalog(photo_dir / "culler.db")
    summary = scan_folders(cat, [photo_dir], ScanOptions(workers=0), echo=lambda m: None)
    cat.close()
    return calls, summary


def test_hook_photos_scored(photo_dir, register_test_plugin):
    calls, summary = _scan_with_listener(photo_dir, register_test_plugin)
    assert sum(len(ids) for sid, ids in calls["scored"] if sid == "technical") == summary["scored"]


def test_hook_scan_finished(photo_dir, register_test_plugin):
    calls, summary = _scan_with_listener(photo_dir, register_test_plugin)
    assert calls["finished"] == [summary]
    json.dumps(summary)


def test_hook_register_gui_panels(register_test_plugin):
    registered = []

    class P:
        @staticmethod
        @culler.hookimpl
        def register_gui_panels(register):
            register("Notes", lambda parent: None)

    register_test_plugin(P, "panel-plugin")
    plugin_manager.call_safely(
        "register_gui_panels", register=lambda title, factory: registered.append(title)
    )
    assert registered == ["Notes"]


def test_hook_register_image_extensions(tmp_path, register_test_plugin):
    from culler.imaging.images import supported_extensions
    from culler.scan.discover import walk_photos

    class P:
        @staticmethod
        @culler.hookimpl
        def register_image_extensions(register):
            register(".FAKE", ".fake2")

    class Broken:
        @staticmethod
        @culler.hookimpl
        def register_image_extensions(register):
            register("cr3")  # no dot: refused, and only this plugin is marked failed

    assert ".fake" not in supported_extensions()
    register_test_plugin(P, "fake-extensions")
    register_test_plugin(Broken, "bad-extensions")
    extensions = supported_extensions()
    assert {".fake", ".fake2", ".jpg", ".cr3"} <= extensions  # .cr3: the formats plugin's
    assert "cr3" not in extensions and "bad-extensions" in plugin_manager.FAILED
    (tmp_path / "a.fake").write_bytes(b"x")
    (tmp_path / "b.other").write_bytes(b"x")
    assert [Path(f.path).name for f in walk_photos([tmp_path])] == ["a.fake"]


def test_hook_register_trainable_models(register_test_plugin):
    from torch import nn

    from culler.api import TrainableModel, build_head, trainable_models

    class P:
        @staticmethod
        @culler.hookimpl
        def register_trainable_models(register):
            register(
                TrainableModel("test-head", "head", lambda in_dim, outputs: nn.Linear(in_dim, 1))
            )

    first_party = trainable_models()
    assert {"mlp", "distribution", "saan", "charlenet"} <= set(first_party)
    assert first_party["mlp"].scorer == "clip-aesthetic" and first_party["saan"].kind == "image"
    register_test_plugin(P, "head-plugin")
    head = build_head("test-head", 5)
    assert isinstance(head.net, nn.Linear) and head.meta == {
        "kind": "test-head",
        "in_dim": 5,
        "outputs": 1,
    }
