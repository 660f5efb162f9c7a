"""The folders of culler/ are its layers (issue 27), and the plugin API did not move with them.

- every package under culler/ is one of the documented layers, with a paragraph in its ``__init__``,
  and docs/architecture.md names each one; only entry points and a few shared leaves stay at the top;
- a package imports only packages of lower layers (imports inside functions count; ``if
  TYPE_CHECKING`` blocks do not run, so they do not), which also rules out circles between folders;
- a plugin written against ``culler.api`` before the move (tests/plugins_then/) still loads, scores,
  migrates and hears its hooks.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from tests.test_plugin_api import _import_graph

ROOT = Path(__file__).resolve().parents[1]

#: Each layer may import the layers before it, never one after it; layers in one tuple are
#: independent of each other.
LAYERS: list[tuple[str, ...]] = [
    ("culler.safe_files", "culler.validate", "culler.lifeline", "culler.devices"),
    ("culler.plugin",),
    ("culler.imaging", "culler.models"),
    ("culler.api", "culler.catalog"),
    ("culler.scan",),
    ("culler.interop",),
    ("culler.decide",),  # agreement reads the photographer's marks from XMP sidecars
    ("culler.gui",),
    ("culler.commands",),
    ("culler.cli",),
    ("culler.__main__",),
    ("culler.testing",),
]
#: Modules that may stay at the top of culler/: entry points and shared leaves.
TOP_MODULES = {
    "__init__",
    "__main__",
    "api",
    "cli",
    "devices",
    "lifeline",
    "safe_files",
    "validate",
}


def layer_of(module: str) -> tuple[int, str] | None:
    for rank, names in enumerate(LAYERS):
        for name in names:
            if module == name or module.startswith(name + "."):
                return rank, name
    return None


def test_culler_holds_packages_named_for_what_they_do_and_a_few_leaves():
    folder = ROOT / "culler"
    packages = {p.name for p in folder.iterdir() if (p / "__init__.py").exists()}
    modules = {p.stem for p in folder.glob("*.py")}
    assert modules <= TOP_MODULES, f"modules at the top of culler/: {sorted(modules - TOP_MODULES)}"
    layered = {name.split(".")[1] for names in LAYERS for name in names if name.count(".") == 1}
    assert packages <= layered, f"packages in no layer: {sorted(packages - layered)}"
    architecture = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for package in sorted(packages):
        docstring = ast.get_docstring(ast.parse((folder / package / "__init__.py").read_text()))
        assert docstring and len(docstring.split()) >= 15, (
            f"culler/{package}/__init__.py needs a paragraph"
        )
        assert f"culler/{package}/" in architecture, f"docs/architecture.md does not map {package}/"


def test_every_culler_module_is_in_a_layer():
    graph = _import_graph()
    unplaced = sorted(m for m in graph if m.startswith("culler.") and layer_of(m) is None)
    assert not unplaced


def test_layers_only_import_downwards():
    upward = []
    for module, deps in _import_graph().items():
        here = layer_of(module)
        if here is None:
            continue
        for dep in deps:
            there = layer_of(dep)
            if there is None or there[1] == here[1]:
                continue  # culler_plugins/trainer (checked in test_plugin_api), or its own package
            if there[0] >= here[0]:
                upward.append(f"{module} -> {dep}")
    assert not upward, "imports that run up or across the layers:\n" + "\n".join(sorted(upward))


def test_the_layer_checker_sees_an_upward_import():
    assert layer_of("culler.catalog.core")[0] < layer_of("culler.decide.cull")[0]
    assert layer_of("culler.imaging.images")[0] == layer_of("culler.models.pull")[0]  # independent
    assert layer_of("culler_plugins.faces") is None


def test_a_plugin_written_against_the_api_before_the_move_still_works(
    tmp_path, register_test_plugin, monkeypatch, culler_cli
):
    plugin = importlib.import_module("tests.plugins_then.sharpness_meter")
    plugin.SEEN.clear()
    register_test_plugin(plugin, "sharpness-meter")
    from culler.testing import write_photos

    write_photos(tmp_path / "photos", 3)
    db = tmp_path / "culler.db"
    culler_cli("scan", str(tmp_path / "photos"), "--db", str(db), "--scorer", "sharpness-meter")
    rows = culler_cli.json("list", "--db", str(db), "--sort", "sharpness-meter", "--json")
    assert len(rows) == 3 and all(r["scores"]["sharpness-meter"] > 0 for r in rows)
    assert plugin.SEEN and plugin.SEEN[0][0] == "sharpness-meter"
    from culler.catalog import open_catalog

    with open_catalog(db) as catalog:
        assert "sharpness_meter_notes" in catalog.db.table_names()


@pytest.mark.parametrize(
    "name", ["Scorer", "ScoreResult", "hookimpl", "WeightSpec", "WeightsMissing"]
)
def test_the_api_names_a_plugin_uses_are_where_they_were(name):
    import culler.api

    assert getattr(culler.api, name) is not None
