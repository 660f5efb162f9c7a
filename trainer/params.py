"""Command-line parameters of the trainer (``culler train …`` and ``python -m culler_trainer …``).

``parse_args(argv)`` returns an ``argparse.Namespace``; ``params.json`` in each run folder is that
namespace, so a run can be repeated or resumed exactly.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from culler_trainer.scheduler import PRESETS

MODELS = (
    "mlp",
    "linear",
    "distribution",
    "prompts",
    "tags",
    "classes",
    "saan",
    "charlenet",
    "ranker",
)
#: Editors whose marks the ranker reads (culler.decide.agreement.PRESETS).
EDITORS = ("capture-one", "darktable", "lightroom", "picks-only")

DESCRIPTION = """\
Train a scorer on your own ratings (the catalog's stars, picks/rejects and preferences) or on a public
dataset (AVA, BAID, any folder + CSV). Frozen-backbone embeddings are computed once and cached, so a head
trains in seconds on a CPU. A finished personal run becomes a new version of the base scorer that the
next `culler scan` uses.

examples:
  culler train --db shoot/culler.db                         # personal model from your ratings
  culler train --db shoot/culler.db --schedule seed000 --model distribution
  culler train --ava AVA.txt --images ava/images --model distribution --schedule seed000
  culler train --csv baid/train.csv --images baid/images --model saan --schedule saan \\
      --lr-step 10 --lr-gamma 0.1 --betas 0.5,0.999 --weight-decay 5e-4 --batch-size 64
  culler train --db shoot/culler.db --hpo halving --epochs 32 --hpo-min-epochs 2
  culler train --db shoot/culler.db --unfreeze all --lr 1e-5         # fine-tune CLIP with the head
  culler train --ava AVA.txt --images ava/images --model charlenet --classes 2 --schedule charlenet
  culler train --db shoot/culler.db --scorer emotion --model tags    # from `culler tag … --add awe`
  culler train --db archive/culler.db --model ranker    # a ranker from your culled shoots (no weights)
"""


def _betas(text: str) -> tuple[float, float]:
    a, b = (float(x) for x in text.split(","))
    return a, b


def build_parser() -> argparse.ArgumentParser:
    """The trainer's parser, one argument group per helper below."""
    p = argparse.ArgumentParser(
        prog="culler train",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _data_arguments(p)
    _model_arguments(p)
    _optimisation_arguments(p)
    _run_arguments(p)
    _search_arguments(p)
    _ranker_arguments(p)
    return p


def _ranker_arguments(p: argparse.ArgumentParser) -> None:
    r = p.add_argument_group("personal ranker (--model ranker)")
    r.add_argument(
        "--editor",
        choices=EDITORS,
        default="lightroom",
        help="which of your marks mean kept and dropped (as `culler agreement --editor`)",
    )
    r.add_argument(
        "--decisions-from",
        choices=("auto", "catalog", "xmp"),
        default="auto",
        help="read your decisions from XMP sidecars, the catalog, or the sidecar when there is one",
    )
    r.add_argument(
        "--folder",
        action="append",
        type=Path,
        default=[],
        help="learn only from the shoots under this folder (repeatable; default: the whole catalog)",
    )


def _data_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_argument_group("data")
    src.add_argument("--db", type=Path, help="catalog to learn your ratings from (personal model)")
    src.add_argument(
        "--ava", type=Path, help="AVA.txt (index, id, 10 vote counts, tags, challenge)"
    )
    src.add_argument(
        "--csv",
        type=Path,
        help="CSV with an image column and a score and/or tags (BAID: image,score)",
    )
    src.add_argument("--images", type=Path, help="folder holding the dataset's images")
    src.add_argument("--image-column", default="image")
    src.add_argument("--score-column", default="score")
    src.add_argument(
        "--label-columns", default="", help="comma-separated 0/1 tag columns (emotion)"
    )
    src.add_argument(
        "--score-scale", type=float, default=1.0, help="multiply CSV scores to reach 0–10"
    )
    src.add_argument(
        "--classes",
        type=int,
        choices=(0, 2, 3),
        default=0,
        help="good/bad(/middle) classes from the score",
    )
    src.add_argument("--limit", type=int, default=None, help="use at most this many samples")
    src.add_argument(
        "--min-ratings", type=int, default=20, help="fewest rated photos a personal model accepts"
    )
    src.add_argument("--val-fraction", type=float, default=0.25)
    src.add_argument("--split-seed", type=int, default=0)


def _model_arguments(p: argparse.ArgumentParser) -> None:
    m = p.add_argument_group("model")
    m.add_argument(
        "--scorer",
        default="clip-aesthetic",
        help="base scorer: its backbone gives the features and its id the new version",
    )
    m.add_argument(
        "--backbone", default=None, help="embedding key to train on (default: the base scorer's)"
    )
    m.add_argument("--model", choices=MODELS, default="mlp", help="head or network to train")
    m.add_argument(
        "--init",
        default="base",
        help="'base': the installed base head (CLIP), the ImageNet networks (SAAN, CharLeNet); "
        "'scratch' (heads only); or a FILE in any format the scorer imports",
    )
    m.add_argument(
        "--unfreeze",
        default="none",
        help="backbone layers to train: none (cached features), all, or last:N",
    )
    m.add_argument(
        "--head-lr-mult",
        type=float,
        default=10.0,
        help="learning-rate multiplier of the new head when the backbone trains",
    )
    m.add_argument(
        "--norm",
        choices=("batch", "group", "mixed"),
        default="batch",
        help="SAAN normalisation (group = GroupNorm(16); mixed = BatchNorm in the non-local block, "
        "GroupNorm(16) on the pooled features)",
    )


def _optimisation_arguments(p: argparse.ArgumentParser) -> None:
    o = p.add_argument_group("optimisation")
    o.add_argument(
        "--schedule",
        default=None,
        help=f"preset ({', '.join(PRESETS)}) or stages OPT:LR:EPOCHS:LOSS[/LOSS][@N],…",
    )
    o.add_argument("--optimizer", default="adamw", choices=("adamw", "adam", "sgd"))
    o.add_argument("--lr", type=float, default=1e-3)
    o.add_argument("--epochs", type=int, default=40)
    o.add_argument(
        "--loss",
        default=None,
        help="mse, l1, mixed, huber, emd (emd1, emd2), bce, ce (default suits the model)",
    )
    o.add_argument(
        "--emd-r",
        type=float,
        choices=(1.0, 2.0),
        default=2.0,
        help="EMD form a plain 'emd' loss uses: 2 = NIMA (mean over bins), 1 = plain sum",
    )
    o.add_argument("--batch-size", type=int, default=32)
    o.add_argument("--weight-decay", type=float, default=1e-4)
    o.add_argument("--momentum", type=float, default=0.9)
    o.add_argument("--betas", type=_betas, default=(0.9, 0.999), help="Adam betas, e.g. 0.5,0.999")
    o.add_argument(
        "--lr-step", type=int, default=0, help="decay the rate every N epochs of a stage"
    )
    o.add_argument("--lr-gamma", type=float, default=0.1)
    o.add_argument(
        "--rank-weight", type=float, default=1.0, help="weight of the pairwise preference loss"
    )
    o.add_argument("--rank-margin", type=float, default=0.5)
    o.add_argument("--seed", type=int, default=0)
    o.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto")
    o.add_argument(
        "--workers", type=int, default=0, help="image loader processes (unfrozen training)"
    )


def _run_arguments(p: argparse.ArgumentParser) -> None:
    r = p.add_argument_group("run")
    r.add_argument(
        "--runs-dir",
        type=Path,
        default=None,
        help="where run folders go (default: CULLER_HOME/runs)",
    )
    r.add_argument("--name", default=None, help="run folder name (default: date-time and model)")
    r.add_argument(
        "--resume", default=None, help="run folder (or 'latest') to continue from its checkpoint"
    )
    r.add_argument(
        "--select-metric", default=None, help="validation metric that picks the best epoch"
    )
    r.add_argument(
        "--register",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="make the result the active scorer version (default: yes for --db)",
    )
    r.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bars (default: on a terminal)",
    )


def _search_arguments(p: argparse.ArgumentParser) -> None:
    h = p.add_argument_group("hyper-parameter search (seed 001)")
    h.add_argument(
        "--hpo",
        nargs="?",
        const="halving",
        default=None,
        choices=("halving", "asha", "hyperband"),
        help="search learning rate × batch size: halving (synchronous, the paper's; the default), "
        "asha (Optuna's asynchronous halving) or hyperband (Optuna's)",
    )
    h.add_argument("--hpo-lrs", default="1e-4,3e-4,1e-3,3e-3")
    h.add_argument("--hpo-batch-sizes", default="8,16,32,64")
    h.add_argument("--hpo-min-epochs", type=int, default=2)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse and check the trainer's arguments (argparse exits with a message on bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    sources = [s for s in ("db", "ava", "csv") if getattr(args, s) is not None]
    if len(sources) != 1 and not args.resume:
        parser.error("give exactly one data source: --db CATALOG, --ava AVA.txt or --csv FILE")
    if args.ava is not None and args.images is None:
        parser.error("--ava needs --images FOLDER (where the AVA .jpg files are)")
    if args.unfreeze != "none" and not (
        args.unfreeze == "all" or args.unfreeze.startswith("last:")
    ):
        parser.error("--unfreeze must be none, all or last:N")
    if args.model == "ranker" and args.db is None:
        parser.error("--model ranker learns from a catalog: give --db CATALOG")
    if args.model in ("saan", "charlenet"):
        args.scorer = args.model  # the network is the scorer: its versions and weights are its own
    if args.model in ("classes", "charlenet") and not args.classes:
        args.classes = 2  # a classifier needs class targets: good/bad unless --classes 3
    args.label_columns = [c for c in args.label_columns.split(",") if c]
    if args.register is None:
        args.register = args.db is not None
    return args
