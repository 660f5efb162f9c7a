"""The GUI survives PySide6 builds that drop a reference to None on every void call (see qtcompat)."""

from __future__ import annotations

import subprocess
import sys


def test_many_void_qt_calls_do_not_crash_the_interpreter():
    code = (
        "import sys\n"
        "import culler.gui\n"
        "from PySide6.QtGui import QPainterPath\n"
        "path = QPainterPath()\n"
        "for _ in range(200_000): path.moveTo(1.0, 1.0)\n"
        "print('alive', sys.getrefcount(None) > 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "alive True" in result.stdout
