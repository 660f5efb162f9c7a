"""Emotion tags from the user: `culler tag` (source user, append-only) → `culler train --scorer
emotion --model tags` (BCE with logits; top-1/2/3 accuracy, top-3 recall) → the next scan tags with the
personal head → export / import-personal to a second catalog."""

from __future__ import annotations

import json

import pytest
from culler_plugins.clip.testing import (
    TINY_SCORER_CONFIG,
    install_tiny_backbone,
    register_tiny_model,
)

from culler.catalog import open_catalog
from culler.testing import (
    available_samples,
    carry_personal_model,
    scan_into,
    write_sharp_and_soft,
)


def test_tag_command_is_append_only_and_newest_wins(tmp_path, culler_cli):
    folder = tmp_path / "p"
    folder.mkdir()
    paths = []
    for name, image in available_samples()[:3]:
        image.save(folder / f"{name}.jpg")
        paths.append(folder / f"{name}.jpg")
    db = tmp_path / "c.db"
    culler_cli("scan", folder, "--db", db, "--scorer", "technical", "--workers", "0")
    out = culler_cli("tag", *paths[:2], "--add", "Awe", "--add", "fear", "--db", db).output
    assert "tagged 2 photos: +Awe +fear" in out
    culler_cli("tag", paths[0], "--remove", "fear", "--db", db)
    missing = culler_cli(
        "tag", tmp_path / "nope.jpg", paths[2], "--add", "awe", "--db", db, expect=1
    )
    assert "not in the catalog" in missing.output
    culler_cli("tag", paths[0], "--db", db, expect=2)  # nothing to do is a usage error
    catalog = open_catalog(db)
    ids = {r["path"]: r["id"] for r in catalog.query("SELECT id, path FROM photos")}
    assert catalog.user_tags() == {
        ids[str(paths[0])]: {"awe"},
        ids[str(paths[1])]: {"awe", "fear"},
        ids[str(paths[2])]: {"awe"},
    }
    history = catalog.query("SELECT tag, present, source FROM user_tags ORDER BY id")
    assert len(history) == 6 and {r["source"] for r in history} == {"user"}
    catalog.close()


def test_emotion_head_learns_the_users_tags_and_travels(tmp_path, culler_cli):
    register_tiny_model()
    install_tiny_backbone("clip-aesthetic", tmp_path)
    folder = write_sharp_and_soft(tmp_path / "shoot", radius=6)
    db = tmp_path / "c.db"
    catalog, summary = scan_into(db, folder, ["emotion"], TINY_SCORER_CONFIG)
    catalog.close()
    soft = sorted(folder.glob("*-soft.jpg"))
    sharp = sorted(set(folder.glob("*.jpg")) - set(soft))
    culler_cli("tag", *sharp, "--add", "awe", "--db", db)
    culler_cli("tag", *soft, "--add", "sadness", "--db", db)
    culler_cli("tag", *sharp[:2], "--add", "contentment", "--db", db)
    out = culler_cli(
        "train", "--db", db, "--scorer", "emotion", "--model", "tags", "--lr", "0.05",
        "--epochs", "30", "--min-ratings", "4", "--val-fraction", "0.34",
        "--runs-dir", tmp_path / "runs", "--name", "tags",
    ).output  # fmt: skip
    assert "registered as scorer version" in out
    best = json.loads((tmp_path / "runs" / "tags" / "result.json").read_text())["best"]
    assert {"val_top1", "val_top2", "val_top3", "val_top3_recall"} <= set(best)
    assert best["loss"] > 0 and best["val_top3_recall"] <= 1.0

    catalog, again = scan_into(db, folder, ["emotion"])
    assert again.get("from_cache", 0) == summary["scored"]  # same embeddings: only the head changed
    rows = catalog.query(
        "SELECT DISTINCT t.tag FROM tags t JOIN scorers s ON s.id = t.scorer_pk"
        " WHERE s.scorer_id = 'emotion' AND s.version LIKE '%personal%'"
    )
    assert {r["tag"] for r in rows} == {"awe", "contentment", "sadness"}
    first = catalog.query(
        "SELECT p.path, t.tag, t.probability FROM tags t JOIN scorers s ON s.id = t.scorer_pk"
        " JOIN photos p ON p.id = t.photo_id WHERE s.version LIKE '%personal%' ORDER BY 1, 2"
    )
    catalog.close()

    second = carry_personal_model(
        culler_cli, "emotion", db, folder, tmp_path / "other.db", TINY_SCORER_CONFIG
    )
    moved = second.query(
        "SELECT p.path, t.tag, t.probability FROM tags t JOIN scorers s ON s.id = t.scorer_pk"
        " JOIN photos p ON p.id = t.photo_id WHERE s.version LIKE '%personal%' ORDER BY 1, 2"
    )
    second.close()
    assert [(r["path"], r["tag"]) for r in moved] == [(r["path"], r["tag"]) for r in first]
    assert [r["probability"] for r in moved] == pytest.approx([r["probability"] for r in first])
