"""Training runs: a run folder, the epoch loop over the schedule, checkpoints, resume, registration.

Each run folder holds ``params.json`` (the arguments), ``split.json`` (which samples were held out),
``metrics.jsonl`` (one line per epoch), ``latest.pt`` (written atomically after every epoch, so a killed
run resumes with ``--resume``), ``head.safetensors`` (the best epoch's head) and ``result.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from culler_trainer import prepare as setup
from culler_trainer import scheduler
from culler_trainer.base_init import base_head_state
from culler_trainer.losses import emd_loss_name
from culler_trainer.metrics import split_metrics
from culler_trainer.models import Head, param_groups
from culler_trainer.personal import network_file
from culler_trainer.progress import progress_bar
from culler_trainer.registry import register_head
from culler_trainer.train import predict, train_one_epoch

from culler.api import culler_home, save_head

#: ``on_epoch(epoch, metrics)``; HPO uses it to report to Optuna and to prune (by raising).
EpochCallback = Callable[[int, dict[str, Any]], None]


@dataclass
class RunResult:
    run_dir: Path
    best: dict[str, Any]
    last: dict[str, Any]
    head_file: Path | None = None
    scorer_pk: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)


def default_runs_dir() -> Path:
    return culler_home() / "runs"


def _jsonable(args: argparse.Namespace) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}


def _from_json(saved: dict[str, Any]) -> argparse.Namespace:
    args = argparse.Namespace(**saved)
    for key in ("db", "ava", "csv", "images", "runs_dir"):
        if getattr(args, key, None) is not None:
            setattr(args, key, Path(getattr(args, key)))
    args.betas = tuple(args.betas)
    return args


def resolve_run_dir(args: argparse.Namespace) -> tuple[argparse.Namespace, Path, bool]:
    """The run folder, and for --resume the saved arguments; returns (args, run_dir, resuming)."""
    runs = Path(args.runs_dir) if args.runs_dir else default_runs_dir()
    if args.resume:
        if args.resume == "latest":
            candidates = sorted(
                (p for p in runs.glob("*") if (p / "latest.pt").exists()),
                key=lambda p: (p / "latest.pt").stat().st_mtime,
            )
            if not candidates:
                raise FileNotFoundError(f"no run with a checkpoint under {runs} to resume")
            run_dir = candidates[-1]
        else:
            run_dir = Path(args.resume)
        if not (run_dir / "params.json").exists():
            raise FileNotFoundError(f"{run_dir} is not a run folder (no params.json)")
        saved = _from_json(json.loads((run_dir / "params.json").read_text()))
        saved.device, saved.progress, saved.resume = args.device, args.progress, str(run_dir)
        return saved, run_dir, True
    name = args.name or f"{dt.datetime.now():%Y%m%d-%H%M%S}-{args.model}"
    run_dir = runs / name
    if (run_dir / "params.json").exists():
        raise FileExistsError(f"{run_dir} already holds a run; pick another --name or --resume it")
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "params.json").write_text(json.dumps(_jsonable(args), indent=2, sort_keys=True))
    return args, run_dir, False


def atomic_save(obj: Any, path: Path) -> None:
    """Write to a temp file and rename it over ``path``: a kill never leaves half a checkpoint."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _stages(args: argparse.Namespace, prepared: setup.Prepared) -> list[scheduler.Stage]:
    if args.schedule:
        stages = scheduler.parse_schedule(args.schedule)
    else:
        loss = args.loss or setup.default_loss(args, prepared.dataset)
        stages = scheduler.plain_schedule(args.optimizer, args.lr, args.epochs, loss)
    emd_r = float(getattr(args, "emd_r", 2.0))  # runs saved before --emd-r existed
    return [replace(s, losses=tuple(emd_loss_name(n, emd_r) for n in s.losses)) for s in stages]


@dataclass
class _Training:
    """What the epoch loop carries from one epoch to the next (and a resumed run restores)."""

    model: torch.nn.Module
    plan: list[scheduler.EpochPlan]
    select: str
    generator: torch.Generator
    init: str
    start: int = 0
    optimizer: Any = None
    best: dict[str, Any] | None = None
    best_state: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)


