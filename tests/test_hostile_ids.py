"""Scorer ids from arguments and bundle manifests are validated before any path is made from them:
nothing is written or deleted outside culler's models folder, and the user gets one line, exit 1."""

import json
import zipfile

import pytest
from click.testing import CliRunner

from culler.catalog import open_catalog
from culler.cli import cli
from culler.models.weights import WeightsError, models_dir, scorer_dir

HOSTILE = ["..", "../..", "../../evil", "/absolute/path", "a/b", "", ".hidden", "x" * 65, "a\x00b"]


@pytest.mark.parametrize("scorer_id", HOSTILE)
def test_scorer_dir_refuses_ids_that_are_not_plain_names(scorer_id):
    with pytest.raises(WeightsError, match="not a valid scorer id"):
        scorer_dir(scorer_id)


def test_plain_and_personal_ids_are_folders_inside_the_models_folder():
    for scorer_id in ("technical", "clip-aesthetic", "saan_v2.1", "emotion+me"):
        assert scorer_dir(scorer_id).parent == models_dir().resolve()


@pytest.mark.parametrize("scorer_id", ["..", "../..", "ABSOLUTE"])
def test_models_remove_outside_the_models_folder_is_refused(scorer_id, tmp_path):
    home = models_dir().parent  # the test's own CULLER_HOME (conftest)
    (models_dir() / "technical").mkdir(parents=True)
    keep = home / "keep.txt"
    keep.write_text("the user's data")
    outside = tmp_path / "outside"  # an absolute path the test made, never a real folder
    outside.mkdir()
    (outside / "photo.jpg").write_bytes(b"keep me")
    scorer_id = str(outside) if scorer_id == "ABSOLUTE" else scorer_id
    result = CliRunner().invoke(cli, ["models", "remove", scorer_id, "--yes"])
    assert result.exit_code == 1
    assert "not a valid scorer id" in result.output
    assert "Traceback" not in result.output
    assert keep.read_text() == "the user's data" and (models_dir() / "technical").is_dir()
    assert (outside / "photo.jpg").read_bytes() == b"keep me"


def test_a_bundle_naming_a_path_as_its_scorer_writes_nothing_outside(tmp_path):
    bundle = tmp_path / "evil.zip"
    target = tmp_path / "outside"
    manifest = {
        "format": "culler-personal-model/1",
        "scorer_id": f"../../../../{target}",
        "weights_sha256": "0" * 64,
        "config": {},
        "version": "1+evil",
    }
    with zipfile.ZipFile(bundle, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        zf.writestr("head.safetensors", b"not really")
    db = tmp_path / "culler.db"
    open_catalog(db).close()
    result = CliRunner().invoke(cli, ["models", "import-personal", str(bundle), "--db", str(db)])
    assert result.exit_code == 1
    assert "not a valid scorer id" in result.output
    assert not target.exists()
    assert not any(p.name == "import.tmp" for p in tmp_path.rglob("*"))
