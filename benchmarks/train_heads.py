"""How long a personal head takes to train on cached embeddings (seed 002: the cost is in the features).

Trains the trainer's heads on N random 768-d unit vectors (ViT-L-14 embedding size) with a hidden linear
target, on CPU, through the same loop ``culler train`` uses, and prints seconds per epoch and held-out
PLCC. Usage: python benchmarks/train_heads.py [N] [EPOCHS]
"""

from __future__ import annotations

import sys
import tempfile
import time

import numpy as np
import torch
from culler_trainer import main as trainer_main
from culler_trainer.data import Dataset, Sample
from culler_trainer.params import parse_args
from culler_trainer.prepare import Prepared
from culler_trainer.train import tensor_data


def synthetic(n: int, dim: int = 768) -> Prepared:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    w = rng.normal(size=dim)
    y = np.clip(5 + 1.5 * (x @ w) / (x @ w).std() + rng.normal(0, 0.5, n), 0, 10)
    samples = [Sample(key=str(i), score=float(v)) for i, v in enumerate(y)]
    k = n // 5
    train, val = samples[k:], samples[:k]
    return Prepared(
        Dataset("bench", samples),
        {"train": [s.key for s in train], "val": [s.key for s in val]},
        tensor_data(x[k:], train, []),
        tensor_data(x[:k], val, []),
        train,
        val,
        in_dim=dim,
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    torch.set_num_threads(max(1, torch.get_num_threads()))
    prepared = synthetic(n)
    models = ["linear", "distribution"]
    try:
        import culler_plugins.clip.heads  # noqa: F401

        models.insert(0, "mlp")
    except ImportError:
        pass
    with tempfile.TemporaryDirectory() as runs:
        for model in models:
            args = parse_args(
                ["--csv", "bench.csv", "--model", model, "--epochs", str(epochs), "--lr", "1e-3",
                 "--runs-dir", runs, "--name", model, "--no-progress"]
            )  # fmt: skip
            started = time.perf_counter()
            result = trainer_main.run(args, prepared=prepared)
            seconds = time.perf_counter() - started
            print(
                f"{model:12s} {n} photos × {epochs} epochs: {seconds:.2f} s "
                f"({seconds / epochs:.3f} s/epoch incl. evaluation), "
                f"held-out PLCC {result.best['val_plcc']:.3f}"
            )


if __name__ == "__main__":
    main()
