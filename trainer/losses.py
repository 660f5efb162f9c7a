"""Loss functions, one name each, so a schedule can switch between them by name.

Every loss takes the model's output dict and the batch dict and returns a scalar tensor. Outputs carry
``score`` (B,) on the 0–10 scale and, for distribution heads, ``distribution`` (B, 10); classifier and
tagger heads carry ``logits``. Batches carry the matching targets (``score``, ``distribution``,
``labels`` multi-hot, ``target_class``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

Batch = dict[str, Any]
LossFn = Callable[[Batch, Batch], torch.Tensor]

BINS = 10
#: Width (in score points) of the Gaussian used to turn a single score into a 10-bin distribution.
SOFT_BIN_SIGMA = 1.0


def soft_bins(score: torch.Tensor, sigma: float = SOFT_BIN_SIGMA) -> torch.Tensor:
    """A 10-bin distribution (bins = scores 1..10) centred on each score.

    Lets EMD train a head that predicts a single number, and gives EMD a target when the data has only
    a mean (a star rating, a BAID score). The Gaussian is differentiable in ``score``.
    """
    centres = torch.arange(1, BINS + 1, dtype=score.dtype, device=score.device)
    logits = -((score.unsqueeze(-1) - centres) ** 2) / (2 * sigma**2)
    return torch.softmax(logits, dim=-1)


def emd(pred: torch.Tensor, target: torch.Tensor, r: float = 2.0) -> torch.Tensor:
    """Earth mover's distance between 10-bin distributions (NIMA's form).

    Per sample ``(mean_k |CDF_pred(k) − CDF_target(k)|^r)^(1/r)``, then the batch mean. With r = 2 the
    loss is smooth, which is why NIMA (and seed 000) use it.
    """
    cdf_p = torch.cumsum(pred, dim=-1)
    cdf_t = torch.cumsum(target, dim=-1)
    per_sample = (cdf_p - cdf_t).abs().pow(r).mean(dim=-1).pow(1.0 / r)
    return per_sample.mean()


def _scores(output: Batch, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    if "score" not in batch:
        raise ValueError("this loss needs score targets; the dataset has none")
    return output["score"], batch["score"].to(output["score"].dtype)


def mse(output: Batch, batch: Batch) -> torch.Tensor:
    pred, target = _scores(output, batch)
    return F.mse_loss(pred, target)


def l1(output: Batch, batch: Batch) -> torch.Tensor:
    pred, target = _scores(output, batch)
    return F.l1_loss(pred, target)


def l3(output: Batch, batch: Batch) -> torch.Tensor:
    pred, target = _scores(output, batch)
    return (pred - target).abs().pow(3).mean()


def mixed(output: Batch, batch: Batch) -> torch.Tensor:
    """mean(L1, MSE, L3): L1 keeps small errors moving, L3 punishes the outliers MSE tolerates."""
    return (l1(output, batch) + mse(output, batch) + l3(output, batch)) / 3


def huber(output: Batch, batch: Batch) -> torch.Tensor:
    pred, target = _scores(output, batch)
    return F.huber_loss(pred, target, delta=1.0)


def emd_loss(output: Batch, batch: Batch) -> torch.Tensor:
    """EMD (r = 2); a scalar head or a scalar target is soft-binned (see :func:`soft_bins`)."""
    pred = output.get("distribution")
    if pred is None:
        pred = soft_bins(output["score"])
    target = batch.get("distribution")
    if target is None:
        target = soft_bins(batch["score"].to(pred.dtype))
    return emd(pred, target.to(pred.dtype))


def bce(output: Batch, batch: Batch) -> torch.Tensor:
    """Multi-label BCE with logits (emotion tags: a photo can be both awe and contentment)."""
    if "labels" not in batch:
        raise ValueError("bce needs multi-label targets (tags); the dataset has none")
    return F.binary_cross_entropy_with_logits(output["logits"], batch["labels"].float())


def cross_entropy(output: Batch, batch: Batch) -> torch.Tensor:
    """2- or 3-way classification (CharLeNet's good/bad(/middle) classes)."""
    if "target_class" not in batch:
        raise ValueError("cross-entropy needs class targets; use --classes with a scored dataset")
    return F.cross_entropy(output["logits"], batch["target_class"].long())


def margin_ranking(winner: torch.Tensor, loser: torch.Tensor, margin: float = 0.5) -> torch.Tensor:
    """Pairwise preference loss: the chosen photo should score ``margin`` above the other one."""
    return F.margin_ranking_loss(winner, loser, torch.ones_like(winner), margin=margin)


LOSSES: dict[str, LossFn] = {
    "mse": mse,
    "l1": l1,
    "l3": l3,
    "mixed": mixed,
    "huber": huber,
    "emd": emd_loss,
    "bce": bce,
    "ce": cross_entropy,
}


def get_loss(name: str) -> LossFn:
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; choose from {', '.join(LOSSES)}") from None
