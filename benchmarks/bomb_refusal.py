"""What refusing a decompression bomb costs: the red team's three bombs outside .zip/.tar (issue #31),
each refused by a child ``culler`` process whose time and peak memory are printed.

* a ``.cullermodel`` bundle whose ``head.safetensors`` inflates to 1 GB (``models import-personal``);
* a numpy ``.npz`` whose one array inflates to 1 GB (``models import charlenet``);
* a deflated zip checkpoint ``model.pth`` whose tensor data inflates to 1 GB (``models import``).

Each file is about 1 MB. Before the fix each was inflated whole (a MemoryError traceback under a memory
limit, gigabytes of memory without one); now each is refused from its table of contents. "check" is
the table-of-contents check alone, in this process; "command" and "peak RSS" are the whole child
``culler`` process (interpreter, click, plugins and torch, which the commands import), with ``culler
plugins`` for scale. Usage: python benchmarks/bomb_refusal.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from culler.testing import write_zip_bomb

SIZE = 1 << 30

#: Runs one culler command and prints its peak RSS (ru_maxrss of the child, in KB on Linux).
RUNNER = """
import resource, runpy, sys
sys.argv = ["culler", *sys.argv[1:]]
try:
    runpy.run_module("culler", run_name="__main__")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"@@peak {peak}", file=sys.stderr)
sys.exit(code)
"""


def run(args: list[str], home: Path) -> tuple[float, int, int, str]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "CULLER_HOME": str(home)},
        timeout=600,
    )
    seconds = time.perf_counter() - start
    peak = next(
        (int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("@@peak")), 0
    )
    said = next((line for line in done.stderr.splitlines() if line.startswith("Error:")), "")
    return seconds, peak, done.returncode, said


def main() -> None:
    from culler.catalog import open_catalog

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        manifest = {
            "format": "culler-personal-model/1",
            "scorer_id": "technical",
            "version": "2+personal-00000000",
            "weights_sha256": "0" * 64,
            "config": {},
        }
        db = work / "culler.db"
        open_catalog(db).close()
        cases = {
            "bundle (import-personal)": (
                write_zip_bomb(
                    work / "bomb.cullermodel",
                    {"manifest.json": json.dumps(manifest).encode(), "head.safetensors": SIZE},
                ),
                lambda f: ["models", "import-personal", str(f), "--db", str(db)],
            ),
            ".npz (models import charlenet)": (
                write_zip_bomb(work / "charlenet.npz", {"conv1/0.npy": SIZE}),
                lambda f: ["models", "import", "charlenet", str(f)],
            ),
            "zip .pth (models import charlenet)": (
                write_zip_bomb(
                    work / "model.pth", {"archive/data/0": SIZE, "archive/data.pkl": b""}
                ),
                lambda f: ["models", "import", "charlenet", str(f)],
            ),
        }
        from culler.models.weights import WeightsError, check_zip_members

        print(
            f"{'bomb':36} {'file':>8} {'inflates to':>12} {'check':>9} {'command':>9} "
            f"{'peak RSS':>9}"
        )
        for name, (path, args) in cases.items():
            start = time.perf_counter()
            try:
                check_zip_members(path)
            except WeightsError:
                pass
            check = time.perf_counter() - start
            seconds, peak, code, said = run(args(path), work / "home")
            print(
                f"{name:36} {path.stat().st_size / 1e6:6.1f} MB {SIZE / 1e9:9.1f} GB "
                f"{check * 1e3:6.2f} ms {seconds:7.2f} s {peak / 1024:6.0f} MB  exit {code}"
            )
            print(f"    {said[:150]}")
        seconds, peak, _, _ = run(["plugins"], work / "home")
        print(f"{'for scale: `culler plugins`':36} {'':33} {seconds:7.2f} s {peak / 1024:6.0f} MB")


if __name__ == "__main__":
    main()
