"""The example third-party plugin (examples/culler-colourfulness), pip-installed, end to end.

CI installs it with pip (.ci/run) exactly as a user would install a plugin from PyPI; these tests then
check it is found through its entry point, listed, run by a plain `culler scan`, shown in the GUI's
scorer list, and that its own test-suite passes with the fixtures culler ships for plugin authors.
"""

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "culler-colourfulness"

installed = any(
    ep.name == "colourfulness" for ep in importlib.metadata.entry_points(group="culler")
)
if not installed:
    if os.environ.get("CI"):
        raise RuntimeError(
            "CI must pip-install the example plugin: `pip install ./examples/culler-colourfulness`"
        )
    pytest.skip(
        "example plugin not installed: `.venv/bin/pip install ./examples/culler-colourfulness`",
        allow_module_level=True,
    )


def test_culler_plugins_lists_it_with_its_version_and_scorer(culler_cli):
    info = {p["name"]: p for p in culler_cli.json("plugins")}
    assert info["colourfulness"]["version"] == "0.1.0"
    assert info["colourfulness"]["scorers"] == ["colourfulness"]
    assert info["colourfulness"]["hooks"] == ["register_scorers"]


def test_a_plain_scan_runs_it_next_to_the_built_in_scorers(photo_dir, culler_cli, tmp_path):
    grey = Image.open(photo_dir / "coffee.jpg").convert("L").convert("RGB")
    grey.save(photo_dir / "coffee-grey.jpg", quality=90)
    db = tmp_path / "c.db"
    summary = culler_cli.json("scan", photo_dir, "--db", db, "--workers", "0", "--json")
    assert summary["errors"] == 0
    rows = {Path(r["path"]).stem: r for r in culler_cli.json("list", "--db", db, "--json")}
    assert all("colourfulness" in r["scores"] and "technical" in r["scores"] for r in rows.values())
    assert rows["coffee-grey"]["scores"]["colourfulness"] < 0.1
    assert rows["coffee"]["scores"]["colourfulness"] > 1.0
    best = culler_cli.json("list", "--db", db, "--sort", "colourfulness", "--json")[0]
    assert Path(best["path"]).stem != "coffee-grey"


def test_it_is_an_example_that_never_ranks_a_users_photos(photo_dir, culler_cli, tmp_path):
    """Installed, it scores every photo, but as a ``measure``: `culler cull` decides the burst on the
    built-in scorers and never gives colourfulness as a reason."""
    from culler.plugin.scorers import get_scorer_classes

    assert get_scorer_classes()["colourfulness"].role == "measure"
    grey = Image.open(photo_dir / "coffee.jpg").convert("L").convert("RGB")
    grey.save(photo_dir / "coffee-grey.jpg", quality=95)
    db = tmp_path / "c.db"
    culler_cli("scan", photo_dir, "--db", db, "--workers", "0")
    plan = culler_cli.json("cull", "--db", db, "--dry-run", "--json")["plan"]
    assert plan and not any("colourfulness" in (p.get("reason") or "") for p in plan)
    from culler.catalog import open_catalog
    from culler.decide.cull import Ranking, combined_score, load_scores, scorer_roles

    with open_catalog(db) as catalog:
        loaded = load_scores(catalog)
        personal = catalog.personal_scorer_ids()
    assert all("colourfulness" in ps.scores for ps in loaded.values())
    for ps in loaded.values():  # the ranking value is the same without it
        ps.scores.pop("colourfulness")
        assert combined_score(ps, Ranking(), personal, scorer_roles()) == ps.value


def test_gui_scorer_list_shows_it(tmp_path):
    pytest.importorskip("PySide6")
    from PySide6.QtCore import QSettings

    from culler.gui.scorers_panel import scorer_rows

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    rows = {row.id: row for row in scorer_rows(settings)}
    assert rows["colourfulness"].plugin == "colourfulness"
    assert rows["colourfulness"].weights == "none needed" and rows["colourfulness"].enabled


def test_its_own_tests_pass_with_the_culler_testing_fixtures():
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE)],
        capture_output=True,
        text=True,
        cwd=EXAMPLE,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout
