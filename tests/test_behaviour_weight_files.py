"""Weight files on disk, each promise pinned so that breaking it fails a test (culler/models/weights.py).

Where culler keeps models and what it says when it cannot; how a file is installed, recorded and
verified (hashed once per change, refused when it no longer matches); which safetensors headers are
refused, each at its exact limit; and what a checkpoint may hold. Every expected message is written
out here, from what a user needs to read: which file, what is wrong, what to do.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pytest
import torch

from culler.models import weights
from culler.models.weights import (
    MAX_HEADER_BYTES,
    EnabledWhenInstalled,
    WeightsError,
    WeightsMissing,
    WeightSpec,
    check_safetensors,
    culler_home,
    install_file,
    installed_path,
    load_state_dict,
    manifest,
    models_dir,
    resolve,
    scorer_dir,
    state_mismatch,
    writable_home,
)
from culler.testing import write_safetensors

DAMAGED = "the file is damaged or not weights — nothing was loaded"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- where models live, and what culler says when it cannot write there ----------------------------

FIX = "set CULLER_HOME to a folder you can write to"


def test_without_culler_home_models_live_in_the_platform_cache_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("CULLER_HOME")
    asked = []

    def cache_dir(name: str) -> str:
        asked.append(name)
        return str(tmp_path / "cache" / name)

    monkeypatch.setattr(weights.platformdirs, "user_cache_dir", cache_dir)
    assert culler_home() == tmp_path / "cache" / "culler"
    assert models_dir() == tmp_path / "cache" / "culler" / "models"
    assert writable_home() == tmp_path / "cache" / "culler"  # created, with its parents
    assert asked[0] == "culler"
    # Not set, so the message names the folder and says nothing of unsetting a variable.
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    monkeypatch.setattr(weights.platformdirs, "user_cache_dir", lambda name: str(a_file))
    with pytest.raises(WeightsError) as raised:
        writable_home()
    assert str(raised.value) == f"{a_file} is a file, not a folder; {FIX}"


def test_a_culler_home_that_is_a_file_or_under_one_is_refused_with_the_way_out(
    monkeypatch, tmp_path
):
    nested = tmp_path / "a" / "b" / "home"
    monkeypatch.setenv("CULLER_HOME", str(nested))
    assert writable_home() == nested and nested.is_dir()
    a_file = tmp_path / "file"
    a_file.write_text("not a folder")
    monkeypatch.setenv("CULLER_HOME", str(a_file))
    with pytest.raises(WeightsError) as raised:
        writable_home()
    assert str(raised.value) == f"CULLER_HOME={a_file} is a file, not a folder; {FIX} (or unset it)"
    below = a_file / "home"
    monkeypatch.setenv("CULLER_HOME", str(below))
    with pytest.raises(WeightsError) as raised:
        writable_home()
    assert str(raised.value) == (
        f"CULLER_HOME={below} cannot be created (Not a directory); {FIX} (or unset it)"
    )


def test_a_culler_home_culler_may_not_write_in_is_refused(monkeypatch, tmp_path):
    home = tmp_path / "home"
    monkeypatch.setenv("CULLER_HOME", str(home))
    asked = []

    def access(path, mode):  # stands in for a read-only folder (root may write anywhere)
        asked.append(mode)
        return mode != os.W_OK | os.X_OK

    monkeypatch.setattr(weights.os, "access", access)
    with pytest.raises(WeightsError) as raised:
        writable_home()
    assert str(raised.value) == f"CULLER_HOME={home} is not writable; {FIX} (or unset it)"
    assert asked == [os.W_OK | os.X_OK]


def test_scorer_ids_that_could_name_another_folder_are_refused(monkeypatch, tmp_path):
    for bad in ("a/b", "a..b", "..", "", "-x", 7):
        with pytest.raises(WeightsError) as raised:
            scorer_dir(bad)
        assert str(raised.value) == (
            f"{bad!r} is not a valid scorer id (letters, digits, '.', '_', '-', '+'; "
            "run `culler models list` to see the installed ones)"
        )
    root = models_dir()
    root.mkdir(parents=True)
    (root / "elsewhere").symlink_to(tmp_path)  # a folder link out of the models folder
    with pytest.raises(WeightsError) as raised:
        scorer_dir("elsewhere")
    assert str(raised.value) == f"scorer id 'elsewhere' resolves outside {root.resolve()}; refused"
    assert scorer_dir("clip-aesthetic+personal.1") == root / "clip-aesthetic+personal.1"


# -- installing, recording and verifying a file --------------------------------------------------


def test_an_installed_file_is_recorded_in_the_scorers_manifest(tmp_path):
    data = b"weights " * ((1 << 17) + 1)  # a little over 1 MiB: copied in more than one block
    src = tmp_path / "download.safetensors"
    src.write_bytes(data)
    dest = install_file("toy", "model.safetensors", src, _sha(data).upper())
    assert dest == scorer_dir("toy") / "model.safetensors" and dest.read_bytes() == data
    entry = manifest("toy")["model.safetensors"]
    installed = entry.pop("installed")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", installed)  # UTC, to the second
    assert entry == {
        "sha256": _sha(data),
        "size": len(data),
        "source": "import",
        "origin": str(src),
        "origin_sha256": _sha(data),
        "verified_stat": [dest.stat().st_size, dest.stat().st_mtime_ns],
    }
    # Sorted and indented: two installs of the same files write the same text.
    text = (scorer_dir("toy") / "manifest.json").read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True)
    assert sorted(p.name for p in scorer_dir("toy").iterdir()) == ["manifest.json", dest.name]


def test_a_file_that_does_not_match_its_published_sha256_is_not_installed(tmp_path):
    src = tmp_path / "download.safetensors"
    src.write_bytes(b"damaged")
    expected = _sha(b"what was published")
    with pytest.raises(WeightsError) as raised:
        install_file("toy", "model.safetensors", src, expected)
    assert str(raised.value) == (
        f"toy: model.safetensors does not match its published sha256 (expected {expected[:12]}…, "
        f"got {_sha(b'damaged')[:12]}…); nothing was installed — the download may be damaged or "
        "the file is not the one this scorer needs"
    )
    assert list(scorer_dir("toy").iterdir()) == []  # no partial file left either


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "a\\b", "a\x00b"])
def test_weight_file_names_are_plain_names(tmp_path, name):
    src = tmp_path / "file"
    src.write_bytes(b"x")
    with pytest.raises(WeightsError) as raised:
        install_file("toy", name, src)
    assert str(raised.value) == f"refusing weight file name {name!r}: it must be a plain file name"


def test_a_manifest_that_is_not_a_table_reads_as_empty():
    scorer_dir("toy").mkdir(parents=True)
    (scorer_dir("toy") / "manifest.json").write_text("[1, 2]")
    assert manifest("toy") == {}


SPEC = WeightSpec("model.safetensors", "", "")


def _placed(data: bytes) -> Path:
    """A file put into the scorer's folder by hand (no manifest entry)."""
    path = installed_path("toy", SPEC)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_a_missing_file_says_which_commands_install_it(tmp_path):
    with pytest.raises(WeightsMissing) as raised:
        resolve("toy", SPEC)
    assert raised.value.scorer_id == "toy"
    assert str(raised.value) == (
        "toy: weights not installed — run `culler models pull toy` "
        f"(or `culler models import toy FILE`); model.safetensors is not in {scorer_dir('toy')}"
    )
    assert str(WeightsMissing("toy")) == (
        "toy: weights not installed — run `culler models pull toy` "
        "(or `culler models import toy FILE`)"
    )


