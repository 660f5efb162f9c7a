"""A personal model registered, exported and imported: what the catalog row says, where the head
goes, what a bundle holds and which bundles are refused, each pinned so that breaking it fails a test.

Heads are small linear heads written with core's ``save_head``: their sha256 is read back from the
file, never taken from the code under test. ``technical`` is an installed scorer (version "4");
``retired`` is a scorer id no plugin provides (a model trained before its plugin was removed).
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest
import torch
from culler_trainer.registry import (
    BUNDLE_FORMAT,
    export_model,
    import_model,
    register_head,
)

from culler.api import get_scorer_class
from culler.catalog import open_catalog
from culler.models.personal_heads import build_head, save_head
from culler.models.weights import WeightsError, models_dir, sha256_file


def _head(path: Path, seed: int = 0) -> tuple[Path, str]:
    """A linear head file and its sha256 (as hashed from the bytes on disk)."""
    torch.manual_seed(seed)
    save_head(build_head("linear", 8), path)
    return path, sha256_file(path)


def _row(catalog, pk: int) -> dict:
    row = catalog.query("SELECT * FROM scorers WHERE id = ?", [pk])[0]
    return row | {"config": json.loads(row["config"])}


def test_a_registered_head_is_installed_and_becomes_the_active_version(catalog, tmp_path):
    assert get_scorer_class("technical").version == "4"
    base = catalog.scorer_pk("technical", "4", "", {"threshold": 3})
    head, sha = _head(tmp_path / "head.safetensors")
    pk = register_head(catalog, "technical", head, {"trained_on": 40})
    installed = models_dir() / "technical" / "personal" / f"{sha[:16]}.safetensors"
    assert installed.read_bytes() == head.read_bytes()
    row = _row(catalog, pk)
    assert (row["version"], row["weights_sha256"], row["parent"], row["active"]) == (
        f"4+personal-{sha[:8]}",
        sha,
        base,
        1,
    )
    assert row["config"] == {
        "threshold": 3,
        "version_tag": f"personal-{sha[:8]}",
        "head_file": str(installed.resolve()),
        "head_sha256": sha,
        "head_kind": "linear",
        "parent": base,
        "trained_on": 40,
    }
    assert catalog.active_scorer("technical")["id"] == pk
    assert catalog.personal_scorer_ids() == {"technical"}
    # The same head again is the same version: no second row.
    assert register_head(catalog, "technical", head) == pk
    assert len(catalog.query("SELECT id FROM scorers")) == 2


def test_a_head_trained_on_top_of_a_personal_one_descends_from_it(catalog, tmp_path):
    catalog.scorer_pk("technical", "4", "", {"threshold": 3})
    first = register_head(
        catalog, "technical", _head(tmp_path / "a.safetensors", 0)[0], {"trained": "then"}
    )
    head, sha = _head(tmp_path / "b.safetensors", 1)
    second = register_head(catalog, "technical", head)
    row = _row(catalog, second)
    # The version is the scorer's, not the first head's; the first head's own keys are dropped.
    assert (row["version"], row["parent"]) == (f"4+personal-{sha[:8]}", first)
    assert row["config"] == {
        "threshold": 3,
        "version_tag": f"personal-{sha[:8]}",
        "head_file": str(
            (models_dir() / "technical" / "personal" / f"{sha[:16]}.safetensors").resolve()
        ),
        "head_sha256": sha,
        "head_kind": "linear",
        "parent": first,
    }


def test_a_head_registered_without_activating_it_leaves_the_active_version(catalog, tmp_path):
    base = catalog.scorer_pk("technical", "4")
    head, _ = _head(tmp_path / "head.safetensors")
    pk = register_head(catalog, "technical", head, activate=False, parent=None)
    assert catalog.active_scorer("technical")["id"] == base
    assert _row(catalog, pk)["active"] == 0
    # A parent given explicitly is the one recorded.
    other, _ = _head(tmp_path / "other.safetensors", 3)
    chosen = register_head(catalog, "technical", other, parent=pk)
    assert (_row(catalog, chosen)["parent"], _row(catalog, chosen)["config"]["parent"]) == (pk, pk)


def test_without_an_installed_scorer_the_version_comes_from_the_catalog(catalog, tmp_path):
    head, sha = _head(tmp_path / "head.safetensors")
    first = register_head(catalog, "retired", head)
    row = _row(catalog, first)
    assert (row["version"], row["parent"]) == (f"1+personal-{sha[:8]}", None)
    assert row["config"]["parent"] is None
    catalog.scorer_pk("gone", "3.1+personal-0000aaaa")
    second = register_head(catalog, "gone", head)
    assert _row(catalog, second)["version"] == f"3.1+personal-{sha[:8]}"
    # A plugin's own local version tag is part of its base version; only the personal tag goes.
    for version in ("2.0+cu121", "2.0+cu121+personal-0000aaaa"):
        with open_catalog(tmp_path / f"{version}.db") as other:
            other.scorer_pk("local", version)
            pk = register_head(other, "local", head)
            assert _row(other, pk)["version"] == f"2.0+cu121+personal-{sha[:8]}", version


def test_an_exported_bundle_holds_the_head_and_a_manifest_without_local_paths(catalog, tmp_path):
    catalog.scorer_pk("technical", "4", "", {"threshold": 3})
    head, sha = _head(tmp_path / "head.safetensors")
    pk = register_head(catalog, "technical", head, {"trained": "2026-01-01"})
    out = tmp_path / "new" / "folder" / "taste.cullermodel"
    manifest = export_model(catalog, "technical", out)
    expected = {
        "format": BUNDLE_FORMAT,
        "scorer_id": "technical",
        "version": f"4+personal-{sha[:8]}",
        "weights_sha256": sha,
        "config": {
            "threshold": 3,
            "version_tag": f"personal-{sha[:8]}",
            "head_sha256": sha,
            "head_kind": "linear",
            "trained": "2026-01-01",
        },
    }
    assert manifest == expected
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == ["head.safetensors", "manifest.json"]
        assert zf.read("head.safetensors") == head.read_bytes()
        text = zf.read("manifest.json").decode()
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist())
    assert json.loads(text) == expected
    assert text == json.dumps(expected, indent=2, sort_keys=True)
    # A version that is no longer active can be exported by its row id.
    register_head(catalog, "technical", _head(tmp_path / "b.safetensors", 1)[0])
    assert export_model(catalog, "technical", tmp_path / "old.cullermodel", pk=pk) == expected


def test_export_without_a_personal_model_says_how_to_make_one(catalog, tmp_path):
    message = (
        "technical has no personal model in this catalog; train one with "
        "`culler train --db CATALOG --scorer technical` first"
    )
    with pytest.raises(ValueError) as none:
        export_model(catalog, "technical", tmp_path / "x.cullermodel")
    assert str(none.value) == message
    base = catalog.scorer_pk("technical", "4")
    with pytest.raises(ValueError) as plain:
        export_model(catalog, "technical", tmp_path / "x.cullermodel", pk=base)
    assert str(plain.value) == message
    assert not (tmp_path / "x.cullermodel").exists()


def test_export_refuses_a_head_file_that_is_gone(catalog, tmp_path):
    head, _ = _head(tmp_path / "head.safetensors")
    register_head(catalog, "technical", head)
    installed = Path(catalog.active_scorer("technical")["config"]["head_file"])
    os.remove(installed)
    with pytest.raises(WeightsError) as gone:
        export_model(catalog, "technical", tmp_path / "x.cullermodel")
    assert str(gone.value) == (
        f"the head file {installed} is missing or changed; train the model again"
    )


def _bundle(tmp_path: Path, catalog) -> tuple[Path, str]:
    catalog.scorer_pk("technical", "4", "", {"threshold": 3})
    head, sha = _head(tmp_path / "head.safetensors")
    register_head(catalog, "technical", head, {"trained": "2026-01-01", "epochs": 5})
    out = tmp_path / "taste.cullermodel"
    export_model(catalog, "technical", out)
    return out, sha


def test_an_imported_bundle_is_registered_on_this_catalogs_base_version(
    catalog, tmp_path, monkeypatch
):
    bundle, sha = _bundle(tmp_path, catalog)
    # Another machine: a culler home with no models folder yet.
    monkeypatch.setenv("CULLER_HOME", str(tmp_path / "other-home"))
    models = models_dir() / "technical" / "personal"
    assert not models_dir().exists()
    with open_catalog(tmp_path / "other.db") as other:
        base = other.scorer_pk("technical", "4", "", {"threshold": 4, "gamma": 1})
        pk = import_model(other, bundle)
        row = _row(other, pk)
        assert other.active_scorer("technical")["id"] == pk
    installed = models / f"{sha[:16]}.safetensors"
    assert (row["version"], row["weights_sha256"], row["parent"]) == (
        f"4+personal-{sha[:8]}",
        sha,
        base,
    )
    # The bundle's settings win over this catalog's; the personal keys are this machine's own.
    assert row["config"] == {
        "threshold": 3,
        "gamma": 1,
        "epochs": 5,
        "imported_from": f"4+personal-{sha[:8]}",
        "version_tag": f"personal-{sha[:8]}",
        "head_file": str(installed.resolve()),
        "head_sha256": sha,
        "head_kind": "linear",
        "parent": base,
    }
    # The head and nothing else: no staging file or folder is left.
    assert sorted(str(p.relative_to(models_dir())) for p in models_dir().rglob("*")) == [
        "technical",
        "technical/personal",
        f"technical/personal/{installed.name}",
    ]


def test_an_import_can_leave_the_active_version(catalog, tmp_path):
    bundle, _ = _bundle(tmp_path, catalog)
    with open_catalog(tmp_path / "other.db") as other:
        base = other.scorer_pk("technical", "4")
        pk = import_model(other, bundle, activate=False)
        assert other.active_scorer("technical")["id"] == base
        assert _row(other, pk)["active"] == 0


def _rewrite(bundle: Path, out: Path, manifest: dict | None = None, head: bytes | None = None):
    with zipfile.ZipFile(bundle) as zf:
        old_manifest, old_head = json.loads(zf.read("manifest.json")), zf.read("head.safetensors")
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest if manifest is not None else old_manifest))
        zf.writestr("head.safetensors", head if head is not None else old_head)
    return out, old_manifest


def test_bundles_that_are_not_culler_models_are_refused_with_the_reason(catalog, tmp_path):
    bundle, _ = _bundle(tmp_path, catalog)
    other = open_catalog(tmp_path / "other.db")
    try:
        text = tmp_path / "notes.cullermodel"
        text.write_text("not a zip")
        with pytest.raises(ValueError, match=r"notes\.cullermodel is not a culler model bundle \("):
            import_model(other, text)
        empty = tmp_path / "empty.cullermodel"
        with zipfile.ZipFile(empty, "w") as zf:
            zf.writestr("readme.txt", "hello")
        with pytest.raises(ValueError, match=r"empty\.cullermodel is not a culler model bundle \("):
            import_model(other, empty)
        _, manifest = _rewrite(bundle, tmp_path / "probe.cullermodel")
        future, _ = _rewrite(bundle, tmp_path / "future.cullermodel", manifest | {"format": "v9"})
        with pytest.raises(ValueError) as unknown:
            import_model(other, future)
        assert str(unknown.value) == f"{future}: unknown bundle format 'v9'"
        damaged, _ = _rewrite(
            bundle, tmp_path / "damaged.cullermodel", manifest | {"weights_sha256": "0" * 64}
        )
        with pytest.raises(WeightsError) as bad:
            import_model(other, damaged)
        assert str(bad.value) == f"{damaged}: the head does not match its sha256 (damaged copy?)"
        # A safetensors file that is not a head, with its own correct sha256.
        from safetensors.torch import save_file

        plain = tmp_path / "plain.safetensors"
        save_file({"w": torch.zeros(2)}, str(plain))
        foreign, _ = _rewrite(
            bundle,
            tmp_path / "foreign.cullermodel",
            manifest | {"weights_sha256": sha256_file(plain)},
            plain.read_bytes(),
        )
        with pytest.raises(WeightsError, match="not a culler head file"):
            import_model(other, foreign)
        assert other.query("SELECT id FROM scorers") == []
        staging = models_dir() / "technical" / "personal" / "import.tmp"
        assert not staging.exists()
    finally:
        other.close()


def test_the_version_of_an_installed_scorer_is_the_installed_one(catalog, tmp_path):
    # The catalog's rows were made by an older version of the scorer (1); the installed one is 2.
    base = catalog.scorer_pk("technical", "1")
    head, sha = _head(tmp_path / "head.safetensors")
    pk = register_head(catalog, "technical", head)
    assert (_row(catalog, pk)["version"], _row(catalog, pk)["parent"]) == (
        f"4+personal-{sha[:8]}",
        base,
    )
