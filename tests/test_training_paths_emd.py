"""EMD with r as a setting: the plain r = 1 sum (a worked example in score points) and NIMA's r = 2."""

import math

import pytest
import torch
from culler_trainer import losses, metrics
from culler_trainer import main as trainer_main
from culler_trainer.params import parse_args
from test_trainer_learning import synthetic  # noqa: I001 -- tests/ is on sys.path under pytest


def _worked_example():
    """Voters gave a photo 3, 4, 4, 4, 5 (20 % / 60 % / 20 %); the model puts the same shape one point
    higher (4, 5, 5, 5, 6). Bins are scores 1..10.

    CDF_target = 0, 0, .2, .8, 1, 1, …     CDF_pred = 0, 0, 0, .2, .8, 1, …
    |ΔCDF|     = 0, 0, .2, .6, .2, 0, …
    r = 1, plain sum: .2 + .6 + .2 = 1.0 — the whole mass moved one score point.
    r = 2, NIMA:      sqrt((.04 + .36 + .04) / 10) = sqrt(.044) = 0.2097618
    """
    target = torch.zeros(1, 10)
    pred = torch.zeros(1, 10)
    target[0, 2:5] = torch.tensor([0.2, 0.6, 0.2])
    pred[0, 3:6] = torch.tensor([0.2, 0.6, 0.2])
    return pred, target


def test_worked_example_r1_sum_and_r2_nima():
    pred, target = _worked_example()
    assert losses.emd(pred, target, r=1.0, mean_over_bins=False).item() == pytest.approx(1.0)
    assert losses.emd(pred, target).item() == pytest.approx(math.sqrt(0.044), abs=1e-7)
    assert metrics.emd(pred.numpy(), target.numpy(), 1.0, False) == pytest.approx(1.0)
    assert metrics.emd(pred.numpy(), target.numpy()) == pytest.approx(0.2097618, abs=1e-6)
    # The r = 1 sum is the distance between the means when one distribution is a shift of the other.
    shifted = torch.zeros(1, 10)
    shifted[0, 5:8] = torch.tensor([0.2, 0.6, 0.2])  # three points above the target
    assert losses.emd(shifted, target, 1.0, False).item() == pytest.approx(3.0)
    # The loss names a schedule uses pick the form.
    out, batch = {"distribution": pred}, {"distribution": target}
    assert losses.get_loss("emd1")(out, batch).item() == pytest.approx(1.0)
    assert losses.get_loss("emd2")(out, batch).item() == pytest.approx(0.2097618, abs=1e-6)
    assert losses.get_loss("emd")(out, batch).item() == pytest.approx(0.2097618, abs=1e-6)


def test_emd_r_setting_maps_a_plain_emd_loss():
    assert losses.emd_loss_name("emd", 1.0) == "emd1"
    assert losses.emd_loss_name("emd", 2.0) == "emd"
    assert losses.emd_loss_name("mse", 1.0) == "mse"
    with pytest.raises(ValueError, match="--emd-r 3"):
        losses.emd_loss_name("emd", 3.0)


def test_training_with_emd_r1_uses_the_plain_sum(tmp_path, monkeypatch):
    seen = []
    real = trainer_main.train_one_epoch

    def spy(model, data, optimizer, loss_name, *a, **kw):
        seen.append(loss_name)
        return real(model, data, optimizer, loss_name, *a, **kw)

    monkeypatch.setattr(trainer_main, "train_one_epoch", spy)
    args = parse_args(
        ["--csv", "unused.csv", "--runs-dir", str(tmp_path), "--no-progress", "--name", "r1",
         "--model", "distribution", "--schedule", "adamw:1e-3:2:mse,adamw:1e-3:3:emd",
         "--emd-r", "1"]
    )  # fmt: skip
    result = trainer_main.run(args, prepared=synthetic(n=80))
    assert seen == ["mse", "mse", "emd1", "emd1", "emd1"]
    assert result.history[-1]["loss"] > 0
