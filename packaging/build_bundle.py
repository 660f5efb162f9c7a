"""Build culler's one-folder desktop bundle with PyInstaller, then smoke-test it.

    pip install -e '.[bundle]'                  # PyInstaller
    python packaging/build_bundle.py            # -> packaging/dist/culler/culler
    python packaging/build_bundle.py --lite     # without torch/open_clip: small and quick to build

Steps: draw the icon, install culler (non-editable, no dependencies) into a staging folder so the
bundle gets real package files and entry-point metadata, run PyInstaller on packaging/culler.spec, add
the .desktop file and icon, and run ``culler --version`` from the result.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def run(cmd: list[str], **kwargs) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kwargs)


def build(dist: Path, work: Path, lite: bool) -> Path:
    """Build the bundle into ``dist``/culler and return the path of its executable."""
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        sys.exit("PyInstaller is not installed: run `pip install -e '.[bundle]'` first")
    sys.path.insert(0, str(HERE))
    from make_icon import write_icons

    icons, site = work / "icons", work / "site"
    write_icons(icons)
    shutil.rmtree(site, ignore_errors=True)
    run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(site), str(ROOT)]
    )  # fmt: skip
    env = {
        **os.environ,
        "CULLER_BUNDLE_SITE": str(site),
        "CULLER_BUNDLE_ICONS": str(icons),
        "CULLER_BUNDLE_LITE": "1" if lite else "0",
    }
    run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
         "--distpath", str(dist), "--workpath", str(work / "pyinstaller"), str(HERE / "culler.spec")],
        env=env,
    )  # fmt: skip
    bundle = dist / "culler"
    exe = bundle / ("culler.exe" if os.name == "nt" else "culler")
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True)
    print(out.stdout.strip(), f"— bundle at {bundle}")
    return exe


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", type=Path, default=HERE / "dist", help="Output folder.")
    parser.add_argument("--work", type=Path, default=HERE / "build", help="Scratch folder.")
    parser.add_argument("--lite", action="store_true", help="Leave out torch and open_clip.")
    args = parser.parse_args(argv)
    build(args.dist.resolve(), args.work.resolve(), args.lite)


if __name__ == "__main__":
    main()
