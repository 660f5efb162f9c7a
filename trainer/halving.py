"""Synchronous successive halving over learning rate × batch size, as the SAAN paper (seed 001) ran it.

Every configuration trains for the first rung's budget (``--hpo-min-epochs``); all of them are ranked on
the validation metric, the better half goes on, and each survivor trains on until it has had twice the
budget — 16 → 8 → 4 → 2 → 1 configurations over budgets b, 2b, 4b, 8b, 16b — until one remains. Unlike
Optuna's asynchronous halving (``--hpo asha``), no configuration is promoted before its whole rung has
been measured, so exactly one reaches the top budget. A survivor continues from its checkpoint (the
trainer's resume), so a rung costs only the epochs it adds: 48·b epochs for 16 configurations instead of
the 80·b a restart at every rung would cost.
"""

from __future__ import annotations

import argparse
import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from culler_trainer import main as trainer_main
from culler_trainer import prepare as setup


class _RungDone(Exception):
    """Raised from the epoch callback to stop a configuration at the end of its rung."""


@dataclass
class Config:
    index: int
    lr: float
    batch_size: int
    epochs: int = 0
    best: float = float("-inf")
    stopped_at: int | None = None  # rung index where it was dropped; None for the winner
    history: list[float] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"trial-{self.index:02d}"


def budgets(n_configs: int, min_epochs: int) -> list[int]:
    """Cumulative epochs per rung: min_epochs × 1, 2, 4 … until halving leaves one configuration."""
    if n_configs < 1 or min_epochs < 1:
        raise ValueError("successive halving needs at least one configuration and one epoch")
    rungs = math.ceil(math.log2(n_configs)) + 1 if n_configs > 1 else 1
    return [min_epochs * 2**r for r in range(rungs)]


def survivors(configs: list[Config], keep: int) -> list[Config]:
    """The ``keep`` best by their best validation value so far; ties go to the earlier configuration."""
    return sorted(configs, key=lambda c: (-c.best, c.index))[:keep]


def _trial_args(args: argparse.Namespace, config: Config, hpo_dir: Path, top: int) -> Any:
    trial = copy.copy(args)
    trial.lr, trial.batch_size, trial.epochs = config.lr, config.batch_size, top
    trial.schedule = None  # the search is over plain schedules
    trial.hpo, trial.register, trial.resume = None, False, None
    trial.runs_dir, trial.name = hpo_dir, config.name
    trial.progress, trial.record_run = False, False
    return trial


def _train_to(
    args: argparse.Namespace,
    config: Config,
    budget: int,
    hpo_dir: Path,
    top: int,
    metric: str,
    prepared: setup.Prepared,
) -> None:
    """Train ``config`` until it has had ``budget`` epochs, continuing its run folder if it has one."""

    def report(epoch: int, record: dict[str, Any]) -> None:
        value = float(record.get(f"val_{metric}", float("-inf")))
        config.best = max(config.best, value)
        config.history.append(value)
        config.epochs = epoch + 1
        if config.epochs >= budget and config.epochs < top:
            raise _RungDone

    if config.epochs == 0:
        run_args = _trial_args(args, config, hpo_dir, top)
    else:
        run_args = copy.copy(args)
        run_args.resume, run_args.progress = str(hpo_dir / config.name), False
    try:
        trainer_main.run(run_args, on_epoch=report, prepared=prepared)
    except _RungDone:
        pass


def successive_halving(
    args: argparse.Namespace,
    grid: list[tuple[float, int]],
    hpo_dir: Path,
    metric: str,
    prepared: setup.Prepared,
    say: Any = print,
) -> tuple[list[Config], list[dict[str, Any]]]:
    """Run the rungs; returns every configuration (winner first) and one summary per rung."""
    configs = [Config(i, lr, size) for i, (lr, size) in enumerate(grid)]
    plan = budgets(len(configs), args.hpo_min_epochs)
    if plan[-1] > args.epochs:
        raise ValueError(
            f"{len(configs)} configurations halve over {len(plan)} rungs up to {plan[-1]} epochs, "
            f"more than --epochs {args.epochs}: raise --epochs to {plan[-1]} or lower "
            "--hpo-min-epochs"
        )
    alive, rungs, total = list(configs), [], 0
    for r, budget in enumerate(plan):
        before = sum(c.epochs for c in alive)
        for config in alive:
            _train_to(args, config, budget, hpo_dir, plan[-1], metric, prepared)
        spent = sum(c.epochs for c in alive) - before
        total += spent
        keep = max(1, math.ceil(len(alive) / 2)) if r < len(plan) - 1 else 1
        kept = survivors(alive, keep)
        for config in alive:
            if config not in kept:
                config.stopped_at = r
        rungs.append(
            {
                "rung": r,
                "budget": budget,
                "configs": len(alive),
                "epochs_spent": spent,
                "kept": [c.index for c in kept],
                "best": max(c.best for c in alive),
            }
        )
        say(
            f"rung {r}: {len(alive)} configs trained to {budget} epochs "
            f"(+{spent} epochs), best val {metric} {rungs[-1]['best']:.4f}, keep {len(kept)}"
        )
        alive = kept
    say(f"successive halving: {total} epochs in all; winner {alive[0].name} "
        f"(lr {alive[0].lr:g}, batch {alive[0].batch_size})")  # fmt: skip
    ranked = alive + sorted(
        (c for c in configs if c is not alive[0]), key=lambda c: (-(c.stopped_at or 0), -c.best)
    )
    return ranked, rungs
