"""`culler evaluate SCORER` on generated labelled sets with a known answer: a test scorer scores a grey
photo 10 × its grey level, the labels are that plus one, so every figure can be worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import culler
from culler.models.weights import WeightSpec, install_file, scorer_dir, sha256_file
from culler.plugin.scorers import Scorer, ScoreResult

SPEC = WeightSpec("grey.bin", "", "")
LEVELS = (51, 102, 115, 153, 204)  # grey levels k; the scorer gives 10·k/255


class GreyScorer(Scorer):
    id = "test-grey"
    version = "1"
    kind = "score"
    input_size = 64
    weights = [SPEC]

    def load(self, device="cpu"):
        from culler.models.weights import expected_sha256, resolve

        resolve(self.id, SPEC)
        self.weights_sha256 = expected_sha256(self.id, SPEC)

    def score_batch(self, images):
        out = []
        for image in images:
            score = 10.0 * float(np.asarray(image.convert("L"), dtype=np.float64).mean()) / 255
            dist = [0.0] * 10
            dist[min(9, max(0, round(score) - 1))] = 1.0
            out.append(ScoreResult(score=score, distribution=dist))
        return out


class GreyPlugin:
    @staticmethod
    @culler.hookimpl
    def register_scorers(register):
        register(GreyScorer)


@pytest.fixture
def grey_set(tmp_path, register_test_plugin):
    register_test_plugin(GreyPlugin, "test-grey")
    weights = tmp_path / "grey.bin"
    weights.write_bytes(b"grey scorer")
    install_file("test-grey", SPEC.name, weights)
    folder = tmp_path / "set"
    folder.mkdir()
    lines = ["image,score,votes,class"]
    for k in LEVELS:
        Image.new("RGB", (80, 60), (k, k, k)).save(folder / f"g{k}.png")
        target = 10 * k / 255 + 1
        votes = ["0"] * 10
        votes[round(target) - 1] = "7"
        lines.append(f"g{k}.png,{target},{';'.join(votes)},{int(target > 5)}")
    (tmp_path / "set.csv").write_text("\n".join(lines) + "\n")
    return tmp_path / "set.csv", folder


def test_known_answer_and_model_card(tmp_path, grey_set, culler_cli):
    csv_path, folder = grey_set
    out = culler_cli(
        "evaluate", "test-grey", "--csv", csv_path, "--images", folder, "--json"
    ).output
    result = json.loads(out)
    m = result["metrics"]
    # Predictions are the targets minus one: a perfect linear and rank relation, squared error 1.
    assert m["plcc"] == pytest.approx(1.0) and m["srcc"] == pytest.approx(1.0)
    assert m["mse"] == pytest.approx(1.0)
    # Sides of 5: predictions 2, 4, 4.51, 6, 8 vs targets 3, 5, 5.51, 7, 9 → the third disagrees
    # (the second target is 5.0, not above 5, like its prediction).
    assert m["acc5"] == pytest.approx(0.8) and m["accuracy"] == pytest.approx(0.8)
    # Every predicted distribution is the target's one bin lower: r = 1 sum 1, NIMA sqrt(1/10).
    assert m["emd1"] == pytest.approx(1.0) and m["emd"] == pytest.approx(np.sqrt(0.1))
    assert result["n"] == 5 and result["dataset"] == "set" and result["split"] == "all"
    card_file = Path(result["card"])  # next to the weights, named by version and weights sha256
    assert card_file.parent == scorer_dir("test-grey") / "cards"
    assert card_file.name == f"1-{sha256_file(scorer_dir('test-grey') / 'grey.bin')[:12]}.json"
    card = json.loads(card_file.read_text())
    assert card["evaluations"][0]["metrics"] == m
    md = card_file.with_suffix(".md").read_text()
    assert "| set | all | 5 | 1.0000 | 1.0000 | 0.8000 |" in md
    listing = culler_cli("models", "list").output
    assert "card 1: set (all, 5 photos) PLCC 1.000, SRCC 1.000, ACCURACY 0.800" in listing
    # The same evaluation again replaces its line instead of adding one.
    culler_cli("evaluate", "test-grey", "--csv", csv_path, "--images", folder)
    again = json.loads(card_file.read_text())
    assert len(again["evaluations"]) == 1


def test_named_split_and_errors(tmp_path, grey_set, culler_cli):
    csv_path, folder = grey_set
    run = tmp_path / "runs" / "mine"
    run.mkdir(parents=True)
    (run / "split.json").write_text(
        json.dumps({"train": ["g51.png"], "val": ["g153.png", "g204.png"]})
    )
    out = culler_cli(
        "evaluate", "test-grey", "--csv", csv_path, "--images", folder,
        "--split", run / "split.json", "--json",
    ).output  # fmt: skip
    result = json.loads(out)
    assert result["n"] == 2 and result["split"] == "mine:val"
    assert result["metrics"]["mse"] == pytest.approx(1.0)
    missing = culler_cli("evaluate", "test-grey", "--images", folder, expect=1)
    assert "exactly one labelled set" in missing.output
    (folder / "g51.png").unlink()
    broken = culler_cli("evaluate", "test-grey", "--csv", csv_path, "--images", folder, expect=1)
    assert "cannot read" in broken.output and "g51.png" in broken.output
