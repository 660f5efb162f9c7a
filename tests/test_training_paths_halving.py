"""--hpo halving: the SAAN paper's synchronous successive halving, 16 → 8 → 4 → 2 → 1 with the budget
doubling per rung and one winner, on a synthetic task whose best rates are known."""

import json

import pytest
from culler_trainer.halving import Config, budgets, survivors
from culler_trainer.hpo import run_hpo
from culler_trainer.params import parse_args
from test_trainer_learning import synthetic  # noqa: I001 -- tests/ is on sys.path under pytest


def test_budgets_double_until_one_configuration_is_left():
    assert budgets(16, 1) == [1, 2, 4, 8, 16]
    assert budgets(12, 2) == [2, 4, 8, 16, 32]  # 12 → 6 → 3 → 2 → 1
    assert budgets(1, 3) == [3]
    configs = [Config(i, 0.1, 8, best=v) for i, v in enumerate([0.2, 0.9, 0.9, 0.1])]
    assert [c.index for c in survivors(configs, 2)] == [1, 2]  # ties keep the earlier one


def test_grid_of_16_halves_synchronously_to_one_winner(tmp_path, capsys):
    args = parse_args(
        [
            "--csv", "unused.csv", "--model", "linear", "--epochs", "16",
            "--hpo", "--hpo-min-epochs", "1",
            "--hpo-lrs", "1e-4,1e-3,1e-2,3e-2", "--hpo-batch-sizes", "8,16,32,64",
            "--runs-dir", str(tmp_path), "--name", "search", "--no-progress",
        ]
    )  # fmt: skip
    assert args.hpo == "halving"
    rows = run_hpo(args, prepared=synthetic(n=160))
    assert len(rows) == 16
    assert [r["state"] for r in rows].count("winner") == 1 and rows[0]["state"] == "winner"
    # Each configuration stops exactly at its rung's budget: 8 at 1 epoch, 4 at 2, 2 at 4, 1 at 8.
    epochs = sorted(r["epochs"] for r in rows)
    assert epochs == [1] * 8 + [2] * 4 + [4] * 2 + [8] + [16]
    assert rows[0]["epochs"] == 16
    saved = json.loads((tmp_path / "search" / "hpo.json").read_text())
    assert [r["configs"] for r in saved["rungs"]] == [16, 8, 4, 2, 1]
    assert [r["budget"] for r in saved["rungs"]] == [1, 2, 4, 8, 16]
    # Survivors continue from their checkpoints: 16·1 + 8·1 + 4·2 + 2·4 + 1·8 epochs.
    assert [r["epochs_spent"] for r in saved["rungs"]] == [16, 8, 8, 8, 8]
    assert saved["total_epochs"] == 48 == sum(epochs)
    # Every survivor of a rung was among the better half of the rung before.
    for before, after in zip(saved["rungs"], saved["rungs"][1:]):
        assert len(before["kept"]) == after["configs"]
    # The slowest rate cannot reach the fast ones' correlation; the winner is a fast one.
    assert rows[0]["lr"] >= 1e-3 and rows[0]["best_val_plcc"] > 0.8
    metrics = (tmp_path / "search" / f"trial-{rows[0]['trial']:02d}" / "metrics.jsonl").read_text()
    assert [json.loads(line)["epoch"] for line in metrics.splitlines()] == list(range(16))
    out = capsys.readouterr().out
    assert "rung 0: 16 configs trained to 1 epochs" in out and "rung 4: 1 configs" in out
    assert "48 epochs in all" in out


def test_halving_refuses_a_top_budget_above_epochs(tmp_path):
    args = parse_args(
        ["--csv", "unused.csv", "--model", "linear", "--epochs", "8", "--hpo", "halving",
         "--hpo-min-epochs", "1", "--runs-dir", str(tmp_path), "--no-progress"]
    )  # fmt: skip
    with pytest.raises(ValueError, match="raise --epochs to 16"):
        run_hpo(args, prepared=synthetic(n=80))
