"""Hostile arguments and settings: NaN, infinite, negative or 64-bit-overflowing numbers, a control
character in a label, a CULLER_HOME that is a file, export destinations that cannot be written, file
names with rich markup or terminal escape codes. Each is refused (or printed safely) with one line,
the right exit status, and the catalog unchanged.
"""

from __future__ import annotations

import os
import sqlite3

import pytest

from culler.testing import sample_image, scan_into


def state(db) -> list[list[tuple]]:
    """Everything a refused command must leave alone: ratings, scorer rows and their settings."""
    with sqlite3.connect(db) as conn:
        return [
            conn.execute("SELECT * FROM ratings ORDER BY id").fetchall(),
            conn.execute("SELECT * FROM scorers ORDER BY id").fetchall(),
        ]


def error_lines(output: str) -> list[str]:
    assert "Traceback" not in output
    return [line for line in output.splitlines() if line.startswith("Error:")]


@pytest.fixture
def db(tmp_path):
    folder = tmp_path / "shoot"
    folder.mkdir()
    for name in ("astronaut", "chelsea"):
        sample_image(name).save(folder / f"{name}.jpg", quality=90)
    catalog, _ = scan_into(tmp_path / "c.db", folder, ["technical"])
    catalog.close()
    return tmp_path / "c.db"


@pytest.mark.parametrize(
    "weight, reason",
    [
        ("nan", "finite"),
        ("inf", "finite"),
        ("1e999", "finite"),
        ("-1", "between 0 and 1000"),
        ("abc", "is not a number"),
        ("0", "every weight is 0"),
    ],
)
def test_cull_refuses_weights_that_are_not_finite_positive_numbers(db, culler_cli, weight, reason):
    before = state(db)
    result = culler_cli("cull", "--weight", f"technical={weight}", "--json", "--db", db, expect=2)
    (line,) = error_lines(result.output)
    assert "--weight" in line and reason in line
    assert state(db) == before


@pytest.mark.parametrize(
    "args",
    [
        ("cull", "--reject-below", "nan"),
        ("cull", "--burst-gap", "inf"),
        ("cull", "--clip-similarity", "nan"),
        ("list", "--min", "nan"),
        ("list", "--max", "-inf"),
        ("list", "--min-prob", "2"),
        ("list", "--limit", str(2**64)),
        ("list", "--limit", "-1"),
    ],
)
def test_numeric_options_must_be_finite_and_in_range(db, culler_cli, args):
    before = state(db)
    result = culler_cli(*args, "--db", db, expect=2)
    (line,) = error_lines(result.output)
    assert args[1] in line
    assert state(db) == before


def test_a_setting_of_1e999_is_refused_not_stored_as_infinity(db, culler_cli, tmp_path):
    before = state(db)
    folder = tmp_path / "shoot"
    result = culler_cli(
        "scan", folder, "--db", db, "--config", "technical.threshold=1e999", expect=2
    )
    (line,) = error_lines(result.output)
    assert "--config" in line and "not a finite number" in line
    result = culler_cli("models", "list", "--config", "technical.x=[1, NaN]", expect=2)
    assert "not a finite number" in error_lines(result.output)[0]
    assert state(db) == before


def test_a_label_with_a_control_character_is_refused_at_the_argument(db, culler_cli, tmp_path):
    before = state(db)
    photo = tmp_path / "shoot" / "chelsea.jpg"
    result = culler_cli("rate", photo, "--label", "Red\x01", "--db", db, expect=2)
    (line,) = error_lines(result.output)
    assert "control character '\\x01'" in line and "\x01" not in line
    result = culler_cli("tag", photo, "--add", "awe\x1b[2J", "--db", db, expect=2)
    assert "control character" in error_lines(result.output)[0]
    assert state(db) == before


@pytest.mark.parametrize("command", [("models", "import", "clip-aesthetic"), ("train",)])
def test_a_culler_home_that_is_a_file_is_one_line(tmp_path, culler_cli, monkeypatch, command):
    home = tmp_path / "home-file"
    home.write_bytes(b"not a folder")
    weights = tmp_path / "head.pth"
    weights.write_bytes(b"\0" * 64)
    monkeypatch.setenv("CULLER_HOME", str(home))
    args = [*command, weights] if command[0] == "models" else [*command, "--db", tmp_path / "x.db"]
    result = culler_cli(*args, expect=1)
    (line,) = error_lines(result.output)
    assert f"CULLER_HOME={home} is a file, not a folder" in line
    assert "set CULLER_HOME to a folder you can write to" in line
    assert home.read_bytes() == b"not a folder"
    monkeypatch.setenv("CULLER_HOME", str(home / "below"))
    (line,) = error_lines(culler_cli(*args, expect=1).output)
    assert "cannot be created" in line


def test_export_destinations_that_cannot_be_written_are_one_line(db, culler_cli, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("keep")
    dangling = tmp_path / "dangling.csv"
    os.symlink(tmp_path / "nowhere" / "x.csv", dangling)
    for target, reason in [
        (a_file / "out.csv", "a part of this path is a file, not a folder"),
        (tmp_path / "missing" / "out.csv", "a folder it names does not exist"),
        (dangling, "already exists"),
    ]:
        result = culler_cli("export", "scores", "--db", db, "-o", target, expect=1)
        (line,) = error_lines(result.output)
        assert reason in line
    assert a_file.read_text() == "keep"
    assert not (tmp_path / "missing").exists() and not (tmp_path / "nowhere").exists()


def test_untrusted_text_reaches_the_terminal_escaped(tmp_path, culler_cli):
    """A folder ending in '[' makes '[/' in the path (rich markup); a file name and an EXIF field
    hold terminal escape codes. cull, list and show print them as text."""
    folder = tmp_path / "shoot"
    (folder / "x[").mkdir(parents=True)
    sample_image("astronaut").save(folder / "x[" / "bold]a.jpg", quality=90)
    sample_image("astronaut").save(folder / "e\x1b[31mvil.jpg", quality=90)
    db = tmp_path / "c.db"
    catalog, _ = scan_into(db, folder, ["technical"])
    catalog.close()
    with sqlite3.connect(db) as conn:  # a catalog written before EXIF text was cleaned
        conn.execute("UPDATE photos SET camera = 'Cam\x1b]0;title\x07'")
    cull = culler_cli("cull", "--db", db)
    assert "x[/bold]a.jpg" in cull.output and "decisions written" in cull.output
    for args in (("list",), ("show", folder / "e\x1b[31mvil.jpg")):
        output = culler_cli(*args, "--db", db).output
        assert "\x1b" not in output and "\x07" not in output
        assert "e\\x1b[31mvil.jpg" in output
    show = culler_cli("show", folder / "e\x1b[31mvil.jpg", "--db", db).output
    assert "camera: Cam\\x1b]0;title\\x07" in show


def test_without_torch_a_missing_learned_scorer_points_at_the_full_install(
    db, culler_cli, monkeypatch, tmp_path
):
    """The torch-free bundle cannot use `culler models pull`: the scan says what would help."""
    import culler.models.weights

    monkeypatch.setattr(culler.models.weights, "torch_available", lambda: False)
    result = culler_cli("scan", tmp_path / "shoot", "--db", db, "--scorer", "clip-aesthetic")
    assert "learned scorers need the full install" in result.output
    assert "models pull" not in result.output
