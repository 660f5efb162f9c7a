"""Reliability, round three (issue #31): what a red team broke, each reproduced the way they did it and
pinned so that breaking it again fails here.

Nothing a user made is overwritten (``models export -o``, a photo folded by ``export --move``, read-only
and symlinked sidecars); no decompression bomb outside ``.zip``/``.tar`` reaches memory (bundles,
``.npz``, zip checkpoints — the bundle under a real memory limit in a child process); bundles are checked
against what the named scorer loads; FIFOs never hang a command; damaged label files, manifests, split
files and model cards give one line that names the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from culler_trainer.registry import BUNDLE_FORMAT, register_head

from culler.catalog import open_catalog
from culler.interop.xmp import SidecarData, XmpError, read_sidecar, write_sidecar
from culler.models.personal_heads import build_head, save_head
from culler.models.weights import WeightsError, load_state_dict, scorer_dir
from culler.testing import run_culler, scan_into, write_photos, write_safetensors, write_zip_bomb


def one_error(output: str) -> str:
    """The single ``Error:`` line of a failed command (and no traceback anywhere)."""
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, output
    return errors[0]


def _head(path: Path, in_dim: int = 8, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    save_head(build_head("linear", in_dim), path)
    return path


def _personal(db: Path, scorer_id: str, head: Path, base_config: dict | None = None) -> Path:
    """A catalog at ``db`` whose active ``scorer_id`` version is a personal head; the installed head."""
    with open_catalog(db) as catalog:
        if base_config is not None:
            catalog.scorer_pk(scorer_id, "1", "", base_config)
        register_head(catalog, scorer_id, head)
        return Path(catalog.active_scorer(scorer_id)["config"]["head_file"])


def _bundle(path: Path, manifest, head: bytes = b"") -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(
            "manifest.json", manifest if isinstance(manifest, str) else json.dumps(manifest)
        )
        zf.writestr("head.safetensors", head)
    return path


# -- 2. models export -o never overwrites what culler did not make ------------------------------------
def test_models_export_refuses_an_existing_file_even_the_catalog_itself(tmp_path, culler_cli):
    db = tmp_path / "culler.db"
    installed = _personal(db, "technical", _head(tmp_path / "h.safetensors"))
    catalog_bytes, head_bytes = db.read_bytes(), installed.read_bytes()
    for target in (db, installed):
        line = one_error(
            culler_cli("models", "export", "technical", "-o", target, "--db", db, expect=1).output
        )
        assert "already exists" in line and "nothing was written" in line
    # --force replaces only an earlier bundle, never a catalog or a head file.
    for target in (db, installed):
        line = one_error(
            culler_cli(
                "models", "export", "technical", "-o", target, "--db", db, "--force", expect=1
            ).output
        )
        assert "is not a culler model bundle" in line
    assert db.read_bytes() == catalog_bytes and installed.read_bytes() == head_bytes
    bundle = tmp_path / "taste.cullermodel"
    culler_cli("models", "export", "technical", "-o", bundle, "--db", db)
    first = bundle.read_bytes()
    one_error(
        culler_cli("models", "export", "technical", "-o", bundle, "--db", db, expect=1).output
    )
    culler_cli("models", "export", "technical", "-o", bundle, "--db", db, "--force")
    with zipfile.ZipFile(bundle) as zf:
        assert set(zf.namelist()) == {"manifest.json", "head.safetensors"}
    assert len(bundle.read_bytes()) == len(first)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_models_export_of_another_scorers_version_id_is_refused(tmp_path, culler_cli):
    db = tmp_path / "culler.db"
    _personal(db, "technical", _head(tmp_path / "h.safetensors"))
    with open_catalog(db) as catalog:
        pk = catalog.active_scorer("technical")["id"]
    out = tmp_path / "x.cullermodel"
    result = culler_cli(
        "models", "export", "colourfulness", "-o", out, "--version-id", pk, "--db", db, expect=1
    )
    line = one_error(result.output)
    assert f"#{pk} belongs to technical, not colourfulness" in line
    assert not out.exists()


# -- 3. export --move never folds away another photo's history ---------------------------------------
def test_a_move_onto_the_name_of_another_rated_photo_keeps_both_histories(tmp_path, culler_cli):
    ph = tmp_path / "ph"
    [first, *_] = write_photos(ph, 2)
    (ph / "sub").mkdir()
    twin = ph / "sub" / first.name
    twin.write_bytes(first.read_bytes())
    db = ph / "culler.db"
    catalog, _ = scan_into(db, ph, ["technical"])
    catalog.close()
    culler_cli("rate", first, "--pick", "--stars", "5", "--db", db)
    culler_cli("rate", twin, "--pick", "--stars", "1", "--db", db)
    culler_cli("export", "picks", ph, "--move", "--db", db)
    with open_catalog(db) as catalog:
        rows = {
            Path(r["path"]).name: r["id"]
            for r in catalog.query("SELECT id, path FROM photos WHERE status = 'ok'")
        }
        stars = {
            name: catalog.current_rating(pk)["stars"]
            for name, pk in rows.items()
            if name.startswith(first.stem)
        }
    # Both photos are still there, each with its own history: the twin went to a -1 name.
    assert stars == {first.name: 5, f"{first.stem}-1{first.suffix}": 1}
    assert (ph / f"{first.stem}-1{first.suffix}").read_bytes() == first.read_bytes()
    assert not twin.exists()


# -- 4. sidecars the user protected ------------------------------------------------------------------
def test_a_read_only_sidecar_is_left_as_it_is(tmp_path):
    sidecar = tmp_path / "IMG_1.xmp"
    write_sidecar(sidecar, SidecarData(rating=2))
    sidecar.chmod(0o444)
    before = sidecar.read_bytes()
    with pytest.raises(XmpError, match="is read-only; left untouched"):
        write_sidecar(sidecar, SidecarData(rating=5))
    assert sidecar.read_bytes() == before and (sidecar.stat().st_mode & 0o777) == 0o444
    # Nothing to change: no complaint either.
    assert write_sidecar(sidecar, SidecarData(rating=2)) is False


def test_a_symlinked_sidecar_is_updated_where_it_points_and_stays_a_link(tmp_path):
    shared = tmp_path / "library" / "IMG_1.xmp"
    shared.parent.mkdir()
    write_sidecar(shared, SidecarData(rating=2))
    link = tmp_path / "shoot" / "IMG_1.xmp"
    link.parent.mkdir()
    link.symlink_to(shared)
    assert write_sidecar(link, SidecarData(rating=4)) is True
    assert link.is_symlink() and os.readlink(link) == str(shared)
    assert read_sidecar(shared).rating == 4
    assert not [p for p in link.parent.iterdir() if p.name.startswith(".culler-")]
    dangling = tmp_path / "shoot" / "IMG_2.xmp"
    dangling.symlink_to(tmp_path / "nowhere.xmp")
    with pytest.raises(XmpError, match="does not exist; left untouched"):
        write_sidecar(dangling, SidecarData(rating=1))
    assert dangling.is_symlink() and not (tmp_path / "nowhere.xmp").exists()


# -- 5. bombs outside .zip/.tar ----------------------------------------------------------------------


def _limited(memory: int) -> callable:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))

    return limit


def test_a_bundle_bomb_is_refused_under_a_memory_limit(tmp_path):
    """A 1 GB head.safetensors deflated to ~1 MB; the import runs in a child whose data may not
    grow past 1.5 GB (torch alone takes about 0.8 GB), as the red team ran it: the old code read the
    member whole and ended in a MemoryError traceback."""
    manifest = {
        "format": BUNDLE_FORMAT,
        "scorer_id": "technical",
        "version": "2+personal-00000000",
        "weights_sha256": "0" * 64,
        "config": {},
    }
    bomb = write_zip_bomb(
        tmp_path / "bomb.cullermodel",
        {"manifest.json": json.dumps(manifest).encode(), "head.safetensors": 1 << 30},
    )
    assert bomb.stat().st_size < 8 << 20  # deflated: about a thousandth
    db = tmp_path / "culler.db"
    open_catalog(db).close()
    home = tmp_path / "home"
    result = subprocess.run(
        [sys.executable, "-m", "culler", "models", "import-personal", str(bomb), "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "CULLER_HOME": str(home)},
        preexec_fn=_limited(1536 << 20),
    )
    assert result.returncode == 1, result.stderr
    line = one_error(result.stderr)
    assert "bomb.cullermodel" in line and "decompression bomb" in line
    assert "MemoryError" not in result.stderr
    assert not [p for p in home.rglob("*") if p.is_file()]


def test_an_npz_bomb_is_refused_before_numpy_inflates_it(tmp_path, culler_cli, monkeypatch):
    monkeypatch.setattr("culler.models.weights.ZIP_MIN_ALLOWANCE", 4 << 20)
    bomb = write_zip_bomb(tmp_path / "charlenet.npz", {"conv1/0.npy": 64 << 20})
    inflated = []
    monkeypatch.setattr(np, "load", lambda *a, **k: inflated.append(a) or pytest.fail("loaded"))
    line = one_error(culler_cli("models", "import", "charlenet", bomb, expect=1).output)
    assert "charlenet.npz" in line and "decompression bomb" in line
    assert not inflated


def test_a_deflated_zip_checkpoint_bomb_is_refused_before_torch_reads_it(tmp_path, monkeypatch):
    monkeypatch.setattr("culler.models.weights.ZIP_MIN_ALLOWANCE", 4 << 20)
    bomb = write_zip_bomb(
        tmp_path / "model.pth", {"archive/data/0": 64 << 20, "archive/data.pkl": b""}
    )
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load reached"))
    with pytest.raises(WeightsError, match=r"model\.pth: unpacks to more than 4 MB"):
        load_state_dict(bomb)


def test_a_safetensors_file_whose_header_is_not_json_from_the_first_byte_is_refused(tmp_path):
    """`torch.load` would hand a `.safetensors` to safetensors by its name, past culler's check."""
    bad = write_safetensors(tmp_path / "model.safetensors", b" " * 4 + b"[1, 2]", b"\0" * 16)
    with pytest.raises(WeightsError, match="model.safetensors"):
        load_state_dict(bad)


