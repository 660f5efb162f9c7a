import hashlib
import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Keep every test's model cache out of the user's real one."""
    monkeypatch.setenv("CULLER_HOME", str(tmp_path_factory.mktemp("culler-home")))


@pytest.fixture
def published_scorer(register_test_plugin, tmp_path):
    """``published_scorer(scorer_id, source)`` registers a scorer that needs one published file,
    ``model.safetensors`` with a known sha256 and size, and returns ``(a good copy, its WeightSpec)``."""
    import culler
    from culler.scorers import Scorer, ScoreResult
    from culler.weights import WeightSpec

    def make(scorer_id: str, source: str = "", content: bytes = b"weights " * 1000):
        good = tmp_path / "model.safetensors"
        good.write_bytes(content)
        spec = WeightSpec(
            "model.safetensors", source, hashlib.sha256(content).hexdigest(), len(content)
        )

        class Published(Scorer):
            id = scorer_id
            weights = [spec]

            def score_batch(self, images):
                return [ScoreResult(score=5.0) for _ in images]

        class Plugin:
            @staticmethod
            @culler.hookimpl
            def register_scorers(register):
                register(Published)

        register_test_plugin(Plugin, scorer_id)
        return good, spec

    return make
