"""Trainer building blocks: losses (EMD by hand), schedules, metrics, datasets and splits."""

import math

import numpy as np
import pytest
import torch
from culler_trainer import data, losses, metrics, scheduler

from culler.api import mean_score


def test_emd_matches_hand_computed_value():
    # Sample 1: p puts half its mass on bins 1 and 2, q on bins 2 and 3.
    #   CDF_p = .5, 1, 1, …   CDF_q = 0, .5, 1, …   |ΔCDF| = .5, .5, then 0 for the other 8 bins.
    #   (mean_k ΔCDF²)^(1/2) = sqrt((.25 + .25) / 10) = sqrt(.05) = 0.2236068
    # Sample 2: identical distributions → 0.  Batch mean = 0.1118034.
    p = torch.zeros(2, 10)
    q = torch.zeros(2, 10)
    p[0, 0] = p[0, 1] = 0.5
    q[0, 1] = q[0, 2] = 0.5
    p[1, 4] = q[1, 4] = 1.0
    assert losses.emd(p, q).item() == pytest.approx(math.sqrt(0.05) / 2, abs=1e-7)
    assert metrics.emd(p.numpy(), q.numpy()) == pytest.approx(0.1118034, abs=1e-6)
    # The loss wrapper uses the output's distribution and the batch's target distribution.
    assert losses.emd_loss({"distribution": p}, {"distribution": q}).item() == pytest.approx(
        0.1118034, abs=1e-6
    )


def test_regression_losses_by_hand():
    out = {"score": torch.tensor([1.0, 4.0])}
    batch = {"score": torch.tensor([2.0, 2.0])}  # errors -1, +2
    assert losses.mse(out, batch).item() == pytest.approx((1 + 4) / 2)
    assert losses.l1(out, batch).item() == pytest.approx((1 + 2) / 2)
    assert losses.l3(out, batch).item() == pytest.approx((1 + 8) / 2)
    assert losses.mixed(out, batch).item() == pytest.approx((2.5 + 1.5 + 4.5) / 3)
    assert losses.huber(out, batch).item() == pytest.approx((0.5 + 1.5) / 2)


def test_classification_and_ranking_losses():
    logits = torch.tensor([[2.0, -1.0], [0.0, 3.0]])
    ce = losses.cross_entropy({"logits": logits}, {"target_class": torch.tensor([0, 1])})
    assert ce.item() == pytest.approx(
        torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1])).item()
    )
    labels = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    expected = -(
        torch.log(torch.sigmoid(logits)) * labels
        + torch.log(1 - torch.sigmoid(logits)) * (1 - labels)
    ).mean()
    assert losses.bce({"logits": logits}, {"labels": labels}).item() == pytest.approx(
        expected.item(), rel=1e-5
    )
    # winner 3 vs loser 1 clears the margin (0 loss); winner 1 vs loser 1 costs the margin.
    rank = losses.margin_ranking(torch.tensor([3.0, 1.0]), torch.tensor([1.0, 1.0]), margin=0.5)
    assert rank.item() == pytest.approx(0.25)


def test_soft_bins_is_a_distribution_centred_on_the_score():
    dist = losses.soft_bins(torch.tensor([3.0, 7.5]))
    assert torch.allclose(dist.sum(-1), torch.ones(2))
    assert mean_score(dist)[0].item() == pytest.approx(3.0, abs=0.05)
    assert mean_score(dist)[1].item() == pytest.approx(7.5, abs=0.05)


def test_seed000_preset_plan():
    plan = scheduler.plan(scheduler.parse_schedule("seed000"))
    got = [(e.optimizer, e.lr, e.loss) for e in plan]
    assert got == [
        ("adamw", 1e-4, "mse"),
        ("adamw", 1e-4, "mse"),
        ("adamw", 1e-4, "l1"),
        ("adamw", 1e-4, "l1"),
        ("adamw", 1e-4, "mixed"),
        ("adamw", 1e-4, "mixed"),
        ("adam", 1e-5, "mixed"),
        ("adam", 1e-5, "mixed"),
        ("adam", 1e-5, "mixed"),
        ("adam", 1e-5, "mixed"),
        ("sgd", 1e-6, "emd"),
        ("sgd", 1e-6, "emd"),
    ]
    assert [e.epoch for e in plan if e.new_stage] == [0, 6, 10]
    # The same recipe written out in params form gives the same plan.
    spelled = scheduler.parse_schedule(
        "adamw:1e-4:6:mse/l1/mixed@2, adam:1e-5:4:mixed, sgd:1e-6:2:emd"
    )
    assert scheduler.plan(spelled) == plan


def test_step_decay_and_bad_stage_specs():
    plan = scheduler.plan(scheduler.parse_schedule("adam:1e-3:5:mse"), lr_step=2, lr_gamma=0.1)
    assert [round(e.lr, 8) for e in plan] == [1e-3, 1e-3, 1e-4, 1e-4, 1e-5]
    for bad in ("adam:1e-3:5", "rmsprop:1e-3:5:mse", "adam:1e-3:5:nope", "adam:1e-3:0:mse"):
        with pytest.raises(ValueError):
            scheduler.parse_stage(bad)


def test_head_gets_its_own_learning_rate():
    body, head = torch.nn.Linear(2, 2), torch.nn.Linear(2, 1)
    groups = [
        {"params": list(body.parameters()), "lr_mult": 1.0},
        {"params": list(head.parameters()), "lr_mult": 10.0},
    ]
    opt = scheduler.build_optimizer("adam", groups, 1e-5)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([1e-5, 1e-4])
    scheduler.set_lr(opt, 1e-6)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([1e-6, 1e-5])