# -- 6. bundles are checked against the scorer they name ---------------------------------------------
def _import(culler_cli, bundle: Path, db: Path):
    if not db.exists():
        open_catalog(db).close()
    return culler_cli("models", "import-personal", bundle, "--db", db, expect=None)


def _active_versions(db: Path) -> list[str]:
    with open_catalog(db) as catalog:
        return [r["version"] for r in catalog.query("SELECT version FROM scorers WHERE active")]


def test_a_bundle_for_an_unknown_scorer_or_naming_a_file_is_refused(tmp_path, culler_cli):
    head = _head(tmp_path / "h.safetensors").read_bytes()
    sha = hashlib.sha256(head).hexdigest()
    good = {"format": BUNDLE_FORMAT, "version": "2+personal-x", "weights_sha256": sha}
    db = tmp_path / "other.db"
    unknown = _bundle(
        tmp_path / "u.cullermodel", good | {"scorer_id": "nobody", "config": {}}, head
    )
    result = _import(culler_cli, unknown, db)
    assert result.exit_code == 1
    assert "no scorer called 'nobody'" in one_error(result.output)
    pretrained = _bundle(
        tmp_path / "p.cullermodel",
        good | {"scorer_id": "technical", "config": {"pretrained": str(tmp_path / "evil.pt")}},
        head,
    )
    result = _import(culler_cli, pretrained, db)
    assert result.exit_code == 1 and "names a file" in one_error(result.output)
    assert _active_versions(db) == []
    assert not (scorer_dir("technical") / "personal").exists()


