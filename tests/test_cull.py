"""Grouping and auto-cull on real photos: generated bursts with EXIF capture times, duplicates, dry runs."""

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from culler.catalog import open_catalog
from culler.decide.cull import (
    CullOptions,
    Ranking,
    apply_plan,
    plan_cull,
    stored_groups,
    update_groups,
)
from culler.decide.grouping import (
    GroupingOptions,
    capture_time,
    compute_groups,
    find_bursts,
    similar_pairs,
)
from culler.scan import ScanOptions, scan_folders
from culler.testing import blurred, noisy, sample_image


def exif_at(seconds: float, model: str = "TestCam X1") -> Image.Exif:
    """EXIF with DateTimeOriginal + SubsecTimeOriginal for 2024-05-01 10:00:00 + ``seconds``."""
    exif = Image.Exif()
    exif[0x0110] = model
    ifd = exif.get_ifd(0x8769)
    whole = int(seconds)
    ifd[0x9003] = f"2024:05:01 10:{whole // 60:02d}:{whole % 60:02d}"
    ifd[0x9291] = f"{round((seconds - whole) * 100):02d}"
    return exif


def write_burst(folder: Path, start: float = 5.0, step: float = 0.3) -> dict[str, Path]:
    """One scene shot four times with small shifts: clean, blurred, noisy, slightly soft."""
    folder.mkdir(parents=True, exist_ok=True)
    base = sample_image("astronaut")

    def crop(dx: int) -> Image.Image:
        return base.crop((dx, dx // 2, dx + 448, dx // 2 + 448))

    frames = {
        "clean": crop(0),
        "blurred": blurred(crop(4), 3),
        "noisy": noisy(crop(8), 20),
        "soft": blurred(crop(12), 1.5),
    }
    paths = {}
    for i, (name, image) in enumerate(frames.items()):
        paths[name] = folder / f"IMG_{i + 1:04d}_{name}.jpg"
        image.save(paths[name], quality=92, exif=exif_at(start + i * step))
    return paths


@pytest.fixture
def shoot(tmp_path):
    """A scanned shoot: a 4-frame burst, a lone frame a minute later, an image and its resized copy."""
    folder = tmp_path / "shoot"
    paths = write_burst(folder)
    paths["cat"] = folder / "cat.jpg"
    sample_image("chelsea").save(paths["cat"], quality=92, exif=exif_at(65))
    coffee = sample_image("coffee")
    paths["coffee"] = folder / "coffee.jpg"
    coffee.save(paths["coffee"], quality=92)
    paths["coffee_copy"] = folder / "coffee_small.jpg"
    coffee.resize((300, 200)).save(paths["coffee_copy"], quality=80)
    catalog = open_catalog(tmp_path / "culler.db")
    scan_folders(
        catalog, [folder], ScanOptions(scorer_ids=["technical"], workers=0), echo=lambda m: None
    )
    yield catalog, {k: str(v) for k, v in paths.items()}
    catalog.close()


def ids_by_name(catalog, paths):
    return {name: catalog.photo_by_path(path)["id"] for name, path in paths.items()}


def test_capture_time_adds_subseconds():
    assert capture_time("2024-05-01T10:00:05", "25") - capture_time("2024-05-01T10:00:05") == (
        pytest.approx(0.25)
    )
    assert capture_time(None) is None and capture_time("not a date") is None


def test_bursts_split_on_gap_and_camera():
    photos = [
        {"id": 1, "taken_at": "2024-05-01T10:00:00", "subsec": "0", "camera": "A"},
        {"id": 2, "taken_at": "2024-05-01T10:00:00", "subsec": "5", "camera": "A"},
        {"id": 3, "taken_at": "2024-05-01T10:00:01", "subsec": "4", "camera": "A"},
        {"id": 4, "taken_at": "2024-05-01T10:00:05", "subsec": "0", "camera": "A"},
        {"id": 5, "taken_at": "2024-05-01T10:00:00", "subsec": "7", "camera": "B"},
        {"id": 6, "taken_at": None, "subsec": None, "camera": "A"},
    ]
    assert find_bursts(photos, gap=1.0) == [[1, 2, 3]]
    assert find_bursts(photos, gap=0.6) == [[1, 2]]


def test_similar_pairs_need_strong_evidence_within_one_shoot():
    from culler.decide.grouping import PhotoSet
    from culler.imaging.signatures import compute_bytes

    astronaut, coffee, rocket = (sample_image(n) for n in ("astronaut", "coffee", "rocket"))

    def row(pid, image, root="/a", taken=None):
        sig = compute_bytes(image) if image is not None else None
        return {"id": pid, "root": root, "taken_at": taken, "camera": "X", "signature": sig}

    rows = [
        row(10, astronaut),
        row(11, astronaut.resize((200, 200))),
        row(12, coffee),
        row(13, None),  # scanned before signatures: only an embedding or identical content
        row(14, None),
        row(15, astronaut, root="/elsewhere"),  # same picture, another folder, no capture time
    ]
    rng = np.random.default_rng(0)
    v = rng.normal(size=16).astype(np.float32)
    vectors = {13: v, 14: v + 0.01 * rng.normal(size=16).astype(np.float32)}
    photos = PhotoSet(rows, vectors)
    options = GroupingOptions()
    assert sorted(similar_pairs(photos, options)) == [(10, 11), (13, 14)]
    assert similar_pairs(photos, options, among=[14]) == [(13, 14)]
    del rocket


def test_scan_groups_burst_and_duplicates_and_sharp_clean_frame_wins(shoot):
    catalog, paths = shoot
    ids = ids_by_name(catalog, paths)
    groups = {g.kind: g for g in stored_groups(catalog)}
    assert set(groups) == {"burst", "duplicate"}
    burst = groups["burst"].members
    assert set(burst) == {ids["clean"], ids["blurred"], ids["noisy"], ids["soft"]}
    assert burst[0] == ids["clean"]
    assert set(groups["duplicate"].members) == {ids["coffee"], ids["coffee_copy"]}
    ranks = dict(catalog.execute("SELECT photo_id, rank FROM group_members").fetchall())
    assert ranks[ids["clean"]] == 0


def test_regrouping_is_incremental_and_keeps_group_ids(shoot, tmp_path):
    catalog, paths = shoot
    before = {g.kind: g.id for g in stored_groups(catalog)}
    counts = update_groups(catalog)
    assert counts == {"groups": 2, "added": 0, "removed": 0, "examined": 0}
    folder = Path(paths["clean"]).parent
    write_burst(folder / "later", start=600.0)
    scan_folders(
        catalog, [folder], ScanOptions(scorer_ids=["technical"], workers=0), echo=lambda m: None
    )
    groups = stored_groups(catalog)
    assert sorted(g.kind for g in groups).count("burst") == 2
    assert {g.id for g in groups} >= set(before.values())
    # The second burst repeats the scene, so its frames are near-duplicates of the first: only the
    # new photos were compared with the catalog, and the result equals a full recomputation.
    full, _ = compute_groups(catalog, full=True)
    assert {(g.kind, frozenset(g.members)) for g in groups} == {
        (g.kind, frozenset(g.members)) for g in full
    }
    assert any(g.kind == "duplicate" and len(g.members) == 2 for g in groups)
    assert update_groups(catalog)["examined"] == 0
    counts = update_groups(catalog, full=True)
    assert counts["added"] == 0 and counts["removed"] == 0


def test_cull_picks_clean_frame_rejects_misfires_with_reasons(shoot):
    catalog, paths = shoot
    ids = ids_by_name(catalog, paths)
    plan = {p.photo_id: p for p in plan_cull(catalog)}
    assert plan[ids["clean"]].decision == "pick"
    assert plan[ids["clean"]].reason.startswith("burst of 4: ")
    for name in ("blurred", "noisy", "soft"):
        assert plan[ids[name]].decision == "reject", plan[ids[name]]
    for name in ("noisy", "soft"):
        assert plan[ids[name]].reason.startswith("burst of 4 (#")
    assert "noise" in plan[ids["noisy"]].reason
    assert "missed focus" in plan[ids["blurred"]].reason, plan[ids["blurred"]].reason
    assert plan[ids["cat"]].decision == "pick"
    assert {plan[ids["coffee"]].decision, plan[ids["coffee_copy"]].decision} == {"pick", "reject"}
    assert all("\n" not in p.reason and p.reason for p in plan.values())
    written = apply_plan(catalog, plan.values())
    assert written == len(plan)
    assert apply_plan(catalog, plan_cull(catalog)) == 0  # idempotent: nothing new to write
    sources = {r[0] for r in catalog.execute("SELECT source FROM ratings")}
    assert sources == {"auto"}


def test_reject_below_and_keep_top(shoot):
    catalog, paths = shoot
    plan = plan_cull(catalog, CullOptions(reject_below=10.001))
    assert {p.decision for p in plan} == {"reject"}
    # The reason is the one that decided: a named defect first, else the score threshold.
    by_score = [p for p in plan if "score" in p.reason]
    assert by_score and all("low score" in p.reason for p in by_score)
    assert all("score" in p.reason or "focus" in p.reason or "blur" in p.reason for p in plan)
    plan = plan_cull(catalog, CullOptions(reject_below=None, keep_top=10))
    picks = [p for p in plan if p.decision == "pick"]
    assert len(picks) == 1
    assert any(p.reason.startswith("not in the top 10 %") for p in plan)


def test_custom_weights_and_personal_model_rank_first(shoot):
    catalog, paths = shoot
    ids = ids_by_name(catalog, paths)
    base = catalog.active_scorer("technical")["id"]
    # A "personal model" that prefers the noisy frame, registered as a fine-tune of a base scorer.
    personal = catalog.scorer_pk("taste", "1", parent=base)
    catalog.activate_scorer(personal)
    with catalog.transaction() as conn:
        for name, pid in ids.items():
            conn.execute(
                "INSERT INTO scores (photo_id, scorer_pk, score, created) VALUES (?, ?, ?, 'now')",
                [pid, personal, 9.5 if name == "noisy" else 2.0],
            )
    plan = {p.photo_id: p for p in plan_cull(catalog)}
    assert plan[ids["noisy"]].decision == "pick"
    assert "personal-model" in plan[ids["noisy"]].reason
    only_technical = CullOptions(ranking=Ranking(weights={"technical": 1.0}))
    plan = {p.photo_id: p for p in plan_cull(catalog, only_technical)}
    assert plan[ids["clean"]].decision == "pick"


def catalog_dump(db_path: Path) -> dict[str, list]:
    conn = sqlite3.connect(db_path)
    try:
        tables = [
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")
        ]
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}
    finally:
        conn.close()


def test_cli_dry_run_changes_nothing_and_hand_decisions_survive(shoot, culler_cli, tmp_path):
    catalog, paths = shoot
    db = catalog.path
    ids = ids_by_name(catalog, paths)
    culler_cli("rate", paths["blurred"], "--pick", "--db", db)  # the photographer likes it
    culler_cli("rate", paths["cat"], "--reject", "--db", db)
    catalog.execute("DELETE FROM groups")  # dry run must not regroup either
    catalog.conn.commit()
    before = catalog_dump(db)
    result = culler_cli("cull", "--db", db, "--dry-run")
    assert "would reject" in result.output and "dry run" in result.output
    assert catalog_dump(db) == before

    data = culler_cli.json("cull", "--db", db, "--json")
    assert data["dry_run"] is False and data["written"] > 0
    rows = {r["path"]: r for r in data["plan"]}
    assert rows[paths["blurred"]]["by_hand"] and rows[paths["cat"]]["by_hand"]
    assert {s["decision"] for s in data["summary"]} >= {"pick", "reject", "by hand"}
    assert catalog.current_rating(ids["blurred"])["decision"] == "pick"
    assert catalog.current_rating(ids["blurred"])["source"] == "cli"
    assert catalog.current_rating(ids["cat"])["decision"] == "reject"
    # The hand pick counts as the burst's keeper, so the clean frame is not picked on top of it.
    assert catalog.current_rating(ids["clean"])["decision"] == "reject"
    assert catalog.current_rating(ids["noisy"])["source"] == "auto"
    again = culler_cli("cull", "--db", db)
    assert "0 decisions written" in again.output


def test_groups_command_lists_and_rebuilds(shoot, culler_cli):
    catalog, paths = shoot
    rows = culler_cli.json("groups", "--db", catalog.path, "--json")
    burst = next(r for r in rows if r["kind"] == "burst")
    assert burst["size"] == 4 and burst["members"][0]["path"] == paths["clean"]
    rows = culler_cli.json(
        "groups", "--db", catalog.path, "--rebuild", "--burst-gap", "0.1", "--json"
    )
    assert rows and {r["kind"] for r in rows} == {"duplicate"}  # no bursts at a 0.1 s gap
    text = culler_cli("groups", "--db", catalog.path).output
    assert "duplicate" in text and "#1" in text


def test_weight_option_is_validated(shoot, culler_cli):
    catalog, _ = shoot
    result = culler_cli("cull", "--db", catalog.path, "--weight", "technical", expect=2)
    assert "SCORER=WEIGHT" in result.output
    out = culler_cli.json(
        "cull", "--db", catalog.path, "--weight", "technical=1", "--dry-run", "--json"
    )
    assert out["written"] == 0
    # Ranked by the technical score alone: each photo's score is its technical score.
    paths = {r["id"]: r["path"] for r in catalog.query("SELECT id, path FROM photos")}
    technical = {
        paths[pid]: by_scorer["technical"]
        for pid, by_scorer in catalog.current_scores().items()
        if by_scorer.get("technical") is not None
    }
    planned = {p["path"]: p["score"] for p in out["plan"] if p["score"] is not None}
    assert planned.keys() == technical.keys() and len(planned) >= 5
    for path, score in planned.items():
        assert score == pytest.approx(technical[path], abs=1e-4), path


def test_a_web_export_never_outranks_its_full_size_original(tmp_path):
    """A half-size export looks crisper per pixel; keeping it would throw the original away."""
    folder = tmp_path / "shoot"
    folder.mkdir()
    original = sample_image("astronaut").resize((1024, 1024))
    original.filter(ImageFilter.GaussianBlur(1.2)).save(folder / "original.jpg", quality=92)
    original.resize((400, 400)).save(folder / "original-web.jpg", quality=75)
    catalog = open_catalog(tmp_path / "culler.db")
    try:
        scan_folders(catalog, [folder], ScanOptions(workers=0, scorer_ids=["technical"]))
        plan = {Path(p.path).name: p for p in plan_cull(catalog)}
    finally:
        catalog.close()
    assert plan["original.jpg"].decision == "pick"
    assert (
        plan["original.jpg"].reason
        == "2 near-duplicates: the full-size photo; #2 is a smaller copy"
    )
    assert plan["original-web.jpg"].decision == "reject"
    assert (
        plan["original-web.jpg"].reason == "2 near-duplicates (#2): a smaller copy (400×400) of #1"
    )


def test_the_whole_archive_is_decided_in_batches_as_with_every_score_in_memory(
    shoot, monkeypatch, tmp_path
):
    """A whole-archive cull reads the scores a batch of moments (then of single photos) at a time
    (issue #32: a million photos' scores never in memory at once); its proposals are exactly those
    of the plan that holds every score (the scoped plan, asked for every photo)."""
    from culler.decide import cull as cull_module

    catalog, paths = shoot
    broken = tmp_path / "shoot" / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a whole jpeg")
    scan_folders(
        catalog,
        [tmp_path / "shoot"],
        ScanOptions(scorer_ids=["technical"], workers=0),
        echo=lambda m: None,
    )
    everything = {r[0] for r in catalog.execute("SELECT id FROM photos")}
    in_memory = plan_cull(catalog, scope=everything)
    batches = []
    real_load = cull_module.load_scores

    def counting(cat, photo_ids=None, ranking=None):
        batches.append(None if photo_ids is None else len(list(photo_ids)))
        return real_load(cat, photo_ids, ranking=ranking)

    monkeypatch.setattr(cull_module, "load_scores", counting)
    monkeypatch.setattr(cull_module, "BATCH", 2)
    batched = plan_cull(catalog)
    assert None not in batches and len(batches) >= 3  # the burst whole, then single photos by two
    assert [vars(p) for p in batched] == [vars(p) for p in in_memory]
    assert any(p.reason.startswith("broken file") for p in batched)
    assert any(p.reason.startswith("burst of 4") for p in batched)


def test_the_plan_is_printed_a_thousand_lines_a_call_as_it_was_one_a_call(capsys):
    """`culler cull` prints each change on its line (paths with rich markup characters kept as
    they are) and the summary table; the lines go to rich a thousand at a time."""
    from culler.commands.cull import _print_plan
    from culler.decide.cull import Proposal, summarize

    plan = [
        Proposal(i, f"/shoot/[b]IMG_{i:04d}[/b].jpg", "reject", "burst of 3 (#2): soft", 4.0)
        for i in range(1001)
    ] + [Proposal(5000, "/shoot/keep.jpg", None, "decided by hand", 6.0, "pick", "gui", True)]
    _print_plan(plan, summarize(plan), True, 0)
    out = capsys.readouterr().out.splitlines()
    assert out[:1001] == [
        f"would reject /shoot/[b]IMG_{i:04d}[/b].jpg  burst of 3 (#2): soft" for i in range(1001)
    ]
    assert "culler cull (dry run: nothing changed)" in "\n".join(out[1001:])
