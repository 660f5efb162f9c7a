"""Optuna's asynchronous halving and Hyperband over learning rate × batch size on a synthetic task
(the synchronous --hpo halving is tested in test_training_paths_halving.py)."""

import csv
import json

import pytest
from culler_trainer.hpo import run_hpo
from culler_trainer.params import parse_args
from test_trainer_learning import synthetic  # noqa: I001 -- tests/ is on sys.path under pytest


@pytest.mark.parametrize("pruner", ["asha", "hyperband"])
def test_grid_of_16_is_halved_and_saved(tmp_path, pruner, capsys):
    args = parse_args(
        [
            "--csv", "unused.csv", "--model", "linear", "--epochs", "8",
            "--hpo", pruner, "--hpo-min-epochs", "1",
            "--hpo-lrs", "1e-4,1e-3,1e-2,3e-2", "--hpo-batch-sizes", "8,16,32,64",
            "--runs-dir", str(tmp_path), "--name", "search", "--no-progress",
        ]
    )  # fmt: skip
    rows = run_hpo(args, prepared=synthetic(n=160))
    assert len(rows) == 16
    assert {(r["lr"], r["batch_size"]) for r in rows} == {
        (lr, b) for lr in (1e-4, 1e-3, 1e-2, 3e-2) for b in (8, 16, 32, 64)
    }
    pruned = [r for r in rows if r["state"] == "pruned"]
    complete = [r for r in rows if r["state"] == "complete"]
    assert pruned and complete
    assert all(r["epochs"] == 8 for r in complete)
    assert all(r["epochs"] < 8 for r in pruned)
    # The slowest rate cannot reach the fast ones' correlation in 8 epochs; the winner is a fast one.
    assert rows[0]["lr"] >= 1e-3 and rows[0]["best_val_plcc"] > 0.8
    saved = json.loads((tmp_path / "search" / "hpo.json").read_text())
    assert saved["metric"] == "plcc" and len(saved["trials"]) == 16
    with open(tmp_path / "search" / "hpo.csv") as fh:
        assert len(list(csv.DictReader(fh))) == 16
    assert "learning rate × batch size" in capsys.readouterr().out
