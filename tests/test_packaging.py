"""Packaging: the .desktop entry, the generated icon, the PyInstaller spec, and (slow) a real bundle."""

import ast
import configparser
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, PACKAGING / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_desktop_entry_launches_the_gui():
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive in desktop entries
    parser.read(PACKAGING / "culler.desktop")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Icon"] == "culler"
    assert entry["Exec"].split()[:2] == ["culler", "gui"]
    assert "Photography" in entry["Categories"].split(";")
    validate = shutil.which("desktop-file-validate")
    if validate:
        subprocess.run([validate, str(PACKAGING / "culler.desktop")], check=True)


def test_icon_is_generated_at_every_size(tmp_path):
    make_icon = _load("make_icon")
    paths = make_icon.write_icons(tmp_path)
    main = Image.open(tmp_path / "culler.png")
    assert main.size == (256, 256) and main.mode == "RGBA"
    corner, centre = main.getpixel((0, 0)), main.getpixel((128, 128))
    assert corner[3] == 0 and centre[3] == 255  # rounded corners are transparent
    assert {p.name for p in paths} >= {"culler.ico", "culler-16.png", "culler-512.png"}
    assert Image.open(tmp_path / "culler-16.png").size == (16, 16)


def test_spec_and_build_script_are_valid_python():
    ast.parse((PACKAGING / "culler.spec").read_text())
    build = _load("build_bundle")
    with pytest.raises(SystemExit):  # --help parses and exits
        build.main(["--help"])


@pytest.mark.slow
def test_bundle_runs_version_and_scan(tmp_path, photo_dir):
    """Build the lite bundle (minutes) and run the CLI from it on sample photos."""
    pytest.importorskip("PyInstaller", reason="pip install -e '.[bundle]'")
    subprocess.run(
        [
            sys.executable,
            str(PACKAGING / "build_bundle.py"),
            "--lite",
            "--dist",
            str(tmp_path / "dist"),
            "--work",
            str(tmp_path / "work"),
        ],
        check=True,
        timeout=1800,
    )
    exe = tmp_path / "dist" / "culler" / "culler"
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == "culler, version 0.1.0"
    plugins = json.loads(
        subprocess.run([exe, "plugins"], capture_output=True, text=True, check=True).stdout
    )
    assert {"technical", "formats"} <= {p["name"] for p in plugins}
    db = tmp_path / "bundle.db"
    scan = subprocess.run(
        [exe, "scan", photo_dir, "--db", db, "--scorer", "technical", "--workers", "2", "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    summary = json.loads(scan.stdout)
    assert summary["errors"] == 0 and summary["scored"] == summary["files_seen"] > 0
    assert (tmp_path / "dist" / "culler" / "_internal" / "share" / "applications").is_dir()