def test_without_pytorch_a_missing_file_points_at_the_full_install(monkeypatch):
    monkeypatch.setattr(weights, "torch_available", lambda: False)
    assert str(WeightsMissing("toy", "anything")) == (
        "toy: learned scorers need the full install of culler (this one has no PyTorch); the "
        "technical scorer works here — install culler with pip as the README says to use learned "
        "scorers"
    )


def test_a_file_is_hashed_once_per_change_and_refused_when_it_no_longer_matches(monkeypatch):
    data = b"weights " * 300
    path = _placed(data)
    spec = WeightSpec(SPEC.name, "", _sha(data))
    assert resolve("toy", spec) == path
    stat = path.stat()
    assert manifest("toy") == {
        SPEC.name: {
            "source": "unknown",
            "origin": str(path),
            "sha256": _sha(data),
            "size": len(data),
            "verified_stat": [stat.st_size, stat.st_mtime_ns],
        }
    }
    hashed = []
    real = weights.sha256_file
    monkeypatch.setattr(weights, "sha256_file", lambda p: hashed.append(p) or real(p))
    assert resolve("toy", spec) == path
    assert hashed == []  # unchanged since it was verified: not hashed again
    path.write_bytes(data.replace(b"w", b"W", 1))  # same size, new content and mtime
    with pytest.raises(WeightsError) as raised:
        resolve("toy", spec)
    got = _sha(path.read_bytes())
    assert str(raised.value) == (
        f"toy: {path} does not match its sha256 (expected {_sha(data)[:12]}…, got {got[:12]}…); "
        "reinstall it with `culler models pull toy` or `culler models import toy FILE`"
    )
    assert hashed == [path]


def test_a_file_with_no_published_sha256_is_accepted_and_recorded():
    path = _placed(b"anything")
    assert resolve("toy", SPEC) == path
    assert manifest("toy")[SPEC.name]["sha256"] == _sha(b"anything")