def test_a_bundle_whose_head_does_not_fit_the_scorer_is_refused_before_install(
    tmp_path, culler_cli
):
    """clip-aesthetic with an 8-dimensional head (its backbone gives 768): imported and activated
    before; now the scorer loads it first and refuses it, and nothing is installed."""
    from culler_plugins.clip.testing import TINY_SCORER_CONFIG, install_tiny_backbone

    install_tiny_backbone("clip-aesthetic", tmp_path)
    db = tmp_path / "a.db"
    _personal(db, "clip-aesthetic", _head(tmp_path / "h.safetensors"), dict(TINY_SCORER_CONFIG))
    bundle = tmp_path / "clip.cullermodel"
    culler_cli("models", "export", "clip-aesthetic", "-o", bundle, "--db", db)
    installed = sorted((scorer_dir("clip-aesthetic") / "personal").iterdir())
    result = _import(culler_cli, bundle, tmp_path / "b.db")
    assert result.exit_code == 1
    line = one_error(result.output)
    assert "clip-aesthetic cannot use this personal model" in line and "768" in line
    assert _active_versions(tmp_path / "b.db") == []
    assert sorted((scorer_dir("clip-aesthetic") / "personal").iterdir()) == installed
    # A head of the right width that claims a fine-tuned backbone it does not carry.
    head = _head(tmp_path / "wide.safetensors", in_dim=768).read_bytes()
    manifest = {
        "format": BUNDLE_FORMAT,
        "scorer_id": "clip-aesthetic",
        "version": "1+personal-x",
        "weights_sha256": hashlib.sha256(head).hexdigest(),
        "config": {**TINY_SCORER_CONFIG, "backbone_tuned": True},
    }
    tuned = _bundle(tmp_path / "tuned.cullermodel", manifest, head)
    result = _import(culler_cli, tuned, tmp_path / "b.db")
    assert result.exit_code == 1
    assert "clip-aesthetic cannot use this personal model" in one_error(result.output)
    assert _active_versions(tmp_path / "b.db") == []
    # The same head without the false claim imports and becomes the active version.
    honest = _bundle(
        tmp_path / "honest.cullermodel", manifest | {"config": TINY_SCORER_CONFIG}, head
    )
    assert _import(culler_cli, honest, tmp_path / "b.db").exit_code == 0
    [active] = _active_versions(tmp_path / "b.db")
    assert active.endswith(f"+personal-{manifest['weights_sha256'][:8]}")