def test_metrics_by_hand():
    pred, target = [1, 2, 3, 4], [1, 3, 2, 4]
    assert metrics.srcc(pred, target) == pytest.approx(0.8)
    assert metrics.plcc([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert metrics.plcc([1, 1, 1], [2, 4, 6]) == 0.0
    assert metrics.accuracy_at([4, 6, 7], [6, 6, 3]) == pytest.approx(1 / 3)
    assert list(metrics.rankdata([10, 20, 20, 5])) == [2, 3.5, 3.5, 1]
    scores = np.array([[0.9, 0.1, 0.5], [0.1, 0.2, 0.3]])
    labels = np.array([[0, 0, 1], [1, 0, 0]])
    assert metrics.topk_accuracy(scores, labels, 1) == 0.0
    assert metrics.topk_accuracy(scores, labels, 2) == 0.5
    assert metrics.topk_recall(scores, labels, 3) == 1.0
    agreement, n = metrics.pairwise_agreement(
        {1: 5.0, 2: 3.0, 3: 3.0}, [(1, 2), (2, 1), (2, 3), (9, 1)]
    )
    assert (agreement, n) == (pytest.approx(1.5 / 3), 3)
    assert metrics.best_threshold([1, 2, 8, 9], [False, False, True, True]) == pytest.approx(5.0)
    assert metrics.rating_pairs({1: 2.0, 2: 8.0, 3: 8.0}) == [(2, 1), (3, 1)]


def test_ava_parsing(tmp_path):
    ava = tmp_path / "AVA.txt"
    ava.write_text(
        "1 953619 0 1 5 17 38 36 15 6 5 1 1 22 1396\n"
        "2 953958 10 0 0 0 0 0 0 0 0 0 0 0 1396\n"
        "3 954184 0 0 0 0 0 0 0 0 0 0 0 0 1396\n"
    )
    ds = data.from_ava(ava, tmp_path / "images")
    assert [s.key for s in ds.samples] == ["953619", "953958"]  # no votes → no target, skipped
    first = ds.samples[0]
    votes = np.array([0, 1, 5, 17, 38, 36, 15, 6, 5, 1])
    assert first.distribution == pytest.approx(list(votes / votes.sum()))
    assert first.score == pytest.approx(float((votes * np.arange(1, 11)).sum() / votes.sum()))
    assert ds.samples[1].score == pytest.approx(1.0)
    assert first.path.endswith("953619.jpg")


def test_csv_with_scores_tags_and_classes(tmp_path):
    (tmp_path / "baid.csv").write_text("image,score\na.jpg,7.2\nb.jpg,2.5\nc.jpg,5.1\n")
    ds = data.from_csv(tmp_path / "baid.csv", tmp_path / "imgs")
    assert [s.score for s in ds.samples] == [7.2, 2.5, 5.1]
    assert ds.samples[0].path == str(tmp_path / "imgs" / "a.jpg")
    binary = data.from_csv(tmp_path / "baid.csv", classes=2)
    assert [(s.key, s.target_class) for s in binary.samples] == [("a.jpg", 1), ("b.jpg", 0)]
    (tmp_path / "emo.csv").write_text("image,labels\na.jpg,awe;contentment\nb.jpg,fear\n")
    tags = data.from_csv(tmp_path / "emo.csv", score_column=None)
    assert tags.label_names == ["awe", "contentment", "fear"]
    assert tags.samples[0].labels == [1.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="no 'picture' column"):
        data.from_csv(tmp_path / "baid.csv", image_column="picture")


def test_split_is_deterministic_stratified_and_saved(tmp_path):
    samples = [
        data.Sample(key=str(i), score=8.0 if i % 3 else 2.0, decision="pick" if i % 3 else "reject")
        for i in range(60)
    ]
    ds = data.Dataset("x", samples, preferences=[("1", "3"), ("1", "2")])
    a, b = data.make_split(ds, 0.25, seed=3), data.make_split(ds, 0.25, seed=3)
    assert a == b and len(a["val"]) == 15 and not set(a["val"]) & set(a["train"])
    held_out = {s.decision for s in ds.subset(a["val"]).samples}
    assert held_out == {"pick", "reject"}
    assert data.make_split(ds, 0.25, seed=4)["val"] != a["val"]
    data.save_split(a, tmp_path / "split.json")
    assert data.load_split(tmp_path / "split.json", ds)["val"] == a["val"]
    smaller = data.Dataset("x", samples[:30])
    with pytest.raises(ValueError, match="no longer in the dataset"):
        data.load_split(tmp_path / "split.json", smaller)


def test_rating_checks_say_what_to_do(catalog):
    with pytest.raises(
        data.NotEnoughRatings, match="rate at least 20 photos with both picks and rejects"
    ):
        data.from_catalog(catalog)
    one_class = [data.Sample(key=str(i), score=8.0, decision="pick") for i in range(40)]
    with pytest.raises(data.NotEnoughRatings, match=r"40 picks, 0 rejects"):
        data.check_ratings(one_class)


def test_python_m_culler_trainer_help():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "culler_trainer", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "--schedule" in done.stdout and "seed000" in done.stdout and "--db" in done.stdout


def test_vectorised_agreement_matches_pairwise_definition():
    rng = np.random.default_rng(0)
    target = rng.integers(1, 6, 300).astype(float)
    pred = np.round(target + rng.normal(0, 1.5, 300))  # rounded: some ties in the prediction
    keys = {i: float(v) for i, v in enumerate(pred)}
    expected = metrics.pairwise_agreement(keys, metrics.rating_pairs(dict(enumerate(target))))
    assert metrics.rating_agreement(pred, target, chunk=64) == (
        pytest.approx(expected[0]),
        expected[1],
    )
