import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Keep every test's model cache out of the user's real one."""
    monkeypatch.setenv("CULLER_HOME", str(tmp_path_factory.mktemp("culler-home")))
