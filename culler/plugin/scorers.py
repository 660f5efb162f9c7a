"""The Scorer contract and the registry that ``register_scorers`` fills.

A scorer turns decoded images into :class:`ScoreResult` objects. It never sees the catalog: core decodes
the photos, batches them, calls the scorer, validates what comes back and stores it. Results are keyed by
(scorer id, version, weights sha256), so a new version or new weights never mixes with old scores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from culler.plugin import manager as plugin_manager

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from culler.plugin.weight_spec import FetchedWeights, WeightSpec

KINDS = ("score", "tags", "embedding", "classes")


class Downloads(Protocol):
    """What :meth:`Scorer.fetch_weights` may download with (``culler.models.pull.Downloads`` provides it):
    every transfer has a timeout, shows progress and lands in ``workdir``."""

    workdir: Path

    def hub(self, repo: str, filename: str) -> Path:
        """One file of a Hugging Face hub repository; raises ``culler.api.NotOnHub``."""

    def url(self, url: str, name: str = "", expected_size: int | None = None) -> Path:
        """One https file, size-checked when ``expected_size`` is given."""


#: What a scorer's number means when photos are ranked (``Scorer.role``): an opinion on how good the
#: picture is, a measure of technical quality, a penalty (10 = nothing wrong, None = nothing to judge)
#: subtracted per missing point, or a ``measure``: a figure to sort and filter by that says nothing of
#: which photo is better (an example plugin's colourfulness), left out of ranking and of the cull's
#: reasons unless ``culler cull --weight ID=W`` names it. Core combines scores by role, never by id.
ROLES = ("aesthetic", "technical", "penalty", "measure")
#: ``Image.info`` key under which an in-worker scorer with a ``small_copy_side`` finds the decode
#: worker's small copy of the image it scores (see ``Scorer.small_copy_side``).
SMALL_COPY_KEY = "culler.small_copy"
#: ``Image.info`` key under which an in-worker scorer finds the photo's shooting data from EXIF, a
#: dict with ``exposure_time`` (seconds), ``f_number``, ``iso`` and ``focal_length`` (mm), each None
#: when the file does not say: evidence a scorer may weigh (a 1/8 s frame is a motion-blur suspect).
SHOOTING_KEY = "culler.shooting"


@dataclass
class ScoreResult:
    """What a scorer says about one image.

    ``score`` is on a 0–10 scale (higher is better). ``distribution`` is an optional list of 10
    probabilities over score bins 1..10. ``tags`` maps label to probability. ``reasons`` are short
    human strings for the "why" panel ("highlights clipped 12 %"). ``extra`` is any JSON-able detail.

    A scorer that can name a defect with confidence lists it under ``extra["defects"]``: dicts with
    ``defect`` (a short id such as ``motion_blur``, ``missed_focus``, ``eyes_closed``, ``soft_face``,
    ``clipping``), ``confidence`` (0–1) and ``reason`` (the words a photographer reads, e.g. "motion blur
    (horizontal)") and optionally ``reject`` (default true; false for a defect worth naming that is
    no reason to reject on its own, such as grain). ``culler cull`` rejects a photo outside a group
    only for such a named defect.
    """

    score: float | None = None
    distribution: list[float] | None = None
    tags: dict[str, float] | None = None
    embedding: np.ndarray | None = None
    reasons: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def problems(self) -> list[str]:
        """Why this result cannot be stored (empty when it is fine)."""
        problems = []
        if self.score is not None and not (
            isinstance(self.score, (int, float)) and math.isfinite(self.score)
        ):
            problems.append(f"score is not a finite number: {self.score!r}")
        if self.distribution is not None and not all(math.isfinite(p) for p in self.distribution):
            problems.append("distribution contains NaN or inf")
        if self.tags and not all(math.isfinite(p) for p in self.tags.values()):
            problems.append("a tag probability is NaN or inf")
        return problems


class Scorer:
    """Base class for every scorer. Subclass it and register the class from ``register_scorers``.

    Class attributes describe the scorer; instances hold loaded models. ``load`` is called once per scan
    with the chosen device ("cuda", "mps" or "cpu") and must raise :class:`culler.models.weights.WeightsMissing`
    (whose message is the exact command that fixes it) when its weights are not installed: a learned
    scorer never scores with random weights.
    """

    id: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    kind: ClassVar[str] = "score"
    description: ClassVar[str] = ""
    #: Longer side (pixels) of the decoded image this scorer wants; drives reduced-size decoding.
    input_size: ClassVar[int] = 224
    batch_size: ClassVar[int] = 16
    #: Weight files this scorer needs; [] for weight-free scorers.
    weights: ClassVar[list[WeightSpec]] = []
    #: Cheap CPU-only scorers run inside the decode workers, next to the decoder (no image shipping).
    runs_in_worker: ClassVar[bool] = False
    #: In-worker scorers only: modules to import once in the process the scan's workers are forked
    #: from, so that what they load at import (a large read-only model) is shared by every worker
    #: instead of read by each. Importing them must never raise; a worker loads what is missing.
    worker_preload: ClassVar[tuple[str, ...]] = ()
    #: In-worker scorers only: set to the decode worker's thumbnail side (400 px) to find, in
    #: ``image.info[SMALL_COPY_KEY]``, the area-averaged RGB array the worker makes for the thumbnail,
    #: instead of resizing the photo again. None: no small copy is made for this scorer.
    small_copy_side: int | None = None
    #: How ranking uses the score: one of :data:`ROLES`.
    role: ClassVar[str] = "aesthetic"
    #: Whether ``culler scan`` runs this scorer when the user names none.
    default_enabled: ClassVar[bool] = True
    #: Filled in by the registry: the plugin that registered the class.
    plugin_name: ClassVar[str | None] = None
    #: Keys of ``extra`` this scorer computes when a viewer asks (:meth:`details_on_demand`) instead
    #: of storing them for every photo: a per-tile map the loupe's overlay draws is worth its bytes
    #: only for the photo on screen. Empty: every detail is in the stored ``extra``.
    details_on_demand_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config: dict[str, Any] = dict(config or {})
        self.device: str = "cpu"
        #: sha256 identifying the weights in use ("" for weight-free scorers); set by ``load``.
        self.weights_sha256: str = ""

    @property
    def version_key(self) -> str:
        """The version stored in the catalog; personal (fine-tuned) variants append their own tag."""
        tag = self.config.get("version_tag")
        return f"{self.version}+{tag}" if tag else self.version

    def load(self, device: str = "cpu") -> None:
        """Load models onto ``device``. Weight-free scorers need not override this."""
        self.device = device

    def score_batch(self, images: list[Image.Image]) -> list[ScoreResult]:
        """Score RGB images (longer side about ``input_size``); return one result per image, in order."""
        raise NotImplementedError

    def details_on_demand(self, image: Image.Image) -> dict[str, Any]:
        """The :attr:`details_on_demand_keys` of ``extra`` for one image, for a viewer (the GUI's
        overlay) that shows them: the same keys and shapes ``extra`` would hold, computed from the
        image as the scan handed it to :meth:`score_batch` (core decodes the file the same way), so
        they are what a scan would have stored. Called on a worker thread, on an instance made with
        the scorer's default settings and loaded on the CPU. Default: nothing."""
        return {}

    @classmethod
    def weight_specs(cls, config: dict[str, Any] | None = None) -> list[WeightSpec]:
        """The weight files this scorer needs with ``config`` (``culler models list|pull|import`` and
        the GUI ask this). Default: :attr:`weights`; override when a setting picks other files (e.g.
        another open_clip backbone)."""
        return list(cls.weights)

    @classmethod
    def weight_holders(cls, spec: WeightSpec) -> list[str]:
        """Other scorer ids whose installed copy of ``spec`` serves this scorer too, so one download
        is enough (clip-aesthetic and emotion share one CLIP backbone). Default: none."""
        return []

    @classmethod
    def convert_weights(cls, src: Path, workdir: Path) -> dict[str, Path] | None:
        """Turn a file the user has (e.g. a published checkpoint in another key layout) into this
        scorer's weight files, for ``culler models import``.

        Return ``{weight spec name: converted file in workdir}`` (safetensors), or None when ``src``
        already is one of :attr:`weights` as published (it is then installed unchanged, checked against
        that spec's sha256). Raise :class:`culler.models.weights.WeightsError` with a clear message when the
        file is not something this scorer can use. Load ``src`` only through
        :func:`culler.models.weights.load_state_dict`.
        """
        return None

    @classmethod
    def fetch_weights(
        cls, spec: WeightSpec, downloads: Downloads, config: dict[str, Any] | None = None
    ) -> FetchedWeights | None:
        """Download ``spec`` for ``culler models pull`` when its ``source`` is a scheme only this
        scorer understands (the CLIP plugin resolves ``open_clip://MODEL/TAG``).

        Use ``downloads.hub(repo, filename)`` and ``downloads.url(url)`` (they honour the user's
        timeout, progress display and offline setting, and clean up), convert what you fetched into
        ``downloads.workdir`` if needed, and return a :class:`culler.api.FetchedWeights`. Return None
        (the default) to let core fetch ``hf://`` and https sources.
        """
        return None


