"""Reads that never load the archive (issue #32, goal 3): a page of ``culler list --sort SCORER`` comes
down the score index and is the page the general query orders."""

from __future__ import annotations

import random

import pytest

from culler.catalog import now
from culler.catalog.queries import list_photos


def _fill(catalog, n: int = 120, seed: int = 3) -> None:
    rng = random.Random(seed)
    stamp = now()
    with catalog.transaction() as conn:
        conn.execute(
            "INSERT INTO scorers (scorer_id, version, created) VALUES ('technical', '1', ?)",
            [stamp],
        )
        pk = conn.execute("SELECT id FROM scorers").fetchone()[0]
        for k in range(n):
            status = "error" if k % 17 == 0 else "ok"
            pid = conn.execute(
                "INSERT INTO photos (path, root, status, first_seen, last_seen)"
                " VALUES (?, '/r', ?, ?, ?)",
                [f"/r/{rng.randrange(10**6):06d}-{k}.jpg", status, stamp, stamp],
            ).lastrowid
            if k % 5 == 0:
                continue  # unscored
            score = None if k % 23 == 0 else float(rng.randrange(0, 8))  # many ties
            conn.execute(
                "INSERT INTO scores (photo_id, scorer_pk, score, created) VALUES (?, ?, ?, ?)",
                [pid, pk, score, stamp],
            )
            if k % 3 == 0:
                conn.execute(
                    "INSERT INTO tags (photo_id, scorer_pk, tag, probability) VALUES (?, ?, 'dog', 0.9)",
                    [pid, pk],
                )


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"status": "ok"},
        {"tag": "dog"},
        {"min_score": 3.0},
        {"max_score": 2.0, "status": "ok"},
    ],
)
@pytest.mark.parametrize("limit", [1, 7, 50, 115, 400])
def test_a_page_by_score_is_the_page_of_the_whole_ordering(catalog, filters, limit):
    _fill(catalog)
    whole = [r["path"] for r in list_photos(catalog, sort_by="technical", **filters)]
    page = list_photos(catalog, sort_by="technical", limit=limit, **filters)
    assert [r["path"] for r in page] == whole[:limit]
    assert page and all(set(r) >= {"scores", "tags", "rating", "width"} for r in page)


def test_a_second_scorer_version_falls_back_on_the_general_ordering(catalog):
    _fill(catalog)
    with catalog.transaction() as conn:
        conn.execute(
            "INSERT INTO scorers (scorer_id, version, active, created) VALUES ('technical', '2', 0, 'x')"
        )
    whole = [r["path"] for r in list_photos(catalog, sort_by="technical")]
    assert [r["path"] for r in list_photos(catalog, sort_by="technical", limit=9)] == whole[:9]


def test_groups_json_streams_a_batch_of_groups_at_a_time(tmp_path, culler_cli, monkeypatch):
    """``culler groups --json`` prints the JSON array a stored group at a time (scores read a batch
    of groups at a time), the same document as when every group was read first."""
    import json

    from culler.commands import cull as cull_command
    from culler.decide.cull import load_scores, stored_groups
    from culler.testing import sample_image, scan_into

    folder = tmp_path / "shoot"
    folder.mkdir()
    for name in ("astronaut", "chelsea", "coffee"):
        image = sample_image(name)
        image.save(folder / f"{name}.jpg", quality=92)
        image.resize((image.width // 2, image.height // 2)).save(folder / f"{name}-web.jpg")
    catalog, _ = scan_into(tmp_path / "culler.db", folder, ["technical"])
    found = stored_groups(catalog)
    scores = load_scores(catalog, [pid for g in found for pid in g.members])
    expected = json.dumps([cull_command._group_row(g, scores) for g in found], indent=2)
    catalog.close()
    assert len(found) == 3
    monkeypatch.setattr(cull_command, "GROUP_BATCH", 2)
    streamed = culler_cli("groups", "--db", tmp_path / "culler.db", "--json").output
    assert streamed.strip() == expected
    assert json.loads(streamed)[0]["members"]


def test_cull_works_on_the_folders_and_dates_it_is_given(tmp_path, culler_cli):
    """``culler cull FOLDER`` plans and writes only that shoot (with the other frames of its groups);
    ``--since`` only photos taken or first scanned since that day."""
    from culler.testing import sample_image, scan_into

    library = tmp_path / "library"
    for shoot, names in (("wedding", ("astronaut", "chelsea")), ("party", ("coffee", "camera"))):
        (library / shoot).mkdir(parents=True)
        for name in names:
            sample_image(name).save(library / shoot / f"{name}.jpg", quality=92)
    # An export of the party's coffee kept in the wedding folder: one group across both folders.
    sample_image("coffee").resize((200, 150)).save(library / "wedding" / "coffee-web.jpg")
    catalog, _ = scan_into(tmp_path / "culler.db", library, ["technical"])
    catalog.close()
    db = str(tmp_path / "culler.db")

    def planned(*args):
        data = culler_cli.json("cull", "--db", db, "--json", *args)
        return data, sorted(row["path"].split("library/")[1] for row in data["plan"])

    _, everything = planned("--dry-run")
    assert len(everything) == 5
    _, wedding = planned("--dry-run", str(library / "wedding"))
    # The wedding's photos and the party photo its export is a copy of (one moment).
    assert wedding == [
        "party/coffee.jpg",
        "wedding/astronaut.jpg",
        "wedding/chelsea.jpg",
        "wedding/coffee-web.jpg",
    ]
    _, party = planned("--dry-run", str(library / "party"))
    assert party == ["party/camera.jpg", "party/coffee.jpg", "wedding/coffee-web.jpg"]
    _, none = planned("--dry-run", "--since", "2999-01-01")
    assert none == []
    _, today = planned("--dry-run", "--since", "2000-01-01")
    assert today == everything  # untimed: first scanned today
    data, written = planned(str(library / "party"))
    assert not data["dry_run"] and written == party
    result = culler_cli("cull", "--db", db, str(tmp_path / "nowhere"), expect=2)
    assert "nowhere" in result.output and "Traceback" not in result.output


def test_list_json_streams_rows_as_they_are_read(tmp_path, culler_cli):
    """``culler list --json`` writes the document ``json.dumps(rows, indent=2)`` would, read from a
    cursor a batch at a time; ``iter_photos`` yields its first row before it reads the last."""
    import json

    from culler.catalog import open_catalog
    from culler.catalog.queries import iter_photos

    db = tmp_path / "culler.db"
    catalog = open_catalog(db)
    _fill(catalog, n=40)
    catalog.rate(1, stars=4, decision="pick", source="gui")
    rows = iter_photos(catalog, batch=7)
    first = next(rows)
    assert first["path"] == min(r["path"] for r in list_photos(catalog))
    expected = json.dumps(list_photos(catalog), indent=2)
    empty = json.dumps(list_photos(catalog, search="nothing-matches-this"), indent=2)
    catalog.close()
    assert culler_cli("list", "--db", db, "--json").output.strip() == expected
    by_score = json.loads(culler_cli("list", "--db", db, "--json", "--sort", "technical").output)
    assert sorted(r["path"] for r in by_score) == sorted(r["path"] for r in json.loads(expected))
    nothing = culler_cli("list", "--db", db, "--json", "--search", "nothing-matches-this")
    assert nothing.output.strip() == empty == "[]"
    bad = culler_cli("list", "--db", db, "--json", "--min", "3", expect=1)
    assert "--min/--max need --sort" in bad.output and "[" not in bad.output