@pytest.mark.parametrize(
    "manifest, words",
    [
        ("[1, 2]", "holds a list, not a table"),
        ("not json", "is not valid JSON"),
        ({"format": BUNDLE_FORMAT, "version": "1", "config": {}}, "'scorer_id' is missing"),
        (
            {"format": BUNDLE_FORMAT, "scorer_id": "technical", "version": "1", "config": {}},
            "'weights_sha256' is missing",
        ),
        (
            {
                "format": BUNDLE_FORMAT,
                "scorer_id": "technical",
                "version": "1",
                "weights_sha256": "0" * 64,
                "config": [1],
            },
            "'config' is a list, not a dict",
        ),
    ],
)
def test_a_damaged_manifest_is_one_line_naming_the_bundle(tmp_path, culler_cli, manifest, words):
    bundle = _bundle(tmp_path / "m.cullermodel", manifest, b"head")
    result = _import(culler_cli, bundle, tmp_path / "c.db")
    assert result.exit_code == 1
    line = one_error(result.output)
    assert "m.cullermodel" in line and words in line


# -- 8. FIFOs never hang a command -------------------------------------------------------------------
@pytest.mark.parametrize("option", ["--csv", "--ava", "--split", "import-personal"])
def test_a_fifo_given_to_evaluate_or_import_personal_is_refused_at_once(tmp_path, option):
    fifo = tmp_path / "labels.csv"
    os.mkfifo(fifo)
    photos = tmp_path / "photos"
    write_photos(photos, 1)
    labels = tmp_path / "real.csv"
    labels.write_text("image,score\n" + "".join(f"{p.name},5\n" for p in photos.iterdir()))
    if option == "import-personal":
        db = tmp_path / "c.db"
        open_catalog(db).close()
        args = ["models", "import-personal", fifo, "--db", db]
    elif option == "--split":
        args = ["evaluate", "technical", "--csv", labels, "--images", photos, "--split", fifo]
    else:
        args = ["evaluate", "technical", option, fifo, "--images", photos]
    # A hang would fail here after the timeout instead of blocking the test run.
    result = run_culler(*args, home=tmp_path / "home", timeout=60)
    assert result.returncode == 1
    line = one_error(result.stderr)
    assert "labels.csv" in line and "named pipe (FIFO)" in line