def run(
    args: argparse.Namespace,
    on_epoch: EpochCallback | None = None,
    prepared: setup.Prepared | None = None,
) -> RunResult:
    """Train as ``args`` say; returns the best and last epoch's metrics (and the registration)."""
    args, run_dir, resuming = resolve_run_dir(args)
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    torch.manual_seed(args.seed)
    if prepared is None:
        prepared = setup.prepare(args, run_dir, progress)
    training = _start(args, prepared, run_dir, resuming)
    record_run = getattr(args, "record_run", True)
    catalog_run = (
        _start_catalog_run(prepared, args, run_dir) if not resuming and record_run else None
    )
    with progress_bar(progress, "epochs", len(training.plan)) as advance:
        advance(training.start)
        for epoch in training.plan[training.start :]:
            record = _train_epoch(training, epoch, args, prepared, run_dir)
            value = record.get(f"val_{training.select}")
            advance(
                1, info=f"{epoch.optimizer} {epoch.loss} val {training.select} {value or 0:.3f}"
            )
            if on_epoch is not None:
                on_epoch(epoch.epoch, record)
    result = _finish(training, args, prepared, run_dir)
    if record_run:
        _finish_catalog_run(prepared, catalog_run, result)
    return result


def _start(
    args: argparse.Namespace, prepared: setup.Prepared, run_dir: Path, resuming: bool
) -> _Training:
    """A fresh model and plan, or (for --resume) the state of the last finished epoch."""
    model = setup.build_model(args, prepared).to(args.device)
    training = _Training(
        model=model,
        plan=scheduler.plan(_stages(args, prepared), args.lr_step, args.lr_gamma),
        select=args.select_metric or setup.default_metric(args, prepared.dataset),
        generator=torch.Generator().manual_seed(args.seed),
        init=_initialise(model, args, prepared) if not resuming else "resumed",
    )
    if not (resuming and (run_dir / "latest.pt").exists()):
        return training
    ckpt = torch.load(run_dir / "latest.pt", weights_only=True)
    model.load_state_dict(ckpt["model"])
    training.start, training.best = ckpt["epoch"] + 1, ckpt["best"]
    training.best_state = ckpt["best_state"]
    training.generator.set_state(ckpt["generator"])
    if training.start < len(training.plan):
        epoch = training.plan[training.start]
        training.optimizer = _optimizer(model, args, epoch)
        if epoch.stage == ckpt["stage"]:
            training.optimizer.load_state_dict(ckpt["optimizer"])
    training.history = _read_history(run_dir, training.start)
    return training


