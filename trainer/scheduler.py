"""Training schedules as a list of stages: optimiser, learning rate, epochs and the loss(es) to use.

A stage is written ``OPT:LR:EPOCHS:LOSS[/LOSS...][@N]`` — the losses take turns every N epochs (default
1) — and stages are joined by commas. Seed 000's staged recipe is the preset ``seed000``::

    adamw:1e-4:6:mse/l1/mixed@2, adam:1e-5:4:mixed, sgd:1e-6:2:emd

A plain schedule is a single stage (``--optimizer adamw --lr 1e-3 --epochs 30 --loss mse``). Each stage
starts a fresh optimiser (a new optimiser's state is meaningless to carry over), and ``lr_step`` /
``lr_gamma`` decay the rate inside a stage (SAAN: ×0.1 every 10 epochs).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import torch
from culler_trainer.losses import LOSSES

OPTIMIZERS = ("adamw", "adam", "sgd")

PRESETS: dict[str, str] = {
    # Seed 000 (CLIP heads): AdamW 1e-4 ×6 alternating MSE/L1/mixed every 2 epochs → Adam 1e-5 ×4
    # mixed → SGD 1e-6 ×2 EMD.
    "seed000": "adamw:1e-4:6:mse/l1/mixed@2,adam:1e-5:4:mixed,sgd:1e-6:2:emd",
    # Seed 001 (SAAN): Adam 1e-5, MSE; combine with --lr-step 10 --lr-gamma 0.1 --betas 0.5,0.999.
    "saan": "adam:1e-5:30:mse",
    # Seed 004 (CharLeNet): Adam 1e-5 with cross-entropy (the 10× head rate comes from --head-lr-mult).
    "charlenet": "adam:1e-5:20:ce",
    # Personal heads on cached embeddings: a few hundred samples, so a larger rate and a short run.
    "personal": "adamw:1e-3:40:mse",
}


@dataclass(frozen=True)
class Stage:
    optimizer: str
    lr: float
    epochs: int
    losses: tuple[str, ...]
    loss_every: int = 1

    def loss_for(self, epoch_in_stage: int) -> str:
        return self.losses[(epoch_in_stage // self.loss_every) % len(self.losses)]


@dataclass(frozen=True)
class EpochPlan:
    """What one epoch does; ``stage`` indexes the stage list, ``new_stage`` marks its first epoch."""

    epoch: int
    stage: int
    optimizer: str
    lr: float
    loss: str
    new_stage: bool

    def as_dict(self) -> dict:
        return asdict(self)


def parse_stage(text: str) -> Stage:
    parts = text.strip().split(":")
    if len(parts) != 4:
        raise ValueError(f"stage {text!r} is not OPT:LR:EPOCHS:LOSS[/LOSS...][@N]")
    opt, lr, epochs, losses = (p.strip() for p in parts)
    every = 1
    if "@" in losses:
        losses, every_text = losses.split("@", 1)
        every = int(every_text)
    names = tuple(n.strip() for n in losses.split("/") if n.strip())
    if opt.lower() not in OPTIMIZERS:
        raise ValueError(f"stage {text!r}: optimiser must be one of {', '.join(OPTIMIZERS)}")
    unknown = [n for n in names if n not in LOSSES]
    if unknown or not names:
        raise ValueError(f"stage {text!r}: unknown loss {unknown}; choose from {', '.join(LOSSES)}")
    stage = Stage(opt.lower(), float(lr), int(epochs), names, every)
    if stage.epochs < 1 or stage.lr <= 0 or stage.loss_every < 1:
        raise ValueError(f"stage {text!r}: epochs, lr and @N must be positive")
    return stage


def parse_schedule(text: str) -> list[Stage]:
    """Parse a preset name or a comma-separated stage list."""
    text = PRESETS.get(text.strip(), text)
    return [parse_stage(part) for part in text.split(",") if part.strip()]


def plain_schedule(optimizer: str, lr: float, epochs: int, loss: str) -> list[Stage]:
    return [parse_stage(f"{optimizer}:{lr}:{epochs}:{loss}")]


def plan(stages: Iterable[Stage], lr_step: int = 0, lr_gamma: float = 0.1) -> list[EpochPlan]:
    """Unroll stages into one entry per epoch: the optimiser, learning rate and loss it uses."""
    epochs: list[EpochPlan] = []
    for index, stage in enumerate(stages):
        for k in range(stage.epochs):
            decay = lr_gamma ** (k // lr_step) if lr_step > 0 else 1.0
            epochs.append(
                EpochPlan(
                    epoch=len(epochs),
                    stage=index,
                    optimizer=stage.optimizer,
                    lr=stage.lr * decay,
                    loss=stage.loss_for(k),
                    new_stage=k == 0,
                )
            )
    return epochs


def build_optimizer(
    name: str,
    groups: list[dict],
    lr: float,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
    betas: tuple[float, float] = (0.9, 0.999),
) -> torch.optim.Optimizer:
    """An optimiser over parameter groups; each group's ``lr_mult`` scales the stage's rate."""
    param_groups = [
        {"params": g["params"], "lr": lr * g.get("lr_mult", 1.0), "lr_mult": g.get("lr_mult", 1.0)}
        for g in groups
        if g["params"]
    ]
    if name == "adamw":
        return torch.optim.AdamW(param_groups, lr=lr, weight_decay=weight_decay, betas=betas)
    if name == "adam":
        return torch.optim.Adam(param_groups, lr=lr, weight_decay=weight_decay, betas=betas)
    if name == "sgd":
        return torch.optim.SGD(param_groups, lr=lr, weight_decay=weight_decay, momentum=momentum)
    raise ValueError(f"unknown optimiser {name!r}; choose from {', '.join(OPTIMIZERS)}")


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Apply an epoch's rate, keeping each group's multiplier (10× on a new head)."""
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_mult", 1.0)
