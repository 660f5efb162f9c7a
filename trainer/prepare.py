"""Wiring before the first epoch: dataset, saved split, cached features or image loaders, the model.

Kept apart from the epoch loop so hyper-parameter search prepares the data once and trains many models
on it.
"""

from __future__ import annotations

import argparse
import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from culler_trainer import data as datasets
from culler_trainer.features import CatalogFeatures, FeatureCache, cache_file, load_features
from culler_trainer.models import (
    FEATURE_MODELS,
    BackboneWithHead,
    ImageModel,
    build_head,
    build_image_model,
    fit_inputs,
    freeze_backbone,
    image_transform,
)
from culler_trainer.train import ImageData, tensor_data

from culler.api import culler_home, get_scorer_classes


@dataclass
class Prepared:
    dataset: datasets.Dataset
    split: dict
    train: Any
    val: Any
    train_samples: list
    val_samples: list
    embedding_key: str | None = None
    #: For --unfreeze with a head: the base scorer's backbone (see :func:`trainable_backbone`).
    backbone: dict | None = None
    in_dim: int = 0
    catalog: Any = None
    notes: dict = field(default_factory=dict)


def open_dataset(args: argparse.Namespace) -> tuple[datasets.Dataset, Any]:
    """The dataset the arguments name, and the open catalog when it comes from one."""
    if args.db is not None:
        from culler.catalog import open_catalog

        if not Path(args.db).exists():
            raise FileNotFoundError(f"no catalog at {args.db}; run `culler scan FOLDER` first")
        catalog = open_catalog(args.db)
        if args.model == "tags":  # tags given by hand (culler tag), not star ratings
            return datasets.from_catalog_tags(catalog, args.min_ratings), catalog
        dataset = datasets.from_catalog(catalog, args.min_ratings)
        return datasets.with_classes(dataset, args.classes), catalog
    if args.ava is not None:
        return datasets.from_ava(args.ava, args.images, args.limit, args.classes), None
    return (
        datasets.from_csv(
            args.csv,
            args.images,
            args.image_column,
            args.score_column or None,
            args.label_columns or None,
            args.score_scale,
            args.classes,
            args.limit,
        ),
        None,
    )


def base_scorer(args: argparse.Namespace, catalog: Any) -> Any | None:
    """An instance of the base scorer (not loaded), configured as the catalog's active row says."""
    cls = get_scorer_classes().get(args.scorer)
    if cls is None:
        return None
    row = catalog.active_scorer(args.scorer) if catalog is not None else None
    config = dict(row["config"]) if row else {}
    for key in ("version_tag", "head_file", "head_sha256", "head_kind", "parent"):
        config.pop(key, None)
    return cls(config)


def embedding_key(args: argparse.Namespace, scorer: Any) -> str:
    if args.backbone:
        return args.backbone
    try:
        return scorer.embedding_key
    except (AttributeError, NotImplementedError):
        raise ValueError(
            f"cannot tell which embeddings to train on: scorer {args.scorer!r} is not installed or has "
            "no shared backbone; pass --backbone KEY (e.g. open_clip/ViT-L-14/openai)"
        ) from None


def lazy_embedder(scorer: Any, key: str, device: str):
    """Load the backbone only if some photo has no cached vector (loading ViT-L-14 takes a while)."""
    if scorer is None or getattr(scorer, "embed_batch", None) is None:
        return None
    state: dict[str, Any] = {}

    def embed(images: list) -> np.ndarray:
        if not state:
            if scorer.embedding_key != key:
                raise RuntimeError(
                    f"{scorer.id} computes '{scorer.embedding_key}' embeddings, not '{key}'"
                )
            scorer.load(device)
            state["loaded"] = True
        return scorer.embed_batch(images)

    return embed


