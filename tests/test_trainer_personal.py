"""A simulated photographer rates 200 real photo variants; the personal model must agree with their
held-out ratings clearly better than the base scorers, and the next scan must use it."""

import numpy as np
import pytest
from culler_trainer import main as trainer_main
from culler_trainer.metrics import pairwise_agreement, rating_pairs
from culler_trainer.params import parse_args
from culler_trainer.testing import ColourStatsPlugin, variant

from culler.scan import ScanOptions, scan_folders
from culler.testing import available_samples

N_PHOTOS = 200


def hidden_taste(truth, rng):
    """Likes warm, bright, sharp photos (and is not perfectly consistent)."""
    return (
        truth["warmth"] / 0.3
        + (truth["exposure"] - 1) / 0.45
        - truth["blur"] / 1.5
        + rng.normal(0, 0.3)
    )


def make_rated_catalog(tmp_path, n, db_name="culler.db"):
    """Scan ``n`` variants with the colour backbone and the technical scorer, then rate them all."""
    rng = np.random.default_rng(7)
    folder = tmp_path / "shoot"
    folder.mkdir(exist_ok=True)
    bases = [im for _, im in available_samples()]
    taste = {}
    for i in range(n):
        image, truth = variant(bases[i % len(bases)], rng)
        path = folder / f"IMG_{i:04d}.jpg"
        image.save(path, quality=90)
        taste[str(path)] = hidden_taste(truth, rng)
    from culler.catalog import open_catalog

    catalog = open_catalog(tmp_path / db_name)
    summary = scan_folders(
        catalog,
        [folder],
        ScanOptions(scorer_ids=["test-colour-aesthetic", "technical"], workers=0, thumbnails=False),
        echo=lambda m: None,
    )
    assert summary["errors"] == 0 and summary["scored"] == n
    cuts = np.quantile(list(taste.values()), [0.2, 0.4, 0.6, 0.8, 0.35, 0.65])
    for row in catalog.query("SELECT id, path FROM photos"):
        u = taste[row["path"]]
        stars = 1 + int(np.searchsorted(cuts[:4], u))
        decision = "pick" if u > cuts[5] else "reject" if u < cuts[4] else None
        catalog.rate(row["id"], stars=stars, decision=decision, source="test")
    return catalog, folder


@pytest.fixture
def rated_catalog(tmp_path, register_test_plugin):
    register_test_plugin(ColourStatsPlugin, "colour-stats")
    catalog, folder = make_rated_catalog(tmp_path, N_PHOTOS)
    yield catalog, folder
    catalog.close()


def current_scores(catalog, scorer_id):
    rows = catalog.query(
        "SELECT photo_id, score FROM current_scores WHERE scorer_id = ?", [scorer_id]
    )
    return {str(r["photo_id"]): r["score"] for r in rows}


