"""One training epoch and one evaluation pass, shared by every model (heads on features, whole nets).

Data arrives as :class:`TensorData` (cached features, kept in memory: a few MB for thousands of photos)
or :class:`ImageData` (decoded per batch for unfrozen training). Preference pairs add a margin ranking
term alongside the epoch's loss.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from culler_trainer.data import Sample
from culler_trainer.losses import get_loss, margin_ranking
from culler_trainer.progress import progress_bar
from torch import nn

from culler.api import open_photo


def targets_for(samples: list[Sample]) -> dict[str, torch.Tensor]:
    """Target tensors present for every sample (score, distribution, labels, target_class)."""
    targets: dict[str, torch.Tensor] = {}
    if samples and all(s.score is not None for s in samples):
        targets["score"] = torch.tensor([s.score for s in samples], dtype=torch.float32)
    if samples and all(s.distribution is not None for s in samples):
        targets["distribution"] = torch.tensor(
            [s.distribution for s in samples], dtype=torch.float32
        )
    if samples and all(s.labels is not None for s in samples):
        targets["labels"] = torch.tensor([s.labels for s in samples], dtype=torch.float32)
    if samples and all(s.target_class is not None for s in samples):
        targets["target_class"] = torch.tensor([s.target_class for s in samples], dtype=torch.long)
    return targets


@dataclass
class TensorData:
    """Cached features with their targets; ``pairs`` index rows (preferred, other)."""

    inputs: torch.Tensor
    targets: dict[str, torch.Tensor]
    keys: list[str]
    pairs: torch.Tensor = field(default_factory=lambda: torch.zeros((0, 2), dtype=torch.long))

    def __len__(self) -> int:
        return len(self.keys)

    def batches(
        self, batch_size: int, shuffle: bool, generator: torch.Generator | None = None
    ) -> Iterator[tuple[torch.Tensor, dict[str, torch.Tensor]]]:
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            yield self.inputs[idx], {k: v[idx] for k, v in self.targets.items()}

    def pair_inputs(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rows = self.pairs[idx]
        return self.inputs[rows[:, 0]], self.inputs[rows[:, 1]]


def tensor_data(
    features: np.ndarray, samples: list[Sample], prefs: list[tuple[str, str]]
) -> TensorData:
    keys = [s.key for s in samples]
    row = {k: i for i, k in enumerate(keys)}
    pairs = [(row[w], row[lo]) for w, lo in prefs if w in row and lo in row]
    return TensorData(
        torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32)),
        targets_for(samples),
        keys,
        torch.tensor(pairs, dtype=torch.long).reshape(-1, 2),
    )


class ImageData:
    """Photos decoded per batch (for SAAN, CharLeNet and unfrozen backbones)."""

    def __init__(self, samples: list[Sample], transform: Any, workers: int = 0) -> None:
        self.samples = samples
        self.keys = [s.key for s in samples]
        self.targets = targets_for(samples)
        self.transform = transform
        self.workers = workers
        self.pairs = torch.zeros((0, 2), dtype=torch.long)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:

        image, _ = open_photo(self.samples[i].path, 512)
        return self.transform(image), i

    def batches(
        self, batch_size: int, shuffle: bool, generator: torch.Generator | None = None
    ) -> Iterator[tuple[torch.Tensor, dict[str, torch.Tensor]]]:
        loader = torch.utils.data.DataLoader(
            self,
            batch_size=batch_size,
            shuffle=shuffle,
            generator=generator,
            num_workers=self.workers,
        )
        for images, idx in loader:
            yield images, {k: v[idx] for k, v in self.targets.items()}


def _to(batch: dict[str, torch.Tensor], device: str) -> dict[str, torch.Tensor]:
    return {k: v.to(device) for k, v in batch.items()}


def train_one_epoch(
    model: nn.Module,
    data: TensorData | ImageData,
    optimizer: torch.optim.Optimizer,
    loss_name: str,
    batch_size: int,
    generator: torch.Generator,
    device: str = "cpu",
    rank_weight: float = 1.0,
    rank_margin: float = 0.5,
    progress: bool = False,
) -> dict[str, float]:
    """Train for one pass over ``data``; returns the mean loss (and ranking loss when pairs exist)."""
    loss_fn = get_loss(loss_name)
    model.train()
    total, rank_total, steps = 0.0, 0.0, 0
    n_pairs = len(data.pairs)
    pair_order = torch.randperm(n_pairs, generator=generator) if n_pairs else None
    n_batches = (len(data) + batch_size - 1) // batch_size
    with progress_bar(progress, f"  {loss_name}", n_batches) as advance:
        for x, batch in data.batches(batch_size, shuffle=True, generator=generator):
            x, batch = x.to(device), _to(batch, device)
            loss = loss_fn(model(x), batch)
            total += float(loss.detach())
            if pair_order is not None and rank_weight > 0:
                start = (steps * batch_size) % n_pairs
                idx = pair_order[start : start + batch_size]
                win, lose = data.pair_inputs(idx)
                rank = margin_ranking(
                    model(win.to(device))["score"], model(lose.to(device))["score"], rank_margin
                )
                rank_total += float(rank.detach())
                loss = loss + rank_weight * rank
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            steps += 1
            advance(1, info=f"loss {total / steps:.4f}")
    result = {"loss": total / max(steps, 1)}
    if pair_order is not None and rank_weight > 0:
        result["rank_loss"] = rank_total / max(steps, 1)
    return result


@torch.no_grad()
def predict(
    model: nn.Module, data: TensorData | ImageData, batch_size: int = 256, device: str = "cpu"
) -> dict[str, np.ndarray]:
    """Model outputs for every row of ``data``, in order, as numpy arrays."""
    model.eval()
    parts: dict[str, list[np.ndarray]] = {}
    for x, _ in data.batches(batch_size, shuffle=False):
        for key, value in model(x.to(device)).items():
            parts.setdefault(key, []).append(value.detach().cpu().numpy())
    return {k: np.concatenate(v) for k, v in parts.items()}