def trainable_backbone(scorer: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The base scorer's backbone for fine-tuning, from its ``trainable_backbone(device)`` method.

    The method returns ``{"module": nn.Module, "transform": PIL image → tensor, "dim": int,
    "normalize": bool}`` (normalize: L2-normalise the features as the frozen embeddings are).
    """
    if scorer is None or not hasattr(scorer, "trainable_backbone"):
        raise ValueError(
            f"--unfreeze {args.unfreeze}: scorer {args.scorer!r} does not offer its backbone for "
            "fine-tuning (it has no trainable_backbone method); train a head on cached features instead"
        )
    return scorer.trainable_backbone(args.device)


def prepare(args: argparse.Namespace, run_dir: Path, progress: bool = False) -> Prepared:
    dataset, catalog = open_dataset(args)
    split_path = run_dir / "split.json"
    if split_path.exists():
        split = datasets.load_split(split_path, dataset)
    else:
        split = datasets.make_split(dataset, args.val_fraction, args.split_seed)
        datasets.save_split(split, split_path)
    train_set, val_set = dataset.subset(split["train"]), dataset.subset(split["val"])
    if not train_set.samples or not val_set.samples:
        raise ValueError(
            f"{len(dataset.samples)} samples are too few to hold some out for validation; add more"
        )
    prepared = Prepared(
        dataset, split, None, None, train_set.samples, val_set.samples, catalog=catalog
    )
    if args.model in FEATURE_MODELS and args.unfreeze == "none":
        scorer = base_scorer(args, catalog)
        key = embedding_key(args, scorer)
        if catalog is not None:
            store: Any = CatalogFeatures(catalog, key)
        else:
            store = FeatureCache(cache_file(culler_home() / "features", dataset.name, key), key)
        embed = lazy_embedder(scorer, key, args.device)
        size = getattr(scorer, "input_size", 224)
        feats = load_features(
            train_set.samples + val_set.samples, store, embed, size, progress=progress
        )
        store.close()
        n = len(train_set.samples)
        prepared.train = tensor_data(feats[:n], train_set.samples, train_set.preferences)
        prepared.val = tensor_data(feats[n:], val_set.samples, val_set.preferences)
        prepared.embedding_key, prepared.in_dim = key, int(feats.shape[1])
        if args.model == "prompts":  # the text tower gives the score-level prompts to start from
            prepared.notes["prompt_text"] = _prompt_text(scorer, args.device)
    else:
        if args.model in FEATURE_MODELS:  # a backbone fine-tuned with its head (AnB+)
            prepared.backbone = trainable_backbone(base_scorer(args, catalog), args)
            transform = prepared.backbone["transform"]
            prepared.in_dim = int(prepared.backbone["dim"])
            train_transform = transform
        else:
            transform = image_transform(args.model)
            train_transform = image_transform(args.model, train=True)
        prepared.train = ImageData(train_set.samples, train_transform, args.workers)
        prepared.val = ImageData(val_set.samples, transform, args.workers)
    return prepared


def _prompt_text(scorer: Any, device: str) -> Any:
    """The scorer's score-level prompt embeddings and logit scale (the CLIP scorers offer them)."""
    if not hasattr(scorer, "prompt_text"):
        raise ValueError(
            f"--model prompts needs a CLIP scorer (clip-aesthetic); {scorer.id} has no text prompts"
        )
    return scorer.prompt_text(device)


def outputs_for(args: argparse.Namespace, dataset: datasets.Dataset) -> int:
    if args.model == "tags":
        return len(dataset.label_names)
    if args.model in ("classes", "charlenet"):
        return args.classes or 2
    return 1


def build_model(args: argparse.Namespace, prepared: Prepared):
    """A fresh model for the arguments (heads on features, or a whole network)."""
    outputs = outputs_for(args, prepared.dataset)
    if args.model in FEATURE_MODELS and args.unfreeze == "none":
        head = build_head(
            args.model, prepared.in_dim, outputs, prepared.dataset.label_names or None
        )
        head.meta["embedding_key"] = prepared.embedding_key
        fit_inputs(head, prepared.train.inputs)
        if "prompt_text" in prepared.notes:
            head.net.set_text(*prepared.notes["prompt_text"])
        return head
    if args.model in FEATURE_MODELS:
        head = build_head(
            args.model, prepared.in_dim, outputs, prepared.dataset.label_names or None
        )
        backbone = copy.deepcopy(
            prepared.backbone["module"]
        )  # every model (HPO trial) starts afresh
        net = BackboneWithHead(backbone, head.net, bool(prepared.backbone.get("normalize", True)))
        model = ImageModel(
            args.model, net, {f"net.head.{n}" for n, _ in head.net.named_parameters()}
        )
    else:
        model = build_image_model(args.model, args, outputs)
    if args.unfreeze != "none":  # otherwise the network's own frozen parts stay frozen (SAAN)
        freeze_backbone(model, args.unfreeze)
    return model


def default_loss(args: argparse.Namespace, dataset: datasets.Dataset) -> str:
    if args.model == "tags":
        return "bce"
    if args.model in ("classes", "charlenet"):
        return "ce"
    return "mse"


def default_metric(args: argparse.Namespace, dataset: datasets.Dataset) -> str:
    if args.model == "tags":
        return "top1"
    if args.model in ("classes", "charlenet"):
        return "accuracy"
    return "agreement" if dataset.name == "catalog" else "plcc"
