"""The ``saan`` scorer: SAAN (Yi et al., CVPR 2023), an aesthetic regressor with a style branch.

No trained SAAN is published in a form culler can download and verify (the authors' checkpoint is a
Google Drive file), so the scorer's one weight file is imported: ``culler models import saan
model_best.pth`` converts the official checkpoint (see :mod:`culler_plugins.saan.convert`), or a run of
``culler train --model saan`` provides one. torch is imported only inside ``load()``: every culler
command and decode worker imports this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from culler.api import (
    EnabledWhenInstalled,
    Scorer,
    ScoreResult,
    TrainableModel,
    WeightsError,
    WeightSpec,
    expected_sha256,
    hookimpl,
    load_state_dict,
    place_conv_net,
    resolve,
)

__version__ = "1.0"

SAAN_WEIGHTS = WeightSpec(
    name="saan.safetensors",
    source="",
    sha256="",
    licence="as the checkpoint's origin (the official BAID code states none; BAID data: CC BY-NC-ND 4.0)",
    description=(
        "a trained SAAN (both backbones included, ~123 MB); no public file in culler's layout: import "
        "the official model_best.pth with `culler models import saan FILE` or train one with "
        "`culler train --model saan`"
    ),
)


class SaanScorer(Scorer):
    id = "saan"
    version = "1"
    kind = "score"
    description = (
        "SAAN (CVPR 2023): generic ResNet-50 + AdaIN style branch + non-local block; artistic "
        "aesthetics on 0–10"
    )
    input_size = 224
    batch_size = 8
    weights: ClassVar[list[WeightSpec]] = [SAAN_WEIGHTS]
    default_enabled = EnabledWhenInstalled(SAAN_WEIGHTS.name)  # type: ignore[assignment]

    @classmethod
    def pretrained_backbones(cls) -> list[WeightSpec]:
        """torchvision's ImageNet ResNet-50 and VGG-19 files, needed only to train SAAN from scratch."""
        from culler_plugins.saan.backbones import PRETRAINED_BACKBONES

        return list(PRETRAINED_BACKBONES)

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__(config)
        self.model = None

    def load(self, device: str = "cpu") -> None:
        from culler.api import personal_state  # imports torch: load() needs it anyway

        state = personal_state(self.config)  # a fine-tuned SAAN registered by `culler train`
        if state is None:
            path = resolve(
                self.id, SAAN_WEIGHTS
            )  # WeightsMissing when absent: never random weights
            state = load_state_dict(path)
            sha = expected_sha256(self.id, SAAN_WEIGHTS)
        else:
            sha = str(self.config.get("head_sha256") or "")
        from culler_plugins.saan import convert
        from culler_plugins.saan.model import NORM_NAMES, SAAN, normalize_norm

        norm = convert.norm_of(state)
        wanted = self.config.get("norm")
        if wanted and normalize_norm(wanted) != norm:
            raise WeightsError(
                f"saan: the configuration asks for norm={wanted} but the installed weights are the "
                f"{NORM_NAMES[norm]} variant; import matching weights"
            )
        model = SAAN(norm)
        convert.check(state, model)
        model.load_state_dict(state, strict=True)
        self.model, self.memory_format = place_conv_net(model, device)
        self.device = device
        self.weights_sha256 = sha

    def score_batch(self, images: list) -> list[ScoreResult]:
        import torch
        from culler_plugins.saan.model import preprocess

        if self.model is None:
            raise RuntimeError("saan: score_batch called before load()")
        x = torch.stack([preprocess(im) for im in images]).to(self.device)
        x = x.contiguous(memory_format=self.memory_format)
        parts = {k: v.float().cpu().tolist() for k, v in self.model.explain(x).items()}
        results = []
        for i in range(len(images)):
            style, generic = parts["style"][i], parts["generic"][i]
            results.append(
                ScoreResult(
                    score=float(parts["score"][i]),
                    reasons=[_reason(style, generic)],
                    extra={
                        "logit_style": round(style, 4),
                        "logit_generic": round(generic, 4),
                        "logit_bias": round(parts["bias"][i], 4),
                    },
                )
            )
        return results

    @classmethod
    def convert_weights(cls, src: Path, workdir: Path) -> dict[str, Path] | None:
        """Official BAID checkpoint, a ``culler train`` run's model.pt, or culler's layout →
        ``saan.safetensors`` (checked against the network before anything is installed)."""
        from culler_plugins.saan.convert import convert_file

        return convert_file(Path(src), Path(workdir))


def _reason(style: float, generic: float) -> str:
    """Which half of the feature map moved the score, in words ("style features raise it (+1.2) …")."""

    def phrase(name: str, value: float) -> str:
        direction = "raise" if value >= 0 else "lower"
        return f"{name} features {direction} it ({value:+.2f})"

    first, second = sorted(
        [("style", style), ("content", generic)], key=lambda p: abs(p[1]), reverse=True
    )
    return f"{phrase(*first)}, {phrase(*second)} [logit]"


@hookimpl
def register_scorers(register) -> None:
    register(SaanScorer)


def _build_saan(outputs: int, settings: dict[str, Any]) -> Any:
    from culler_plugins.saan.model import build_saan

    # Random branches here: _start_weights loads the verified ImageNet ones (or refuses).
    return build_saan(norm=settings.get("norm") or "bn", pretrained=False)


def _start_weights(net: Any, init: str) -> dict[str, str]:
    """The verified ImageNet ResNet-50 / VGG-19 into the fresh SAAN, or a whole SAAN checkpoint to
    fine-tune; never random frozen branches."""
    from culler_plugins.saan.start import start_weights

    return start_weights(net, init)


def _preprocess(image: Any) -> Any:
    from culler_plugins.saan.model import preprocess

    return preprocess(image)


def _train_preprocess(image: Any) -> Any:
    from culler_plugins.saan.model import train_preprocess

    return train_preprocess(image)


@hookimpl
def register_trainable_models(register) -> None:
    """The whole SAAN, trained on images with the scorer's own preprocessing (``--norm`` picks the
    normalisation); the run's model.pt imports with ``culler models import saan``."""
    register(
        TrainableModel(
            "saan",
            "image",
            _build_saan,
            scorer="saan",
            preprocess=_preprocess,
            train_preprocess=_train_preprocess,
            start=_start_weights,
            description="SAAN (ResNet-50 + VGG-19 style branch) on images, score 0–10",
        )
    )
