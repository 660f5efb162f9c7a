import hashlib
import os
import shutil

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Keep every test's model cache out of the user's real one, and drop it when the test ends: the
    training tests install full-size networks there, and a whole run's homes outgrew a CI disk."""
    home = tmp_path_factory.mktemp("culler-home")
    monkeypatch.setenv("CULLER_HOME", str(home))
    yield
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def published_scorer(register_test_plugin, tmp_path):
    """``published_scorer(scorer_id, source)`` registers a scorer that needs one published file,
    ``model.safetensors`` with a known sha256 and size, and returns ``(a good copy, its WeightSpec)``."""
    import culler
    from culler.models.weights import WeightSpec
    from culler.plugin.scorers import Scorer, ScoreResult

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


# -- CI runs what it claims ------------------------------------------------------------------------
# With CULLER_FORBID_SKIPS=1 (set by .ci/run) a skipped test fails the run unless tests/allowed_skips.txt
# names it: an optional extra that silently failed to install must not turn its tests into skips.

_SKIPPED: list[tuple[str, str]] = []


def _allowed_skips() -> list[str]:
    path = os.path.join(os.path.dirname(__file__), "allowed_skips.txt")
    with open(path, encoding="utf-8") as fh:
        lines = (line.split("#", 1)[0].strip() for line in fh)
        return [line for line in lines if line]


def pytest_runtest_logreport(report):
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _SKIPPED.append((report.nodeid, reason))


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("CULLER_FORBID_SKIPS") != "1" or exitstatus != 0:
        return
    import fnmatch

    allowed = _allowed_skips()
    unexpected = [
        (nodeid, reason)
        for nodeid, reason in _SKIPPED
        if not any(fnmatch.fnmatch(nodeid, pattern) for pattern in allowed)
    ]
    if unexpected:
        lines = "\n".join(f"  {nodeid}: {reason}" for nodeid, reason in unexpected)
        print(
            f"\n{len(unexpected)} test(s) skipped that CI is expected to run (install what they need,"
            f" or add them to tests/allowed_skips.txt with the reason):\n{lines}"
        )
        session.exitstatus = 1
