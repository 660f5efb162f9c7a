"""Frozen-backbone features, computed once and cached (seed 002: this is where training time goes).

Catalog photos use the catalog's own ``embeddings`` table (the same vectors ``culler scan`` stores, keyed
by backbone), so a personal head usually trains without decoding a single photo. Public datasets get a
small SQLite cache file per backbone (:class:`culler.catalog.feature_cache.FeatureCache`). Missing
vectors are computed with the base scorer's ``embed_batch`` and written back as they are made, so an
interrupted caching run resumes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from culler_trainer.data import Sample
from culler_trainer.progress import progress_bar

from culler.api import ImageError, open_photo
from culler.catalog.feature_cache import FeatureCache

Embedder = Callable[[list[Any]], np.ndarray]


class CatalogFeatures:
    """The catalog's ``embeddings`` table seen through the same get/put interface."""

    def __init__(self, catalog: Any, model: str) -> None:
        self.catalog = catalog
        self.model = model

    def get(self, keys: list[str]) -> dict[str, np.ndarray]:
        found = self.catalog.embeddings(self.model, [int(k) for k in keys])
        return {str(pid): vec for pid, vec in found.items()}

    def put(self, items: dict[str, np.ndarray]) -> None:
        self.catalog.save_embeddings(self.model, {int(k): v for k, v in items.items()})

    def close(self) -> None:
        pass


def cache_file(root: Path, dataset_name: str, model: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{dataset_name}-{model}")
    return root / f"{safe}.sqlite"


def load_features(
    samples: list[Sample],
    store: FeatureCache | CatalogFeatures,
    embedder: Embedder | None,
    input_size: int = 224,
    batch_size: int = 16,
    progress: bool = False,
) -> np.ndarray:
    """(N, D) float32 features for ``samples`` in order, computing and caching the missing ones."""
    keys = [s.key for s in samples]
    found = store.get(keys)
    missing = [s for s in samples if s.key not in found]
    if missing:
        if embedder is None:
            raise RuntimeError(
                f"{len(missing)} of {len(samples)} photos have no cached '{store.model}' embedding and "
                "the base scorer cannot compute them (are its weights installed? `culler models list`); "
                "or run `culler scan` with that scorer first"
            )
        with progress_bar(progress, "caching features", len(missing)) as advance:
            for chunk in _chunks(missing, batch_size):
                images, ok = _decode(chunk, input_size)
                if images:
                    vectors = np.asarray(embedder(images), dtype=np.float32)
                    new = {s.key: v for s, v in zip(ok, vectors)}
                    store.put(new)
                    found.update(new)
                advance(len(chunk))
    absent = [k for k in keys if k not in found]
    if absent:
        raise RuntimeError(
            f"{len(absent)} photos could not be decoded for feature caching (e.g. {absent[0]}); "
            "check the paths or remove them from the dataset"
        )
    return np.stack([found[k] for k in keys]).astype(np.float32)


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _decode(samples: list[Sample], input_size: int) -> tuple[list[Any], list[Sample]]:

    images, ok = [], []
    for s in samples:
        try:
            image, _ = open_photo(s.path, input_size)
        except (ImageError, OSError):
            continue
        images.append(image)
        ok.append(s)
    return images, ok
