"""Qt stays inside culler/gui: the CLI, the scan and every plugin import without PySide6.

The command line must start fast and run headless on servers, so no module outside ``culler.gui``
may import Qt, not even indirectly.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QT_MODULES = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pytestqt")


def non_gui_sources() -> list[Path]:
    files = []
    for folder in ("culler", "plugins", "trainer"):
        for path in (ROOT / folder).rglob("*.py"):
            if (ROOT / "culler" / "gui") in path.parents:
                continue
            files.append(path)
    return files


def test_no_module_outside_gui_imports_qt_at_all():
    offenders = []
    for path in non_gui_sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in QT_MODULES:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
    assert not offenders, "Qt imported outside culler/gui:\n" + "\n".join(offenders)


def test_importing_the_cli_and_every_core_module_loads_no_qt():
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in (ROOT / "culler").rglob("*.py")
        if (ROOT / "culler" / "gui") not in p.parents
        and p.name != "__main__.py"
        and "commands" not in p.parts  # command modules are imported by culler.cli itself
    )
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "from culler.plugin.scorers import get_scorer_classes; get_scorer_classes()\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{QT_MODULES!r})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