class EmbeddingScorer(Scorer):
    """A scorer whose work splits into an image embedding (shared, cached in the catalog) and a head.

    Scorers with the same ``embedding_key`` share one forward pass per photo, and a photo whose embedding
    is already in the catalog is scored from it without being decoded again.
    """

    kind: ClassVar[str] = "score"

    @property
    def embedding_key(self) -> str:
        """Identifies the backbone and its weights, e.g. ``open_clip/ViT-L-14/openai``."""
        raise NotImplementedError

    def embed_batch(self, images: list[Image.Image]) -> np.ndarray:
        """Return an (N, D) float32 array of embeddings for the images."""
        raise NotImplementedError

    def score_embeddings(self, vectors: np.ndarray) -> list[ScoreResult]:
        """Score (N, D) embeddings; one result per row."""
        raise NotImplementedError

    def score_batch(self, images: list[Image.Image]) -> list[ScoreResult]:
        return self.score_embeddings(self.embed_batch(images))


_registry: dict[str, type[Scorer]] | None = None


def _validate_class(cls: type) -> None:
    if not (isinstance(cls, type) and issubclass(cls, Scorer)):
        raise TypeError(f"register() takes a Scorer subclass, got {cls!r}")
    if not cls.id or not isinstance(cls.id, str):
        raise TypeError(f"{cls.__name__} has no string 'id'")
    if cls.kind not in KINDS:
        raise TypeError(f"{cls.__name__}.kind must be one of {KINDS}, got {cls.kind!r}")
    if cls.role not in ROLES:
        raise TypeError(f"{cls.__name__}.role must be one of {ROLES}, got {cls.role!r}")


