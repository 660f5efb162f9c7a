"""Hostile XMP sidecars: a FIFO named like one, ``Rating="1e999"``, an unknown declared encoding, a
thousand nested elements. Each is one error line for that photo; the other photos' sidecars are still
read or written, the broken sidecar is left byte for byte as it was, and the command exits 1.
"""

from __future__ import annotations

import os
import sqlite3

import pytest

from culler.testing import run_culler, sample_image, scan_into

RDF = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">{body}</rdf:RDF></x:xmpmeta>'
)


def sidecar(rating: str = "4", head: str = "", inner: str = "") -> bytes:
    desc = (
        '<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        f'xmp:Rating="{rating}">{inner}</rdf:Description>'
    )
    return (head + RDF.format(body=desc)).encode()


HOSTILE = {
    "encoding": sidecar(head='<?xml version="1.0" encoding="x-no-such-encoding"?>'),
    "nested": sidecar(inner="<a>" * 1000 + "</a>" * 1000),
}


def ratings(db) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT photo_id, stars, decision, label, source FROM ratings ORDER BY id"
        ).fetchall()


@pytest.fixture
def shoot(tmp_path):
    """Four photos, scanned: ``good``, ``encoding``, ``nested`` and ``huge`` (Rating="1e999")."""
    folder = tmp_path / "shoot"
    folder.mkdir()
    for name in ("good", "encoding", "nested", "huge"):
        sample_image("chelsea").save(folder / f"{name}.jpg", quality=85)
    catalog, _ = scan_into(tmp_path / "c.db", folder, ["technical"])
    catalog.close()
    return folder


culler = run_culler


def test_xmp_read_imports_the_good_sidecars_and_names_each_broken_one(shoot, tmp_path, culler_cli):
    (shoot / "good.xmp").write_bytes(sidecar("4"))
    (shoot / "huge.xmp").write_bytes(sidecar("1e999"))
    for name, data in HOSTILE.items():
        (shoot / f"{name}.xmp").write_bytes(data)
    result = culler_cli("xmp", "read", "--db", tmp_path / "c.db", expect=1)
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 2
    assert any("encoding.xmp" in e and "unknown encoding" in e for e in errors)
    assert any("nested.xmp" in e and "nested more than" in e for e in errors)
    # The good sidecar was imported; an infinite rating is ignored, not imported or fatal.
    assert [(r[1], r[4]) for r in ratings(tmp_path / "c.db")] == [(4, "xmp")]


def test_xmp_write_leaves_broken_sidecars_as_they_were_and_exits_1(shoot, tmp_path, culler_cli):
    for name, data in HOSTILE.items():
        (shoot / f"{name}.xmp").write_bytes(data)
    result = culler_cli("xmp", "write", "--db", tmp_path / "c.db", expect=1)
    assert "Traceback" not in result.output
    assert "2 errors" in result.output
    for name, data in HOSTILE.items():
        assert (shoot / f"{name}.xmp").read_bytes() == data
    assert (shoot / "good.xmp").is_file() and (shoot / "huge.xmp").is_file()  # the others written


def test_a_fifo_named_like_a_sidecar_does_not_hang_rate_or_xmp(shoot, tmp_path):
    """In subprocesses with a timeout: a regression would block on the FIFO forever."""
    os.mkfifo(shoot / "good.xmp")
    db = tmp_path / "c.db"
    rate = culler("rate", shoot / "good.jpg", "--stars", "3", "--xmp", "basename", "--db", db,
                  home=tmp_path)  # fmt: skip
    assert rate.returncode == 1, rate.stdout + rate.stderr
    assert "Traceback" not in rate.stderr
    assert "named pipe (FIFO), not a regular file" in rate.stderr
    assert "rated 1 photo" in rate.stdout  # the rating itself is kept; only the sidecar failed
    write = culler("xmp", "write", shoot / "good.jpg", "--naming", "basename", "--db", db,
                   home=tmp_path)  # fmt: skip
    assert write.returncode == 1 and "named pipe" in write.stderr
    read = culler("xmp", "read", shoot / "good.jpg", "--db", db, home=tmp_path)
    assert read.returncode == 0 and "Traceback" not in read.stderr  # not a sidecar: none to read
    assert os.path.exists(shoot / "good.xmp") and not (shoot / "good.xmp").is_file()


def test_rate_xmp_on_a_deleted_photo_reports_it_and_exits_1(shoot, tmp_path, culler_cli):
    (shoot / "good.jpg").unlink()
    result = culler_cli(
        "rate", shoot / "good.jpg", "--pick", "--xmp", "auto", "--db", tmp_path / "c.db", expect=1
    )
    assert "Traceback" not in result.output
    assert "1 error" in result.output and "photo not found on disk" in result.output
    assert not list(shoot.glob("*.xmp"))


def test_xmp_write_of_a_deleted_photo_is_an_error_not_a_skip(shoot, tmp_path, culler_cli):
    (shoot / "nested.jpg").unlink()
    result = culler_cli("xmp", "write", "--db", tmp_path / "c.db", expect=1)
    assert "nested.jpg: photo not found on disk" in result.output
    assert sorted(p.name for p in shoot.glob("*.xmp")) == ["encoding.xmp", "good.xmp", "huge.xmp"]
