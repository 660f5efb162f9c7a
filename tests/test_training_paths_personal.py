"""A whole fine-tuned network is a personal scorer version: train on the catalog's ratings → registered
(safetensors with every layer, its own sha256) → the next scan uses it → export / import-personal
carries it to a second catalog, which scores the same."""

from __future__ import annotations

import json

import pytest
import torch
from culler_plugins.charlenet.convert import IMAGENET_WEIGHTS
from culler_plugins.charlenet.model import CaffeNet
from safetensors import safe_open
from safetensors.torch import save_file

from culler.catalog import open_catalog
from culler.models.weights import install_file, sha256_file
from culler.testing import available_samples


def charlenet_scores(db):
    catalog = open_catalog(db)
    try:
        rows = catalog.query(
            "SELECT p.path, s.score, r.version, r.weights_sha256 FROM scores s"
            " JOIN scorers r ON r.id = s.scorer_pk JOIN photos p ON p.id = s.photo_id"
            " WHERE r.scorer_id = 'charlenet'"
        )
    finally:
        catalog.close()
    return {r["path"].rsplit("/", 1)[-1]: r for r in rows}


@pytest.fixture
def rated_shoot(tmp_path, culler_cli):
    """Twelve real photos (and mirror images, and soft copies) scanned; sharp ones picked."""
    folder = tmp_path / "shoot"
    folder.mkdir()
    for name, image in available_samples():
        image.save(folder / f"{name}.jpg", quality=90)
        image.transpose(0).save(folder / f"{name}-mirror.jpg", quality=90)
    db = tmp_path / "c.db"
    culler_cli("scan", folder, "--db", db, "--scorer", "technical", "--workers", "0")
    catalog = open_catalog(db)
    for row in catalog.query("SELECT id, path FROM photos"):
        good = "-mirror" not in row["path"]
        catalog.rate(row["id"], stars=5 if good else 1, decision="pick" if good else "reject")
    catalog.close()
    return folder, db


def test_charlenet_fine_tune_is_registered_scanned_and_carried(tmp_path, rated_shoot, culler_cli):
    torch.manual_seed(0)
    standin = tmp_path / "imagenet.safetensors"
    save_file(CaffeNet(1000).state_dict(), str(standin))
    install_file("charlenet", IMAGENET_WEIGHTS, standin)
    folder, db = rated_shoot
    out = culler_cli(
        "train", "--db", db, "--model", "charlenet", "--schedule", "adam:1e-5:1:ce",
        "--batch-size", "4", "--min-ratings", "4", "--runs-dir", tmp_path / "runs",
        "--name", "mine",
    ).output  # fmt: skip
    assert "registered as scorer version" in out and "(charlenet)" in out
    run_file = tmp_path / "runs" / "mine" / "network.safetensors"
    catalog = open_catalog(db)
    active = catalog.active_scorer("charlenet")
    catalog.close()
    assert active["version"].startswith("1+personal-")
    assert active["config"]["head_sha256"] == sha256_file(run_file)
    assert active["config"]["init"]["from"].startswith("ImageNet CaffeNet")

    culler_cli("scan", folder, "--db", db, "--scorer", "charlenet", "--workers", "0")
    first = charlenet_scores(db)
    n_photos = len(list(folder.glob("*.jpg")))
    assert len(first) == n_photos
    assert {r["version"] for r in first.values()} == {active["version"]}
    assert {r["weights_sha256"] for r in first.values()} == {sha256_file(run_file)}

    bundle = tmp_path / "mine.cullermodel"
    culler_cli("models", "export", "charlenet", "-o", bundle, "--db", db)
    other = tmp_path / "other.db"
    culler_cli("scan", folder, "--db", other, "--scorer", "technical", "--workers", "0")
    culler_cli("models", "import-personal", bundle, "--db", other)
    culler_cli("scan", folder, "--db", other, "--scorer", "charlenet", "--workers", "0")
    moved = charlenet_scores(other)
    assert moved.keys() == first.keys()
    for name, row in first.items():
        assert moved[name]["version"] == row["version"]
        assert moved[name]["score"] == pytest.approx(row["score"], abs=1e-5)
    with safe_open(str(run_file), "pt") as fh:
        meta = json.loads(fh.metadata()["culler_head"])
    assert meta == {"kind": "charlenet", "network": True, "scorer": "charlenet", "trained": "mine"}
