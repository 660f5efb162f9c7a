"""``python -m culler_trainer`` and ``culler train``: parse the arguments, train (or search
hyper-parameters), print a summary.

Apart from :mod:`culler_trainer.main` because the search runs many trainings: ``hpo`` imports ``main``,
and this module imports both (when a network is trained: the personal ranker needs no torch).
"""

from __future__ import annotations

import json
import sys

from culler_trainer.data import NotEnoughRatings
from culler_trainer.params import parse_args
from culler_trainer.ranker import run_ranker


def main(argv: list[str] | None = None) -> int:
    """``python -m culler_trainer`` / ``culler train``: train, print a summary, exit 0 (2 on errors)."""
    args = parse_args(argv)
    try:
        if args.model == "ranker":  # NumPy only: torch is not even imported
            return run_ranker(args)
        from culler_trainer.hpo import run_hpo
        from culler_trainer.main import run

        if args.hpo:
            run_hpo(args)
            return 0
        result = run(args)
    except (NotEnoughRatings, FileNotFoundError, FileExistsError, ValueError, RuntimeError) as exc:
        print(f"culler train: error: {exc}", file=sys.stderr)
        return 2
    best = {k: round(v, 4) for k, v in result.best.items() if k.startswith("val_")}
    print(f"run folder: {result.run_dir}")
    print(f"best epoch {result.best.get('epoch')}: {json.dumps(best)}")
    if result.scorer_pk is not None:
        print(
            f"registered as scorer version #{result.scorer_pk} ({args.scorer}); "
            "the next `culler scan` uses it"
        )
    return 0
