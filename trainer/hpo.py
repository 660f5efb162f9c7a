"""Hyper-parameter search (seed 001) over learning rate × batch size, under three named schedules.

``--hpo halving`` (the default) is the SAAN paper's synchronous successive halving
(:mod:`culler_trainer.halving`): 16 → 8 → 4 → 2 → 1 configurations, the budget doubling per rung,
one winner. ``--hpo asha`` is Optuna's asynchronous successive halving (SuccessiveHalvingPruner,
reduction factor 2, rungs at ``--hpo-min-epochs`` × 1, 2, 4 …; several trials may reach the full
budget) and ``--hpo hyperband`` Optuna's Hyperband brackets of the same; both walk the grid with
Optuna's GridSampler. Data and cached features are prepared once and shared by every trial. The
results table is printed and saved as ``hpo.csv`` and ``hpo.json`` in the search folder, one trial run
folder beside them.
"""

from __future__ import annotations

import argparse
import copy
import csv
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from culler_trainer import main as trainer_main
from culler_trainer import prepare as setup
from culler_trainer.halving import successive_halving


def _grid(args: argparse.Namespace) -> tuple[list[float], list[int]]:
    lrs = [float(x) for x in str(args.hpo_lrs).split(",") if x.strip()]
    sizes = [int(x) for x in str(args.hpo_batch_sizes).split(",") if x.strip()]
    if not lrs or not sizes:
        raise ValueError("--hpo-lrs and --hpo-batch-sizes need at least one value each")
    return lrs, sizes


def make_pruner(args: argparse.Namespace) -> Any:
    import optuna

    if args.hpo == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=args.hpo_min_epochs, max_resource=args.epochs, reduction_factor=2
        )
    return optuna.pruners.SuccessiveHalvingPruner(
        min_resource=args.hpo_min_epochs, reduction_factor=2, min_early_stopping_rate=0
    )


def _search_dir(args: argparse.Namespace) -> Path:
    runs = Path(args.runs_dir) if args.runs_dir else trainer_main.default_runs_dir()
    hpo_dir = runs / (args.name or f"{dt.datetime.now():%Y%m%d-%H%M%S}-hpo")
    hpo_dir.mkdir(parents=True, exist_ok=True)
    (hpo_dir / "params.json").write_text(
        json.dumps(trainer_main._jsonable(args), indent=2, sort_keys=True)
    )
    return hpo_dir


def run_hpo(
    args: argparse.Namespace, prepared: setup.Prepared | None = None
) -> list[dict[str, Any]]:
    """Search the grid; print and save the results table; return its rows (best first)."""
    lrs, sizes = _grid(args)
    hpo_dir = _search_dir(args)
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    if prepared is None:
        prepared = setup.prepare(args, hpo_dir, progress)
    metric = args.select_metric or setup.default_metric(args, prepared.dataset)
    if args.hpo == "halving":
        rows, extra = _halving_search(args, lrs, sizes, hpo_dir, metric, prepared)
    else:
        rows = _optuna_search(args, lrs, sizes, hpo_dir, metric, prepared)
        extra = {"total_epochs": sum(r["epochs"] for r in rows)}
    _save_rows(rows, metric, args, hpo_dir, extra)
    print_table(rows, metric, hpo_dir)
    return rows


