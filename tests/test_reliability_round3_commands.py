"""Every command against a full disk, a FIFO, a damaged model card and a broken pipe (issue #31, goal 6):
each either works or fails with exactly one ``Error:`` line, never a traceback, and never hangs.

The faults are real. The full disk is a tmpfs (the shoot's size and 8 MB) mounted in a private mount namespace (``unshare
-rm``, no privileges needed where user namespaces are allowed) holding the catalog and CULLER_HOME,
filled to the last byte; where no namespace can be made, the child's file size limit (RLIMIT_FSIZE) is
set to zero, so no file can grow by a byte, as on a full disk (the error is EFBIG instead of ENOSPC). FIFOs are made with ``os.mkfifo`` wherever a command takes a file. A broken pipe is a stdout
whose reader is gone before the command writes. Each scenario runs every command in one child process
(``culler_faults.py`` below), each command under a 30 s alarm, and reports as JSON on stdout.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from culler.testing import scan_into, write_photos

#: The child: sets up a shoot, applies the fault, runs every command in-process, reports as JSON.
CHILD = textwrap.dedent(
    r"""
    import json, os, resource, signal, sys, traceback
    from pathlib import Path

    scenario, work = sys.argv[1], Path(sys.argv[2])
    os.environ["CULLER_HOME"] = str(work / "home")
    from click.testing import CliRunner
    from culler.cli import cli

    db, photos, out = work / "culler.db", work / "photos", work / "out"
    photo = sorted(photos.glob("*.jpg"))[0]
    fifo = work / "fifo"

    class Hung(Exception):
        pass

    def alarm(*_):
        raise Hung("the command did not finish in 30 s")

    signal.signal(signal.SIGALRM, alarm)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past RLIMIT_FSIZE: an error, not a kill

    if scenario == "full-disk":
        # Fill what is left of the disk (tmpfs), or let no file grow (the fallback).
        if os.environ.get("CULLER_TEST_TMPFS") == "1":
            with open(work / "filler", "wb", buffering=0) as fh:
                try:
                    while True:
                        fh.write(b"\0" * 65536)
                except OSError:
                    pass
                try:
                    while True:
                        fh.write(b"\0")
                except OSError:
                    pass
        else:
            resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # no file may grow by a byte
    elif scenario == "fifo":
        os.mkfifo(fifo)
        os.mkfifo(photos / "pipe.jpg")
        os.mkfifo(photo.with_suffix(".xmp"))
    elif scenario == "damaged-card":
        for scorer in ("technical", "clip-aesthetic", "charlenet"):
            cards = work / "home" / "models" / scorer / "cards"
            cards.mkdir(parents=True, exist_ok=True)
            (cards / "1-noweights.json").write_text('{"version": 1, "evaluations": [{"n": "x"}')
            (cards / "2-noweights.json").write_text('[{"evaluations": 3}]')
            (cards / "3-noweights.json").write_text('{"version": "3", "evaluations": [7]}')

    cases = json.loads(sys.argv[3])
    results = {}
    for name, args in cases.items():
        args = [a.format(db=db, photos=photos, photo=photo, out=out, fifo=fifo, work=work)
                for a in args]
        signal.alarm(30)
        try:
            result = CliRunner().invoke(cli, args)
            exc = result.exception
            crash = None
            if exc is not None and not isinstance(exc, SystemExit):
                crash = "".join(traceback.format_exception(exc))
            results[name] = {"code": result.exit_code, "output": result.output, "crash": crash}
        except Hung as exc:
            results[name] = {"code": None, "output": "", "crash": f"hung: {exc}"}
        finally:
            signal.alarm(0)
    # On stdout, a pipe: a full disk (or the file size limit) cannot stop the report.
    print("@@report@@" + json.dumps(results))
    """
)

#: Every command of the command line, with arguments aimed at the shoot; {fifo} is a named pipe in
#: the FIFO scenario (and a missing file in the others).
COMMANDS = {
    "scan": ["scan", "{photos}", "--scorer", "technical", "--workers", "0", "--db", "{db}"],
    "list": ["list", "--db", "{db}"],
    "list --json": ["list", "--json", "--db", "{db}"],
    "show": ["show", "{photo}", "--db", "{db}"],
    "rate": ["rate", "{photo}", "--stars", "3", "--db", "{db}"],
    "tag": ["tag", "{photo}", "--add", "awe", "--db", "{db}"],
    "cull --dry-run": ["cull", "--dry-run", "--db", "{db}"],
    "cull": ["cull", "--db", "{db}"],
    "duplicates": ["duplicates", "--db", "{db}"],
    "groups": ["groups", "--db", "{db}"],
    "export picks": ["export", "picks", "{out}/picks", "--db", "{db}"],
    "export scores": ["export", "scores", "-o", "{out}/scores.csv", "--db", "{db}"],
    "xmp write": ["xmp", "write", "--db", "{db}"],
    "xmp read": ["xmp", "read", "--db", "{db}"],
    "models list": ["models", "list"],
    "models list --json": ["models", "list", "--json"],
    "models path": ["models", "path", "technical"],
    "models export": [
        "models",
        "export",
        "technical",
        "-o",
        "{out}/taste.cullermodel",
        "--db",
        "{db}",
    ],
    "models import-personal": [
        "models",
        "import-personal",
        "{work}/taste.cullermodel",
        "--db",
        "{db}",
    ],
    "models import": ["models", "import", "charlenet", "{work}/charlenet.npz"],
    "models pull": ["models", "pull", "charlenet", "--offline"],
    "evaluate": ["evaluate", "technical", "--csv", "{work}/labels.csv", "--images", "{photos}"],
    "train": ["train", "--db", "{db}", "--scorer", "technical"],
    "plugins": ["plugins"],
    "models remove": ["models", "remove", "technical", "--yes"],
}

#: In the FIFO scenario, each command's file argument is a named pipe instead.
FIFO_COMMANDS = {
    "scan (a FIFO named pipe.jpg)": COMMANDS["scan"],
    "list --db FIFO": ["list", "--db", "{fifo}"],
    "cull --db FIFO": ["cull", "--dry-run", "--db", "{fifo}"],
    "show FIFO": ["show", "{photos}/pipe.jpg", "--db", "{db}"],
    "rate FIFO": ["rate", "{photos}/pipe.jpg", "--pick", "--db", "{db}"],
    "tag FIFO": ["tag", "{photos}/pipe.jpg", "--add", "awe", "--db", "{db}"],
    "xmp read (a FIFO sidecar)": ["xmp", "read", "--db", "{db}"],
    "xmp write (a FIFO sidecar)": ["xmp", "write", "--db", "{db}"],
    "export scores -o FIFO": ["export", "scores", "-o", "{fifo}", "--db", "{db}"],
    "models export -o FIFO": ["models", "export", "technical", "-o", "{fifo}", "--db", "{db}"],
    "models import FIFO": ["models", "import", "charlenet", "{fifo}"],
    "models import-personal FIFO": ["models", "import-personal", "{fifo}", "--db", "{db}"],
    "evaluate --csv FIFO": ["evaluate", "technical", "--csv", "{fifo}", "--images", "{photos}"],
    "evaluate --ava FIFO": ["evaluate", "technical", "--ava", "{fifo}", "--images", "{photos}"],
    "evaluate --split FIFO": [
        "evaluate", "technical", "--csv", "{work}/labels.csv", "--images", "{photos}",
        "--split", "{fifo}",
    ],
    "train --csv FIFO": ["train", "--csv", "{fifo}", "--images", "{photos}", "--scorer", "technical"],
}  # fmt: skip


def _shoot(work: Path) -> None:
    """Photos scanned into a catalog with a pick, a personal head, its bundle, labels and an .npz."""
    import numpy as np
    import torch
    from culler_trainer.registry import export_model, register_head

    from culler.models.personal_heads import build_head, save_head

    photos = work / "photos"
    write_photos(photos, 3)
    catalog, _ = scan_into(work / "culler.db", photos, ["technical"])
    try:
        first = catalog.readable_photos()[0]
        catalog.rate(first["id"], stars=4, decision="pick")
        torch.manual_seed(0)
        save_head(build_head("linear", 8), work / "head.safetensors")
        register_head(catalog, "technical", work / "head.safetensors")
        export_model(catalog, "technical", work / "taste.cullermodel")
    finally:
        catalog.close()
    (work / "labels.csv").write_text(
        "image,score\n"
        + "".join(f"{p.name},{i + 3}\n" for i, p in enumerate(sorted(photos.iterdir())))
    )
    np.savez(work / "charlenet.npz", **{"conv1/0": np.zeros((2, 3), np.float32)})
    (work / "out").mkdir()


def _can_mount_tmpfs() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /tmp && echo ok"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return probe.stdout.strip() == "ok"


def _run(tmp_path: Path, scenario: str, cases: dict[str, list[str]]) -> dict[str, dict]:
    script = tmp_path / "culler_faults.py"
    script.write_text(CHILD)
    work = tmp_path / "work"
    env = {**os.environ, "CULLER_HOME": str(work / "home")}
    command = [sys.executable, str(script), scenario, str(work), json.dumps(cases)]
    if scenario == "full-disk" and _can_mount_tmpfs():
        # The shoot is copied onto a fresh tmpfs mounted over the work folder, then filled.
        staged = tmp_path / "staged"
        work.rename(staged)
        work.mkdir()
        env["CULLER_TEST_TMPFS"] = "1"
        size = sum(p.stat().st_size for p in staged.rglob("*") if p.is_file()) + (8 << 20)
        inner = (
            f"mount -t tmpfs -o size={size} tmpfs {shlex.quote(str(work))} && "
            f"cp -a {shlex.quote(str(staged))}/. {shlex.quote(str(work))}/ && "
            + " ".join(shlex.quote(c) for c in command)
        )
        command = ["unshare", "-rm", "sh", "-c", inner]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    reports = [line for line in done.stdout.splitlines() if line.startswith("@@report@@")]
    assert done.returncode == 0 and reports, done.stderr[-4000:]
    return json.loads(reports[-1][len("@@report@@") :])


def _one_line_or_report(output: str) -> bool:
    """A failure says so in one line (``Error: …``, or the trainer's ``culler train: error: …``), or
    is a per-file report (``xmp``) whose ``error: FILE: …`` lines each name the file that failed."""
    lines = output.splitlines()
    errors = [line for line in lines if line.startswith(("Error:", "culler train: error:"))]
    if len(errors) == 1:
        return True
    reported = [line for line in lines if line.startswith("error: ")]
    return bool(reported) and not errors and all(os.sep in line for line in reported)


def _check(results: dict[str, dict]) -> None:
    problems = []
    for name, result in results.items():
        if result["crash"]:
            problems.append(f"{name}: {result['crash'].splitlines()[-1]}")
            continue
        if "Traceback" in result["output"]:
            problems.append(f"{name}: a traceback in its output")
        if result["code"] not in (0, None) and not _one_line_or_report(result["output"]):
            problems.append(f"{name}: exit {result['code']} without one error line")
    assert not problems, "\n".join(problems)


@pytest.fixture
def shoot(tmp_path):
    _shoot(tmp_path / "work")
    return tmp_path


def test_every_command_on_a_full_disk_fails_with_one_line(shoot):
    results = _run(shoot, "full-disk", COMMANDS)
    _check(results)
    # The disk really was full: commands that write said so, naming what to do.
    failed = {n: r["output"] for n, r in results.items() if r["code"] not in (0, None)}
    assert "rate" in failed and "free some space" in failed["rate"]
    # Reading is still possible, and nothing of the catalog was lost.
    assert results["list"]["code"] == 0 or "free some space" in results["list"]["output"]


def test_every_command_given_a_fifo_neither_hangs_nor_tracebacks(shoot):
    results = _run(shoot, "fifo", FIFO_COMMANDS)
    _check(results)
    for name in ("evaluate --csv FIFO", "models import-personal FIFO"):
        assert "named pipe (FIFO)" in results[name]["output"], (name, results[name]["output"])


def test_every_command_with_damaged_model_cards_works_or_says_one_line(shoot):
    results = _run(shoot, "damaged-card", COMMANDS)
    _check(results)
    for name in ("models list", "models list --json", "evaluate"):
        assert results[name]["code"] == 0, (name, results[name]["output"])


#: Commands that print to standard output, for the broken pipe.
PRINTING = ["list", "list --json", "show", "duplicates", "groups", "cull --dry-run", "plugins",
            "models list", "models path", "export scores"]  # fmt: skip


def test_every_printing_command_into_a_closed_pipe_ends_quietly(shoot):
    work = shoot / "work"
    photo = sorted((work / "photos").glob("*.jpg"))[0]
    env = {**os.environ, "CULLER_HOME": str(work / "home")}
    problems = []
    for name in PRINTING:
        args = [a.format(db=work / "culler.db", photos=work / "photos", photo=photo, out="-",
                         fifo="", work=work) for a in COMMANDS[name]]  # fmt: skip
        if name == "export scores":
            args = ["export", "scores", "--db", str(work / "culler.db")]
        read, write = os.pipe()
        os.close(read)  # the reader is gone before the command writes a byte (`| head -0`)
        try:
            done = subprocess.run(
                [sys.executable, "-m", "culler", *args],
                stdout=write,
                stderr=subprocess.PIPE,
                text=True,
                timeout=120,
                env=env,
            )
        finally:
            os.close(write)
        if "Traceback" in done.stderr or "Broken pipe" in done.stderr or "Exception" in done.stderr:
            problems.append(f"{name}: {done.stderr.strip().splitlines()[-1]}")
    assert not problems, "\n".join(problems)
