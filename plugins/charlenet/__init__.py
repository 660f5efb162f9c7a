"""The ``charlenet`` scorer: CaffeNet with a good/bad classifier (seed 004).

Score = 10 · P(good); the reason shows the class probabilities. The default head has 2 classes
(bad, good); ``classes=3`` in the scorer's configuration selects the 3-way head (bad, average, good),
whose weights install as ``charlenet-3way.safetensors``. No trained CharLeNet is published, so weights
come from ``culler models import charlenet FILE`` (Caffe arrays in an .npz, see
:mod:`culler_plugins.charlenet.convert`) or from ``culler train --model charlenet``. torch is imported
only inside ``load()``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from culler.api import (
    EnabledWhenInstalled,
    Scorer,
    ScoreResult,
    TrainableModel,
    WeightSpec,
    expected_sha256,
    hookimpl,
    load_state_dict,
    place_conv_net,
    resolve,
)

__version__ = "1.0"

_DESCRIPTION = (
    "a trained CharLeNet ({} classes, ~{} MB); none is published: import Caffe arrays (.npz) with "
    "`culler models import charlenet FILE` or train one with `culler train --model charlenet`"
)


def weight_spec(classes: int) -> WeightSpec:
    from culler_plugins.charlenet.convert import weight_name

    return WeightSpec(
        name=weight_name(classes),
        source="",
        sha256="",
        licence="as the checkpoint's origin",
        description=_DESCRIPTION.format(classes, 228),
    )


class CharLeNetScorer(Scorer):
    id = "charlenet"
    version = "1"
    kind = "score"
    description = "CharLeNet: CaffeNet good/bad classifier (seed 004); score = 10 · P(good)"
    input_size = 227
    batch_size = 32
    weights: ClassVar[list[WeightSpec]] = [weight_spec(2)]
    #: Runs in a plain ``culler scan`` once a 2- or 3-way file is installed (none can be pulled).
    default_enabled = EnabledWhenInstalled(weight_spec(2).name, weight_spec(3).name)  # type: ignore[assignment]

    @classmethod
    def classes_of(cls, config: dict[str, Any] | None) -> int:
        classes = int((config or {}).get("classes", 2))
        if classes not in (2, 3):
            raise ValueError(f"charlenet: classes must be 2 or 3, not {classes}")
        return classes

    @classmethod
    def weight_specs(cls, config: dict[str, Any] | None = None) -> list[WeightSpec]:
        """The 2-way head by default; ``classes=3`` needs the 3-way file."""
        return [weight_spec(cls.classes_of(config))]

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__(config)
        self.classes = self.classes_of(self.config)
        self.model = None

    def load(self, device: str = "cpu") -> None:
        from culler_plugins.charlenet import convert
        from culler_plugins.charlenet.model import CaffeNet

        state, sha = self._weights()
        self.classes = convert.num_classes_of(state)
        model = CaffeNet(self.classes)
        convert.check(state, model)
        model.load_state_dict(state, strict=True)
        self.model, self.memory_format = place_conv_net(model, device)
        self.device = device
        self.weights_sha256 = sha

    def _weights(self) -> tuple[dict[str, Any], str]:
        """A personal (fine-tuned) network the config names, else the installed 2- or 3-way file;
        its state and sha256."""
        from culler.api import personal_state  # imports torch: load() needs it anyway

        personal = personal_state(self.config)
        if personal is not None:
            return personal, str(self.config.get("head_sha256") or "")
        spec = weight_spec(self.classes)
        path = resolve(self.id, spec)  # WeightsMissing when absent: never random weights
        return load_state_dict(path), expected_sha256(self.id, spec)

    def score_batch(self, images: list) -> list[ScoreResult]:
        import torch
        from culler_plugins.charlenet.model import CLASS_NAMES, preprocess

        if self.model is None:
            raise RuntimeError("charlenet: score_batch called before load()")
        x = torch.stack([preprocess(im) for im in images]).to(self.device)
        x = x.contiguous(memory_format=self.memory_format)
        with torch.inference_mode():
            probs = torch.softmax(self.model(x).float(), dim=-1).cpu().tolist()
        names = CLASS_NAMES[self.classes]
        results = []
        for row in probs:
            best = max(range(len(row)), key=row.__getitem__)
            shown = ", ".join(f"P({n}) {p:.2f}" for n, p in zip(reversed(names), reversed(row)))
            results.append(
                ScoreResult(
                    score=10.0 * row[-1],
                    reasons=[f"{shown} → {names[best]}"],
                    extra={"class": names[best], "probabilities": dict(zip(names, row))},
                )
            )
        return results

    @classmethod
    def convert_weights(cls, src: Path, workdir: Path) -> dict[str, Path] | None:
        """Caffe arrays (.npz), a ``culler train`` run's model.pt or culler's layout → the 2- or 3-way
        weight file (named after fc8's width), checked against the network first."""
        from culler_plugins.charlenet.convert import convert_file

        return convert_file(Path(src), Path(workdir))


@hookimpl
def register_scorers(register) -> None:
    register(CharLeNetScorer)


def _build_charlenet(outputs: int, settings: dict[str, Any]) -> Any:
    from culler_plugins.charlenet.model import build_charlenet

    return build_charlenet(outputs)


def _start_weights(net: Any, init: str) -> dict[str, str]:
    """Transfer from the ImageNet CaffeNet (or fine-tune an installed CharLeNet); never random."""
    from culler_plugins.charlenet.transfer import start_weights

    return start_weights(net, init)


def _preprocess(image: Any) -> Any:
    from culler_plugins.charlenet.model import preprocess

    return preprocess(image)


@hookimpl
def register_trainable_models(register) -> None:
    """CaffeNet with a 2- or 3-way classifier (``--classes``), trained on images with the scorer's
    own preprocessing; the run's model.pt imports with ``culler models import charlenet``."""
    register(
        TrainableModel(
            "charlenet",
            "image",
            _build_charlenet,
            scorer="charlenet",
            preprocess=_preprocess,
            start=_start_weights,
            description="CharLeNet (CaffeNet) good/bad classifier on images",
        )
    )