def _halving_search(
    args: argparse.Namespace,
    lrs: list[float],
    sizes: list[int],
    hpo_dir: Path,
    metric: str,
    prepared: setup.Prepared,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The SAAN paper's synchronous successive halving; rows best first, and its rungs."""
    grid = [(lr, size) for lr in lrs for size in sizes]
    configs, rungs = successive_halving(args, grid, hpo_dir, metric, prepared)
    rows = [
        {
            "trial": c.index,
            "lr": c.lr,
            "batch_size": c.batch_size,
            "epochs": c.epochs,
            f"best_val_{metric}": c.best,
            "state": "winner" if c.stopped_at is None else f"rung {c.stopped_at}",
        }
        for c in configs
    ]
    return rows, {"rungs": rungs, "total_epochs": sum(r["epochs_spent"] for r in rungs)}


def _optuna_search(
    args: argparse.Namespace,
    lrs: list[float],
    sizes: list[int],
    hpo_dir: Path,
    metric: str,
    prepared: setup.Prepared,
) -> list[dict[str, Any]]:
    """Optuna's asynchronous halving or Hyperband over the grid; rows best first."""
    try:
        import optuna
    except ImportError as exc:
        raise RuntimeError(
            f"--hpo {args.hpo} needs Optuna: pip install 'culler[train]' (or use --hpo halving)"
        ) from exc
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.GridSampler({"lr": lrs, "batch_size": sizes}, seed=args.seed),
        pruner=make_pruner(args),
    )
    objective = _objective(args, prepared, hpo_dir, metric, lrs, sizes)
    study.optimize(objective, n_trials=len(lrs) * len(sizes))
    return _rows(study, metric)


def _objective(
    args: argparse.Namespace,
    prepared: setup.Prepared,
    hpo_dir: Path,
    metric: str,
    lrs: list[float],
    sizes: list[int],
):
    """One trial: a plain-schedule run in its own folder, reporting every epoch to the pruner."""
    import optuna

    def objective(trial: Any) -> float:
        trial_args = copy.copy(args)
        trial_args.lr = trial.suggest_categorical("lr", lrs)
        trial_args.batch_size = trial.suggest_categorical("batch_size", sizes)
        trial_args.schedule = None  # the search is over plain schedules
        trial_args.hpo, trial_args.register, trial_args.resume = None, False, None
        trial_args.runs_dir, trial_args.name = hpo_dir, f"trial-{trial.number:02d}"
        trial_args.progress = False
        trial_args.record_run = False
        best = {"value": float("-inf")}

        def report(epoch: int, record: dict[str, Any]) -> None:
            value = float(record.get(f"val_{metric}", float("-inf")))
            best["value"] = max(best["value"], value)
            trial.set_user_attr("epochs", epoch + 1)
            trial.set_user_attr("best", best["value"])
            trial.report(value, epoch + 1)
            # A trial that has run its full budget is complete, whatever the rung statistics say.
            if epoch + 1 < args.epochs and trial.should_prune():
                raise optuna.TrialPruned()

        trainer_main.run(trial_args, on_epoch=report, prepared=prepared)
        return best["value"]

    return objective


def _rows(study: Any, metric: str) -> list[dict[str, Any]]:
    """One row per trial, best first."""
    rows = [
        {
            "trial": t.number,
            "lr": t.params.get("lr"),
            "batch_size": t.params.get("batch_size"),
            "epochs": t.user_attrs.get("epochs", 0),
            f"best_val_{metric}": t.user_attrs.get("best"),
            "state": t.state.name.lower(),
        }
        for t in study.trials
    ]
    rows.sort(key=lambda r: -(r[f"best_val_{metric}"] or float("-inf")))
    return rows


def _save_rows(
    rows: list[dict[str, Any]],
    metric: str,
    args: argparse.Namespace,
    hpo_dir: Path,
    extra: dict[str, Any],
) -> None:
    with open(hpo_dir / "hpo.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (hpo_dir / "hpo.json").write_text(
        json.dumps({"metric": metric, "schedule": args.hpo, "trials": rows, **extra}, indent=2)
    )


def print_table(rows: list[dict[str, Any]], metric: str, hpo_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"learning rate × batch size, best val {metric} (saved in {hpo_dir})")
    for name in ("trial", "lr", "batch", "epochs", metric, "state"):
        table.add_column(name, justify="right" if name != "state" else "left")
    for r in rows:
        value = r[f"best_val_{metric}"]
        table.add_row(
            str(r["trial"]),
            f"{r['lr']:g}",
            str(r["batch_size"]),
            str(r["epochs"]),
            "-" if value is None else f"{value:.4f}",
            r["state"],
        )
    Console(width=100).print(table)