def test_ray_ship_bytes_refuses_a_fifo_instead_of_blocking_the_driver(tmp_path):
    from culler.safe_files import RefusedFile
    from culler.scan.distributed.ray_backend import _read

    fifo = tmp_path / "b.jpg"
    os.mkfifo(fifo)
    outcome: list[BaseException | tuple] = []

    def read() -> None:
        try:
            outcome.append(_read(str(fifo)))
        except BaseException as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(30)
    if reader.is_alive():  # unblock the old, blocking open() so the test run can go on
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("reading a FIFO blocked the driver")
    [result] = outcome
    assert isinstance(result, RefusedFile) and "named pipe" in str(result)


# -- 11, 12, 13. evaluate's labelled sets ------------------------------------------------------------
@pytest.fixture
def labelled(tmp_path):
    """Three real photos and a writer of label CSVs beside them."""
    folder = tmp_path / "set"
    names = [p.name for p in write_photos(folder, 3)]

    def write(text: str, name: str = "labels.csv", encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_text(text.format(*names), encoding=encoding)
        return path

    write.folder = folder
    write.names = names
    return write


def _evaluate(culler_cli, csv_path: Path, folder: Path, *extra):
    return culler_cli(
        "evaluate", "technical", "--csv", csv_path, "--images", folder, *extra, expect=None
    )


@pytest.mark.parametrize(
    "text, words",
    [
        (
            "image,score\n{0},7\n{1},nan\n{2},3\n",
            "labels.csv:3: 'score' 'nan' is not a finite number",
        ),
        ("image,score\n{0},7\n{1},inf\n{2},3\n", "labels.csv:3: 'score' 'inf' is not a finite"),
        ("image,score\n{0},7\n{1},-Infinity\n{2},3\n", "labels.csv:3: 'score' '-Infinity'"),
        ("image,score\n{0},7\n{1}\n{2},3\n", None),  # a short row: that photo has no score
        ('image,score\n{0},7\n{1},"' + "x" * (200 << 10) + '"\n', "labels.csv:3: 'score' 'xxx"),
        ("image,rating\n{0},7\n{1},3\n", "has no 'score' column (columns: image, rating)"),
        ("image,score,class\n{0},7,1\n{1},3,7\n", "labels.csv:3: class '7' is not one of 0…2"),
        ("image,score,class\n{0},7,1\n{1},3,-1\n", "labels.csv:3: class '-1' is not one of"),
        ("image,score\n{0},7\n,3\n", "labels.csv:3: no 'image' value"),
        ("score,image\n7,{0}\n3\n", "labels.csv:3: no 'image' value"),  # short: no image
    ],
)
def test_a_damaged_label_csv_is_one_line_naming_the_file_and_row(labelled, culler_cli, text, words):
    result = _evaluate(culler_cli, labelled(text), labelled.folder)
    if words is None:
        assert result.exit_code == 0, result.output
        assert "NaN" not in result.output
        return
    assert result.exit_code == 1
    assert words in one_error(result.output)


def test_a_csv_saved_by_excel_with_a_byte_order_mark_is_read(labelled, culler_cli):
    path = labelled("image,score\n{0},7\n{1},3\n{2},5\n", encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    result = _evaluate(culler_cli, path, labelled.folder, "--json")
    assert result.exit_code == 0, result.output
    evaluation = json.loads(result.output)
    assert evaluation["n"] == 3 and set(evaluation["metrics"]) >= {"plcc", "srcc", "mse"}


def test_evaluate_json_is_strict_json_and_so_is_the_card(labelled, culler_cli):
    result = _evaluate(
        culler_cli, labelled("image,score\n{0},5\n{1},5\n{2},5\n"), labelled.folder, "--json"
    )
    assert result.exit_code == 0, result.output
    evaluation = json.loads(result.output, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert "mse" in evaluation["metrics"]
    json.loads(Path(evaluation["card"]).read_text(), parse_constant=lambda c: pytest.fail(c))


def test_figures_that_are_not_numbers_are_left_out_of_an_evaluation(monkeypatch):
    from culler_trainer import evaluate as evaluation

    from culler.api import ScoreResult

    labelled_set = evaluation.LabelledSet(
        "set", "all", [evaluation.data.Sample(key=str(i), score=5.0) for i in range(3)]
    )
    monkeypatch.setattr(
        evaluation, "score_photos", lambda *_: [ScoreResult(score=5.0) for _ in range(3)]
    )
    monkeypatch.setattr(
        evaluation, "measure", lambda *_: {"plcc": float("nan"), "mse": 0.0, "emd": float("inf")}
    )
    assert evaluation.evaluate(object(), labelled_set)["metrics"] == {"mse": 0.0}
    monkeypatch.setattr(evaluation, "measure", lambda *_: {"plcc": float("nan")})
    with pytest.raises(ValueError, match="nothing could be measured on set"):
        evaluation.evaluate(object(), labelled_set)


def test_an_image_column_that_names_no_image_says_so(labelled, culler_cli):
    path = labelled("image,score\n{0},7\n{1},3\n")
    line = one_error(_evaluate(culler_cli, path, labelled.folder, "--image-column", "score").output)
    assert "--image-column 'score' is a label column" in line and "vanished" not in line
    path = labelled("image,score\nnope-1.jpg,7\nnope-2.jpg,3\n", name="swapped.csv")
    line = one_error(_evaluate(culler_cli, path, labelled.folder).output)
    assert "none of the 2 images swapped names (column 'image', e.g. 'nope-1.jpg')" in line
    assert "check --image-column" in line


@pytest.mark.parametrize(
    "content, words",
    [
        ("not json", "is not a split.json (Expecting value"),
        ("[1, 2]", "has no list of 'val' photos"),
        ("42", "has no list of 'val' photos"),
        ('{"val": 3}', "has no list of 'val' photos"),
    ],
)
def test_a_bad_split_file_names_itself(labelled, culler_cli, tmp_path, content, words):
    split = tmp_path / "split.json"
    split.write_text(content)
    path = labelled("image,score\n{0},7\n{1},3\n")
    line = one_error(_evaluate(culler_cli, path, labelled.folder, "--split", split).output)
    assert f"--split {split}" in line and words in line


def _card_folder() -> Path:
    folder = scorer_dir("technical") / "cards"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize(
    "card",
    [
        "{not json",
        "[1, 2, 3]",
        '{"version": "2"}',
        '{"version": "2", "evaluations": [{"dataset": "x"}]}',
        '{"version": "2", "evaluations": [{"dataset": "x", "split": "all", "n": 2, '
        '"metrics": {"plcc": NaN}}]}',
    ],
)
def test_a_damaged_model_card_breaks_neither_models_list_nor_evaluate(labelled, culler_cli, card):
    from culler_plugins.technical import TechnicalScorer

    damaged = _card_folder() / f"{TechnicalScorer.version}-noweights.json"
    damaged.write_text(card)
    for args in (("models", "list"), ("models", "list", "--json")):
        result = culler_cli(*args, expect=None)
        assert result.exit_code == 0, result.output
        assert "Traceback" not in result.output
    path = labelled("image,score\n{0},7\n{1},3\n{2},5\n")
    result = _evaluate(culler_cli, path, labelled.folder, "--json")
    assert result.exit_code == 0, result.output
    written = json.loads(Path(json.loads(result.output)["card"]).read_text())
    assert [e["dataset"] for e in written["evaluations"]] == ["labels"]
    if not card.startswith('{"version": "2", "evaluations": [{"dataset": "x"'):
        # A card that could not be read at all is kept beside the new one, not lost.
        assert (damaged.parent / f"{damaged.name}.damaged").read_text() == card


# -- 10, 13. full disk, broken pipe, words ------------------------------------------------------------
def test_a_disk_io_error_is_one_line_naming_the_catalog(tmp_path, culler_cli, monkeypatch):
    import sqlite3

    db = tmp_path / "culler.db"
    catalog, _ = scan_into(db, _photos(tmp_path), ["technical"])
    catalog.close()

    def full(*_args, **_kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr("culler.catalog.queries.iter_photos", full)  # what `list` reads through
    line = one_error(culler_cli("list", "--db", db, expect=1).output)
    assert str(db) in line and "disk I/O error" in line and "free some space" in line


def _photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    write_photos(folder, 2)
    return folder


def test_a_pipe_closed_by_its_reader_ends_the_command_quietly(tmp_path):
    db = tmp_path / "culler.db"
    catalog, _ = scan_into(db, _photos(tmp_path), ["technical"])
    catalog.close()
    env = {**os.environ, "CULLER_HOME": str(tmp_path / "home")}
    # `culler list --json | head -c 1`: the reader goes away after one byte.
    culler = subprocess.Popen(
        [sys.executable, "-m", "culler", "list", "--json", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert culler.stdout.read(1) == b"["
    culler.stdout.close()
    _, err = culler.communicate(timeout=60)
    assert b"Broken pipe" not in err and b"Traceback" not in err


def test_a_folder_deeper_than_path_max_is_named_not_skipped_in_silence(tmp_path, culler_cli):
    root = tmp_path / "shoot"
    write_photos(root, 1)
    deep = root
    # mkdir relative to an open folder: each step is short, the whole path is longer than PATH_MAX.
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(24):
            os.mkdir("d" * 200, dir_fd=fd)
            new = os.open("d" * 200, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = new
            deep = deep / ("d" * 200)
    finally:
        os.close(fd)
    result = culler_cli("scan", root, "--scorer", "technical", "--workers", "0", expect=None)
    assert result.exit_code == 0, result.output
    assert "longer than this system allows" in result.output
    assert "move the folder up or shorten its names" in result.output


def test_a_decode_server_that_stopped_answering_is_explained(tmp_path, culler_cli, monkeypatch):
    """The fork server killed with its workers surfaced as "Error: a file: Connection refused"."""
    import errno

    def refused(*_args, **_kwargs):
        raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")

    monkeypatch.setattr("culler.scan.scan_folders", refused)
    result = culler_cli("scan", _photos(tmp_path), "--scorer", "technical", expect=1)
    line = one_error(result.output)
    assert "decode server stopped answering" in line and "--workers 0" in line
    assert "a file" not in line


def test_export_picks_prints_file_names_escaped_like_every_other_command(tmp_path, culler_cli):
    folder = _photos(tmp_path)
    hostile = folder / "red\x1b[31mALERT.jpg"
    sorted(folder.glob("*.jpg"))[0].rename(hostile)
    db = tmp_path / "culler.db"
    catalog, _ = scan_into(db, folder, ["technical"])
    catalog.close()
    culler_cli("rate", hostile, "--pick", "--db", db)
    for args in ((), ("--dry-run",), ("--move",)):
        result = culler_cli("export", "picks", tmp_path / "out", "--db", db, *args)
        assert "\x1b" not in result.output
        assert "red\\x1b[31mALERT.jpg" in result.output
