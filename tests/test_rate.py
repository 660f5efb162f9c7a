"""``culler rate``: hand ratings from the command line, append-only, undoable, and safe from auto-cull."""

import os

import pytest

from culler.decide.cull import apply_plan, plan_cull


@pytest.fixture
def scanned(photo_dir, culler_cli):
    culler_cli("scan", photo_dir, "--workers", "0", "--scorer", "technical")
    db = photo_dir / "culler.db"
    paths = sorted(str(p) for p in photo_dir.glob("*.jpg"))
    return db, paths


def state(culler_cli, db, path):
    rows = culler_cli.json("list", "--db", db, "--json")
    return next(r for r in rows if r["path"] == path)["rating"]


def count_events(db):
    from culler.catalog import open_catalog

    with open_catalog(db) as catalog:
        return catalog.execute("SELECT COUNT(*) FROM ratings").fetchone()[0]


def test_stars_pick_reject_clear(scanned, culler_cli):
    db, paths = scanned
    a, b = paths[:2]
    assert "rated 2 photos" in culler_cli("rate", a, b, "--stars", "4", "--db", db).output
    culler_cli("rate", a, "--pick", "--db", db)
    assert state(culler_cli, db, a) == {
        "stars": 4,
        "decision": "pick",
        "label": None,
        "source": "cli",
    }
    culler_cli("rate", b, "--reject", "--label", "Red", "--db", db)
    assert state(culler_cli, db, b)["decision"] == "reject"
    assert state(culler_cli, db, b)["label"] == "Red"
    culler_cli("rate", b, "--clear", "--db", db)
    assert state(culler_cli, db, b) == {
        "stars": 0,
        "decision": "none",
        "label": None,
        "source": "cli",
    }
    assert count_events(db) == 5  # every change appended, nothing overwritten


def test_undo_reverts_whole_command_and_steps_back(scanned, culler_cli):
    db, paths = scanned
    a, b = paths[:2]
    culler_cli("rate", a, "--stars", "2", "--db", db)
    culler_cli("rate", a, b, "--pick", "--db", db)
    out = culler_cli("rate", "--undo", "--db", db).output
    assert out.count("undid event") == 2
    assert state(culler_cli, db, a)["decision"] is None and state(culler_cli, db, a)["stars"] == 2
    assert state(culler_cli, db, b) == {
        "stars": None,
        "decision": None,
        "label": None,
        "source": "cli",
    }
    culler_cli("rate", "--undo", "--db", db)  # the next undo goes further back, it does not redo
    assert state(culler_cli, db, a)["stars"] is None
    assert "nothing to undo" in culler_cli("rate", "--undo", "--db", db).output
    assert count_events(db) == 3 + 3  # three rating events, three undo events: append-only


def test_undo_leaves_auto_decisions_alone(scanned, culler_cli):
    db, paths = scanned
    culler_cli("rate", paths[0], "--reject", "--db", db)
    from culler.catalog import open_catalog

    with open_catalog(db) as catalog:
        apply_plan(catalog, plan_cull(catalog))
        auto_rows = catalog.execute("SELECT COUNT(*) FROM ratings WHERE source = 'auto'").fetchone()
    assert auto_rows[0] == len(paths) - 1  # every photo but the hand-rated one
    culler_cli("rate", "--undo", "--db", db)
    assert state(culler_cli, db, paths[0])["decision"] is None


def test_errors_are_clear(scanned, culler_cli, tmp_path):
    db, paths = scanned
    result = culler_cli("rate", tmp_path / "nope.jpg", paths[0], "--pick", "--db", db, expect=1)
    assert "not in the catalog" in result.output and "nothing was rated" in result.output
    assert count_events(db) == 0
    assert "say what to set" in culler_cli("rate", paths[0], "--db", db, expect=2).output
    assert "--undo takes no" in culler_cli("rate", paths[0], "--undo", "--db", db, expect=2).output
    result = culler_cli("rate", paths[0], "--stars", "6", "--db", db, expect=2)
    assert "6" in result.output
    missing = culler_cli("rate", paths[0], "--pick", "--db", tmp_path / "none.db", expect=1)
    assert "culler scan" in missing.output


def test_rate_and_cull_write_sidecars_when_asked(scanned, culler_cli):
    from culler.interop.xmp import read_sidecar

    db, paths = scanned
    a = paths[0]
    out = culler_cli("rate", a, "--reject", "--db", db, "--xmp", "auto").output
    assert "1 sidecar written" in out
    sidecar = next(p for p in (a.rsplit(".", 1)[0] + ".xmp", a + ".xmp") if os.path.exists(p))
    assert read_sidecar(sidecar).rating == -1
    culler_cli("rate", "--undo", "--db", db, "--xmp", "auto")
    assert read_sidecar(sidecar).rating == 0  # rated in culler, then undone: "unrated" is written

    plan = culler_cli.json("cull", "--db", db, "--xmp", "auto", "--json")
    changed = [p for p in plan["plan"] if p.get("changes")]
    assert len(plan["xmp"]["changed"]) + plan["xmp"]["unchanged"] == len(changed) > 0
    for p in changed:
        stem = p["path"].rsplit(".", 1)[0]
        assert os.path.exists(stem + ".xmp") or os.path.exists(p["path"] + ".xmp")