def test_a_converted_import_is_checked_against_the_manifest_not_the_published_sha256(tmp_path):
    converted = tmp_path / "converted.safetensors"
    converted.write_bytes(b"converted weights")
    install_file("toy", SPEC.name, converted, origin_sha256=_sha(b"the user's file"))
    spec = WeightSpec(SPEC.name, "", _sha(b"the published original"))
    assert resolve("toy", spec) == installed_path("toy", spec)
    assert manifest("toy")[SPEC.name]["origin_sha256"] == _sha(b"the user's file")


def test_a_scorer_enabled_once_its_file_is_installed():
    class Imported:
        id = "toy"
        default_enabled = EnabledWhenInstalled("a.npz", "b.npz")

    assert Imported.default_enabled is False
    scorer_dir("toy").mkdir(parents=True)
    (scorer_dir("toy") / "b.npz").write_bytes(b"x")
    assert Imported.default_enabled is True


# -- safetensors headers, each limit exactly ------------------------------------------------------


def _f32(*offsets_by_name: tuple[str, list[int], list]) -> dict:
    return {
        name: {"dtype": "F32", "shape": shape, "data_offsets": offsets}
        for name, shape, offsets in offsets_by_name
    }


def _refused(path: Path) -> str:
    with pytest.raises(WeightsError) as raised:
        check_safetensors(path)
    return str(raised.value)


def test_the_header_length_must_fit_the_file(tmp_path):
    empty = write_safetensors(tmp_path / "empty.safetensors", "{}")  # 2 bytes: the least
    check_safetensors(empty)
    claims = write_safetensors(tmp_path / "claims.safetensors", "{}", claimed=3)
    assert _refused(claims) == (
        f"claims.safetensors: safetensors header claims 3 bytes, but the file has 10; {DAMAGED}"
    )
    short = tmp_path / "short.safetensors"
    short.write_bytes(b"\x02\x00\x00")
    assert _refused(short) == (
        f"short.safetensors: safetensors header claims 0 bytes, but the file has 3; {DAMAGED}"
    )
    huge = write_safetensors(tmp_path / "huge.safetensors", "{}", claimed=2**63 + 2)
    assert _refused(huge) == (
        f"huge.safetensors: safetensors header claims {2**63 + 2} bytes, but the file has 10; "
        f"{DAMAGED}"
    )


def test_a_header_up_to_16_mb_is_read_and_a_larger_one_refused(tmp_path):
    at_limit = "{" + " " * (MAX_HEADER_BYTES - 2) + "}"
    check_safetensors(write_safetensors(tmp_path / "at.safetensors", at_limit))
    over = write_safetensors(tmp_path / "over.safetensors", at_limit + " ")
    assert _refused(over) == (
        "over.safetensors: safetensors header of 16 MB is larger than any weights' (limit 16 MB); "
        "the file is not weights culler uses — nothing was loaded"
    )


def test_a_header_that_is_not_a_table_of_tensors_is_refused(tmp_path):
    assert _refused(write_safetensors(tmp_path / "list.safetensors", "[]")) == (
        "list.safetensors: safetensors header is not a table of tensors"
    )
    assert _refused(write_safetensors(tmp_path / "text.safetensors", "{x")).startswith(
        "text.safetensors: safetensors header is not JSON ("
    )


def test_more_tensors_than_the_limit_are_refused(monkeypatch, tmp_path):
    monkeypatch.setattr(weights, "MAX_TENSORS", 2)
    two = _f32(("a", [1], [0, 4]), ("b", [1], [4, 8]))
    check_safetensors(
        write_safetensors(
            tmp_path / "two.safetensors", {**two, "__metadata__": {"x": "y"}}, b"\0" * 8
        )
    )
    three = {**two, "c": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}
    refused = write_safetensors(tmp_path / "three.safetensors", three, b"\0" * 12)
    assert _refused(refused) == (
        f"three.safetensors: 3 tensors is more than culler loads (2); {DAMAGED}"
    )