def get_scorer_classes(refresh: bool = False) -> dict[str, type[Scorer]]:
    """All registered scorer classes by id, filled through the ``register_scorers`` hook."""
    global _registry
    if _registry is not None and not refresh:
        return _registry
    pm = plugin_manager.load_plugins()
    registry: dict[str, type[Scorer]] = {}
    for impl in reversed(pm.hook.register_scorers.get_hookimpls()):
        registered: list[type[Scorer]] = []
        try:
            impl.function(register=registered.append)
            for cls in registered:
                _validate_class(cls)
        except Exception as exc:
            plugin_manager.FAILED[impl.plugin_name] = (
                f"register_scorers: {type(exc).__name__}: {exc}"
            )
            continue
        for cls in registered:
            if cls.id in registry:
                plugin_manager.FAILED[impl.plugin_name] = (
                    f"scorer id {cls.id!r} is already registered by {registry[cls.id].plugin_name}"
                )
                continue
            cls.plugin_name = impl.plugin_name
            registry[cls.id] = cls
    _registry = registry
    return registry


def reset_registry() -> None:
    """Forget the registry so the next lookup asks the plugins again (after registering a plugin)."""
    global _registry
    _registry = None


def get_scorer_class(scorer_id: str) -> type[Scorer]:
    """The registered class of ``scorer_id``; KeyError names the installed scorers."""
    classes = get_scorer_classes()
    if scorer_id not in classes:
        known = ", ".join(sorted(classes)) or "none"
        raise KeyError(
            f"no scorer called {scorer_id!r} (installed scorers: {known}); see `culler plugins`"
        )
    return classes[scorer_id]