def _train_epoch(
    training: _Training,
    epoch: scheduler.EpochPlan,
    args: argparse.Namespace,
    prepared: setup.Prepared,
    run_dir: Path,
) -> dict[str, Any]:
    """One epoch: train, evaluate, log a metrics line, keep the best state, checkpoint."""
    started = time.perf_counter()
    model = training.model
    if training.optimizer is None or epoch.new_stage:
        training.optimizer = _optimizer(model, args, epoch)
    scheduler.set_lr(training.optimizer, epoch.lr)
    losses = train_one_epoch(
        model,
        prepared.train,
        training.optimizer,
        epoch.loss,
        args.batch_size,
        training.generator,
        args.device,
        args.rank_weight,
        args.rank_margin,
        progress=False,
    )
    metrics = _evaluate(model, prepared, args.device)
    record = {**epoch.as_dict(), **losses, **metrics, "init": training.init}
    record["seconds"] = round(time.perf_counter() - started, 3)
    training.history.append(record)
    with open(run_dir / "metrics.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
    key = f"val_{training.select}"
    value = metrics.get(key)
    if training.best is None or (value is not None and value > training.best.get(key, -1e9)):
        training.best = record
        training.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    atomic_save(
        {
            "epoch": epoch.epoch,
            "stage": epoch.stage,
            "model": model.state_dict(),
            "optimizer": training.optimizer.state_dict(),
            "best": training.best,
            "best_state": training.best_state,
            "generator": training.generator.get_state(),
        },
        run_dir / "latest.pt",
    )
    return record


def _finish(
    training: _Training, args: argparse.Namespace, prepared: setup.Prepared, run_dir: Path
) -> RunResult:
    """Save the best epoch's model (a head file, or model.pt), register a head, write result.json."""
    history, model = training.history, training.model
    result = RunResult(
        run_dir, training.best or {}, history[-1] if history else {}, history=history
    )
    if training.best_state is not None:
        model.load_state_dict(training.best_state)
    if isinstance(model, Head):
        result.head_file = run_dir / "head.safetensors"
        save_head(model, result.head_file, {"base_scorer": args.scorer})
    else:
        atomic_save(model.state_dict(), run_dir / "model.pt")
        if args.register and prepared.catalog is not None:  # a whole network is a version too
            result.head_file = network_file(args, run_dir, model, prepared)
    if args.register and prepared.catalog is not None and result.head_file is not None:
        summary = {k: v for k, v in result.best.items() if k.startswith("val_")}
        result.scorer_pk = register_head(
            prepared.catalog,
            args.scorer,
            result.head_file,
            {
                "trained": run_dir.name,
                "embedding_key": prepared.embedding_key,
                "metrics": summary,
                "init": prepared.notes.get("init"),
                # A fine-tuned CLIP tower computes its own embeddings (culler_plugins.clip.tuned).
                "backbone_tuned": prepared.backbone is not None,
            },
        )
    (run_dir / "result.json").write_text(
        json.dumps(
            {
                "best": result.best,
                "last": result.last,
                "scorer_pk": result.scorer_pk,
                "init": prepared.notes.get("init"),
            },
            indent=2,
        )
    )
    return result


def _optimizer(model: torch.nn.Module, args: argparse.Namespace, epoch: scheduler.EpochPlan):
    return scheduler.build_optimizer(
        epoch.optimizer,
        param_groups(model, args.head_lr_mult),
        epoch.lr,
        args.weight_decay,
        args.momentum,
        tuple(args.betas),
    )


def _evaluate(model: torch.nn.Module, prepared: setup.Prepared, device: str) -> dict[str, Any]:
    val_pred = predict(model, prepared.val, device=device)
    train_pred = predict(model, prepared.train, device=device)
    val = split_metrics(
        val_pred,
        prepared.val_samples,
        train_pred,
        prepared.train_samples,
        prepared.dataset.subset(prepared.split["val"]).preferences,
    )
    train = split_metrics(train_pred, prepared.train_samples, personal=False)
    return {
        **{f"val_{k}": v for k, v in val.items()},
        **{f"train_{k}": v for k, v in train.items()},
    }


def _initialise(model: torch.nn.Module, args: argparse.Namespace, prepared: setup.Prepared) -> str:
    """Start from the base head when asked and compatible; say what was used (logged per epoch)."""
    if not isinstance(model, Head):
        source = getattr(model, "init_source", None)  # set by the network's plugin
        if not source:
            return "scratch"
        prepared.notes["init"] = source
        return f"{source['from']} (sha256 {source['sha256']})"
    if args.init == "scratch":
        return "scratch"
    state, source = base_head_state(args, model, prepared.catalog)
    prepared.notes["init"] = source.as_dict()  # result.json and the registered version record it
    if state is not None:
        model.net.load_state_dict(state)
    return source.describe()


def _read_history(run_dir: Path, upto: int) -> list[dict[str, Any]]:
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    kept = [r for r in rows if r["epoch"] < upto]
    # A run killed between the metrics line and the checkpoint would repeat that epoch: drop it.
    path.write_text("".join(json.dumps(r) + "\n" for r in kept))
    return kept


def _start_catalog_run(prepared: setup.Prepared, args: argparse.Namespace, run_dir: Path):
    if prepared.catalog is None:
        return None
    return prepared.catalog.start_training_run(args.scorer, _jsonable(args), run_dir)


def _finish_catalog_run(prepared: setup.Prepared, run_id: int | None, result: RunResult) -> None:
    if prepared.catalog is None:
        return
    prepared.catalog.finish_training_run(run_id, result.run_dir, result.scorer_pk, result.best)
