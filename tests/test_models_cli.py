"""`culler models list | import | path | remove` through the real command line, on tiny models built here.

The CLIP tests use the tiny open_clip model (culler_plugins.clip.testing) standing in for ViT-L-14 (same
768-d embedding), so LAION's head and the backbone go through the real converters and the real scan.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from culler_plugins import clip as clip_plugin
from culler_plugins.clip import common
from culler_plugins.clip.testing import (
    TINY_MODEL,
    TINY_SCORER_CONFIG,
    TINY_TAG,
    register_tiny_model,
    write_laion_head,
    write_tiny_backbone,
)

from culler.models.weights import manifest, scorer_dir

TINY_ARGS = [a for k, v in TINY_SCORER_CONFIG.items() for a in ("--config", f"{k}={v}")]
BACKBONE = common.backbone_spec(TINY_MODEL, TINY_TAG).name


def _json(result) -> list[dict]:
    return json.loads(getattr(result, "stdout", None) or result.output)


def _by_scorer(culler_cli, *args: str) -> dict[str, dict]:
    return {row["scorer"]: row for row in _json(culler_cli("models", "list", "--json", *args))}


def save_laion(path: Path, seed: int = 0) -> Path:
    """A LAION-layout aesthetic head, saved as the public training script saves it."""
    write_laion_head(path, seed=seed)
    return path


def test_list_without_weights_says_what_to_run(culler_cli):
    rows = _by_scorer(culler_cli)
    clip = rows["clip-aesthetic"]
    assert clip["status"] == "missing" and clip["pullable"]
    assert clip["command"] == "culler models pull clip-aesthetic"
    assert [f["source"] for f in clip["files"]] == [
        "open_clip://ViT-L-14/openai",
        common.LAION_HEAD.source,
    ]
    assert clip["files"][1]["published_sha256"] == common.LAION_HEAD.sha256
    assert clip["files"][1]["size"] == common.LAION_HEAD.size
    for import_only in ("saan", "charlenet"):
        assert not rows[import_only]["pullable"]
        assert rows[import_only]["command"] == f"culler models import {import_only} FILE"
    assert "technical" not in rows  # weight-free scorers are not listed
    human = culler_cli("models", "list").output
    assert (
        "clip-aesthetic: missing (can be pulled) — run `culler models pull clip-aesthetic`" in human
    )
    assert "saan: missing (import only) — run `culler models import saan FILE`" in human
    assert "licence: Apache-2.0" in human


def test_import_clip_backbone_and_laion_head_then_scan(
    tmp_path, culler_cli, monkeypatch, photo_dir
):
    register_tiny_model()
    # The tiny model stands in for ViT-L-14, so the config asks for LAION's head on it.
    monkeypatch.setattr(clip_plugin, "LAION_BACKBONE", (TINY_MODEL, TINY_TAG))
    before = _by_scorer(culler_cli, *TINY_ARGS)["clip-aesthetic"]
    assert [f["name"] for f in before["files"]] == [BACKBONE, common.LAION_HEAD.name]
    assert before["status"] == "missing"

    backbone = write_tiny_backbone(tmp_path / "open_clip_model.safetensors")
    out = culler_cli("models", "import", "clip-aesthetic", backbone, *TINY_ARGS).output
    assert f"installed {BACKBONE}" in out and "converted from open_clip_model.safetensors" in out
    head = save_laion(tmp_path / "laion-copy.pth")
    out = culler_cli("models", "import", "clip-aesthetic", head).output
    assert f"installed {common.LAION_HEAD.name}" in out

    entries = manifest("clip-aesthetic")
    assert entries[BACKBONE]["source"] == "import"
    assert entries[BACKBONE]["origin"] == "open_clip_model.safetensors"  # no machine path
    assert (
        entries[common.LAION_HEAD.name]["origin_sha256"]
        == hashlib.sha256(head.read_bytes()).hexdigest()
    )
    rows = _by_scorer(culler_cli, *TINY_ARGS)
    after = rows["clip-aesthetic"]
    assert after["status"] == "installed" and after["command"] == ""
    assert {f["installed_by"] for f in after["files"]} == {"import"}
    # One backbone serves emotion too.
    assert rows["emotion"]["status"] == "installed"
    assert rows["emotion"]["files"][0]["holder"] == "clip-aesthetic"
    human = culler_cli("models", "list", *TINY_ARGS).output
    assert "clip-aesthetic: installed (can be pulled)" in human
    assert "installed (imported 20" in human and "shared from clip-aesthetic" in human

    settings = [
        a for k, v in TINY_SCORER_CONFIG.items() for a in ("--config", f"clip-aesthetic.{k}={v}")
    ]
    summary = _json(
        culler_cli(
            "scan",
            photo_dir,
            "--db",
            tmp_path / "c.db",
            "--scorer",
            "clip-aesthetic",
            "--workers",
            "0",
            "--json",
            *settings,
        )
    )
    assert summary["scored"] == 6 and not summary["skipped_scorers"], summary


def test_damaged_file_is_listed_as_damaged(tmp_path, culler_cli):
    register_tiny_model()
    backbone = write_tiny_backbone(tmp_path / "b.safetensors")
    culler_cli("models", "import", "emotion", backbone, *TINY_ARGS)
    installed = scorer_dir("emotion") / BACKBONE
    data = bytearray(installed.read_bytes())
    data[-1] ^= 0xFF
    installed.write_bytes(bytes(data))
    row = _by_scorer(culler_cli, *TINY_ARGS)["emotion"]
    assert row["status"] == "damaged" and row["files"][0]["status"] == "damaged"
    assert row["command"] == "culler models pull emotion"
    assert "DAMAGED" in culler_cli("models", "list", *TINY_ARGS).output


@pytest.fixture
def published(published_scorer):
    """A scorer whose one file is published as is: import installs it unchanged, by sha256."""
    return published_scorer("published-test", "https://example.invalid/model.safetensors")


def test_import_published_file_unchanged_and_refuse_other_files(published, tmp_path, culler_cli):
    good, spec = published
    renamed = tmp_path / "downloaded-elsewhere.bin"
    renamed.write_bytes(good.read_bytes())
    culler_cli("models", "import", "published-test", renamed)
    entry = manifest("published-test")[spec.name]
    assert entry["sha256"] == spec.sha256 and entry["origin"] == "downloaded-elsewhere.bin"
    other = tmp_path / "other.safetensors"
    other.write_bytes(b"something else")
    bad = culler_cli("models", "import", "published-test", other, expect=1)
    assert "is not a file published-test uses; expected: model.safetensors" in bad.output
    assert "Traceback" not in bad.output
    assert (scorer_dir("published-test") / spec.name).read_bytes() == good.read_bytes()


def test_import_from_a_tar_archive_skips_non_weight_files(published, tmp_path, culler_cli):
    import tarfile

    good, spec = published
    archive = tmp_path / "bundle.tar.gz"
    readme = tmp_path / "README.txt"
    readme.write_text("how to use")
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(readme, arcname="bundle/README.txt")
        tf.add(good, arcname="bundle/model.safetensors")
    out = culler_cli("models", "import", "published-test", archive).output
    assert "installed model.safetensors" in out
    entry = manifest("published-test")[spec.name]
    assert entry["origin"] == "bundle.tar.gz:bundle/model.safetensors"
    assert sorted(p.name for p in scorer_dir("published-test").iterdir()) == [
        "manifest.json",
        "model.safetensors",
    ]


def test_models_path_and_remove(published, culler_cli):
    good, _ = published
    assert culler_cli("models", "path").output.strip().endswith("models")
    folder = culler_cli("models", "path", "published-test").output.strip()
    assert folder == str(scorer_dir("published-test"))
    culler_cli("models", "import", "published-test", good)
    assert culler_cli("models", "remove", "published-test", expect=1).exit_code == 1
    out = culler_cli("models", "remove", "published-test", "--yes").output
    assert "removed" in out and not scorer_dir("published-test").exists()


def test_unknown_scorer_and_bad_config(culler_cli, tmp_path):
    missing = culler_cli("models", "pull", "nope", expect=1)
    assert "no scorer called 'nope'" in missing.output
    bad = culler_cli("models", "list", "--config", "justakey", expect=2)
    assert "KEY=VALUE" in bad.output
    wrong = culler_cli("models", "list", "--config", "charlenet.classes=5", expect=1)
    assert "classes must be 2 or 3" in wrong.output