def test_personal_model_beats_base_scorers_and_is_used_by_next_scan(
    rated_catalog, tmp_path, capsys
):
    catalog, folder = rated_catalog
    args = parse_args(
        [
            "--db", str(catalog.path),
            "--scorer", "test-colour-aesthetic",
            "--model", "linear",
            "--lr", "0.02",
            "--epochs", "60",
            "--runs-dir", str(tmp_path / "runs"),
            "--name", "personal",
        ]
    )  # fmt: skip
    result = trainer_main.run(args)
    split = result.run_dir / "split.json"
    import json

    held_out = json.loads(split.read_text())["val"]
    assert len(held_out) == 50
    targets = {
        r["photo_id"]: 2.0 * r["stars"] for r in catalog.query("SELECT * FROM current_ratings")
    }
    pairs = rating_pairs({k: targets[int(k)] for k in held_out})
    base, _ = pairwise_agreement(current_scores(catalog, "test-colour-aesthetic"), pairs)
    technical, _ = pairwise_agreement(current_scores(catalog, "technical"), pairs)
    personal = result.best["val_agreement"]
    with capsys.disabled():
        print(
            f"\nheld-out pairwise agreement on 50 photos: personal {personal:.3f}, "
            f"base colour prior {base:.3f}, technical {technical:.3f}; "
            f"pick/reject accuracy {result.best['val_pick_reject_acc']:.3f}"
        )
    assert personal >= base + 0.1
    # The hidden taste includes exposure and blur, which technical 2 already follows (0.82 here).
    assert personal >= technical + 0.05
    assert personal > 0.75 and result.best["val_pick_reject_acc"] > 0.75

    # Registered: a new active version whose parent is the base row, used by the next scan.
    row = catalog.active_scorer("test-colour-aesthetic")
    assert row["id"] == result.scorer_pk and row["version"].startswith("1+personal-")
    base_row = catalog.query("SELECT * FROM scorers WHERE id = ?", [row["parent"]])[0]
    assert base_row["version"] == "1" and not base_row["active"]
    assert row["weights_sha256"] == row["config"]["head_sha256"]
    summary = scan_folders(
        catalog, [folder], ScanOptions(scorer_ids=["test-colour-aesthetic"], workers=0), echo=print
    )
    assert summary["decoded"] == 0  # scored from the cached embeddings
    rescored = current_scores(catalog, "test-colour-aesthetic")
    stored_pks = {
        r["scorer_pk"]
        for r in catalog.query(
            "SELECT scorer_pk FROM current_scores WHERE scorer_id = 'test-colour-aesthetic'"
        )
    }
    assert stored_pks == {result.scorer_pk}
    agreement, _ = pairwise_agreement(rescored, pairs)
    assert agreement == pytest.approx(personal, abs=1e-6)
    runs = catalog.query("SELECT * FROM training_runs")
    assert runs[-1]["status"] == "finished" and runs[-1]["scorer_pk"] == result.scorer_pk


def test_train_export_import_through_the_cli(
    tmp_path, register_test_plugin, culler_cli, monkeypatch
):
    register_test_plugin(ColourStatsPlugin, "colour-stats")
    catalog, folder = make_rated_catalog(tmp_path, 40)
    catalog.close()
    db = tmp_path / "culler.db"
    common = ["--scorer", "test-colour-aesthetic", "--model", "linear", "--epochs", "5"]
    culler_cli("train", "--db", db, *common, "--runs-dir", tmp_path / "runs", "--name", "cli")
    assert (tmp_path / "runs" / "cli" / "head.safetensors").exists()
    bundle = tmp_path / "taste.cullermodel"
    culler_cli("models", "export", "test-colour-aesthetic", "-o", bundle, "--db", db)

    # Another machine: its own catalog of the same shoot, its own model folder.
    other_home = tmp_path / "other-home"
    monkeypatch.setenv("CULLER_HOME", str(other_home))
    other = tmp_path / "other.db"
    culler_cli("scan", folder, "--db", other, "--scorer", "test-colour-aesthetic", "--workers", "0")
    out = culler_cli("models", "import-personal", bundle, "--db", other).output
    assert "active" in out
    from culler.catalog import open_catalog

    with open_catalog(db) as a, open_catalog(other) as b:
        mine, theirs = (
            a.active_scorer("test-colour-aesthetic"),
            b.active_scorer("test-colour-aesthetic"),
        )
        assert (
            theirs["version"] == mine["version"]
            and theirs["weights_sha256"] == mine["weights_sha256"]
        )
        assert theirs["config"]["head_file"].startswith(str(other_home))
        assert theirs["parent"] == b.query("SELECT id FROM scorers WHERE version = '1'")[0]["id"]
        culler_cli(
            "scan", folder, "--db", other, "--scorer", "test-colour-aesthetic", "--workers", "0"
        )
        culler_cli(
            "scan", folder, "--db", db, "--scorer", "test-colour-aesthetic", "--workers", "0"
        )
        assert current_scores(a, "test-colour-aesthetic") == pytest.approx(
            current_scores(b, "test-colour-aesthetic")
        )
    # A damaged bundle is refused with a clear message.
    (tmp_path / "bad.cullermodel").write_bytes(b"not a zip")
    result = culler_cli(
        "models", "import-personal", tmp_path / "bad.cullermodel", "--db", other, expect=1
    )
    assert "not a culler model bundle" in result.output


def test_too_few_ratings_is_a_clear_error(tmp_path, photo_dir, culler_cli):
    db = tmp_path / "few.db"
    culler_cli("scan", photo_dir, "--db", db, "--workers", "0")
    result = culler_cli("train", "--db", db, expect=2)
    assert "rate at least 20 photos with both picks and rejects" in result.output