@pytest.mark.parametrize(
    "entry, problem",
    [
        ("F32", "is not described by a table"),
        ({"dtype": "F128", "shape": [1], "data_offsets": [0, 4]}, "has an unknown dtype 'F128'"),
        (
            {"dtype": "F" * 30, "shape": [1], "data_offsets": [0, 4]},
            f"has an unknown dtype {'F' * 20!r}",
        ),
        ({"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}, "has an invalid shape"),
        ({"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}, "has an invalid shape"),
        ({"dtype": "F32", "shape": [2**48], "data_offsets": [0, 4]}, "has an invalid shape"),
        ({"dtype": "F32", "shape": "2", "data_offsets": [0, 4]}, "has an invalid shape"),
        (
            {"dtype": "F32", "shape": [2], "data_offsets": [0, 17]},
            "lies outside the file's 16 data bytes",
        ),
        (
            {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]},
            "lies outside the file's 16 data bytes",
        ),
        (
            {"dtype": "F32", "shape": [2], "data_offsets": [0.0, 8.0]},
            "lies outside the file's 16 data bytes",
        ),
        (
            {"dtype": "F32", "shape": [2], "data_offsets": [0, 8, 8]},
            "lies outside the file's 16 data bytes",
        ),
        (
            {"dtype": "F32", "shape": [2], "data_offsets": {"0": 8}},
            "lies outside the file's 16 data bytes",
        ),
        (
            {"dtype": "F32", "shape": [3], "data_offsets": [4, 12]},
            "has 8 bytes for a shape of 3 elements",
        ),
    ],
)
def test_each_tensor_must_have_a_known_dtype_a_valid_shape_and_its_bytes_in_the_file(
    tmp_path, entry, problem
):
    header = {"ok": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}, "t": entry}
    path = write_safetensors(tmp_path / "t.safetensors", header, b"\0" * 16)
    assert _refused(path) == f"t.safetensors: tensor 't' {problem}; {DAMAGED}"


def test_tensors_right_up_to_the_end_of_the_data_and_empty_ones_are_accepted(tmp_path):
    header = _f32(("a", [2], [0, 8]), ("b", [0], [8, 8]), ("c", [2], [8, 16]))
    check_safetensors(write_safetensors(tmp_path / "ok.safetensors", header, b"\0" * 16))
    long_name = {"n" * 100: {"dtype": "F32", "shape": [1], "data_offsets": [0, 8]}}
    path = write_safetensors(tmp_path / "long.safetensors", long_name, b"\0" * 8)
    assert _refused(path) == (
        f"long.safetensors: tensor {'n' * 80!r} has 8 bytes for a shape of 1 elements; {DAMAGED}"
    )


# -- what a checkpoint may hold -------------------------------------------------------------------


def test_a_checkpoint_is_checked_against_its_sha256_in_either_case(tmp_path):
    path = tmp_path / "w.pt"
    torch.save({"w": torch.ones(2)}, path)
    sha = weights.sha256_file(path)
    assert list(load_state_dict(path, sha.upper())) == ["w"]
    wrong = _sha(b"another file")
    with pytest.raises(WeightsError) as raised:
        load_state_dict(path, wrong)
    assert (
        str(raised.value) == f"{path} does not match its sha256 {wrong[:12]}…; refusing to load it"
    )


def test_a_checkpoint_is_loaded_as_weights_only_onto_the_cpu(tmp_path, monkeypatch):
    """``weights_only=True`` is what keeps a checkpoint from running code (older torch defaults to
    False); ``map_location="cpu"`` lets a checkpoint saved on a GPU load on a machine without one."""
    path = tmp_path / "w.pt"
    torch.save({"w": torch.ones(2)}, path)
    calls = []
    real = torch.load

    def load(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, "load", load)
    load_state_dict(path)
    assert calls == [{"map_location": "cpu", "weights_only": True}]


def test_a_training_checkpoint_gives_its_state_dict_and_anything_else_is_refused(tmp_path):
    path = tmp_path / "run.pt"
    torch.save({"state_dict": {"w": torch.ones(2)}, "epoch": 3}, path)
    assert list(load_state_dict(path)) == ["w"]
    torch.save([torch.ones(2)], path)
    with pytest.raises(WeightsError) as raised:
        load_state_dict(path)
    assert str(raised.value) == f"{path} holds a list, not a dict of tensors"


def test_a_safetensors_file_safetensors_itself_refuses_is_a_weights_error(tmp_path):
    overlapping = _f32(("a", [2], [0, 8]), ("b", [2], [0, 8]))
    path = write_safetensors(tmp_path / "overlap.safetensors", overlapping, b"\0" * 8)
    with pytest.raises(WeightsError) as raised:
        load_state_dict(path)
    assert str(raised.value).startswith(f"{path} is not a valid safetensors file: ")


def test_a_state_that_does_not_fit_the_model_says_what_differs_by_example():
    def shapes(**named: tuple[int, ...]) -> dict:
        return {name: torch.zeros(shape) for name, shape in named.items()}

    expected = shapes(a=(2,), a2=(2,), b=(3,), c=(4,), c2=(4,))
    state = shapes(b=(3,), c=(5,), c2=(6,), d=(1,), e=(1,))
    assert state_mismatch(state, expected) == (
        "2 tensors missing, e.g. a; 2 unexpected, e.g. d; 2 of another shape, e.g. c (5,) ≠ (4,)"
    )
    assert state_mismatch(shapes(b=(3,)), shapes(b=(3,))) == ""
