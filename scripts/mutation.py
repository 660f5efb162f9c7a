"""Mutation testing of the modules that decide about photos and data (mutmut 3).

    .venv/bin/python scripts/mutation.py plan          # one module
    .venv/bin/python scripts/mutation.py plan cull     # several, one after the other
    .venv/bin/python scripts/mutation.py --list        # the modules and the tests each one runs
    .venv/bin/python scripts/mutation.py --resume plan # go on after stopping a run
    .venv/bin/python scripts/mutation.py --retest cull # rerun the survivors with the tests as they are now

Each module is mutated in its own work folder (.mutation/NAME/, git-ignored) with only the fast tests
that exercise it, in one process (``--max-children 1``): a run of one module takes minutes, not the
hours a run of the whole suite against every module would. Shared mutmut settings live in
``[tool.mutmut]`` in pyproject.toml; this script adds the module and its tests. The trainer is
installed as ``culler_trainer`` but lives in ``trainer/``: the work folder copies it under its
installed name, since a mutant is matched to the module name it runs under.

Prints, per module, the mutants killed/survived and the name of every survivor; ``mutmut show NAME``
inside the work folder prints a survivor's diff. Scores and the reasons survivors are equivalent are
recorded in docs/testing.md. Not part of the default CI run: it is slow.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutation"
#: Folders copied into each work folder: (here, the name they are imported by).
COPIED = (("culler", "culler"), ("trainer", "culler_trainer"), ("tests", "tests"))
#: Each run's verdicts, by status, as the module's work folder last recorded them.
VERDICTS = "verdicts.json"

#: ``culler export`` and its moves, and a move killed at every step (in-process; the SIGKILL test runs
#: a child process, which runs the original code).
EXPORT_TESTS = [
    "tests/test_export.py",
    "tests/test_behaviour_export.py",
    "tests/test_behaviour_export_move.py",
    *(
        f"tests/test_hostile_moves.py::test_{name}"
        for name in (
            "export_move_killed_at_any_step_is_finished_or_undone_by_a_rerun",
            "a_rerun_after_a_finished_move_touches_nothing",
            "a_move_after_an_earlier_copy_finishes_instead_of_calling_it_exported",
            "a_symlinked_photo_is_not_moved_and_says_why",
        )
    ),
]

#: name -> (file to mutate, as it is imported; the fast tests that exercise it)
MODULES: dict[str, tuple[str, list[str]]] = {
    "plan": (
        "culler/scan/plan.py",
        [
            "tests/test_scan.py::test_plan_skips_unchanged_scores_what_is_missing_and_redoes_changed_files",
            "tests/test_scan.py::test_plan_follows_a_move_by_content_and_marks_the_rest_missing",
            "tests/test_behaviour_scan.py",
            "tests/test_plan_properties.py",
            # one identity per file (symlinks, hard links) and moved or renamed folders
            *(
                f"tests/test_hostile_moves.py::test_{name}"
                for name in (
                    "a_folder_scanned_directly_and_through_a_symlink_has_one_row_per_photo",
                    "alias_rows_of_an_older_catalog_are_folded_keeping_the_hand_rating",
                    "a_catalog_of_only_alias_rows_moves_them_to_the_real_paths",
                    "an_alias_row_whose_file_is_gone_does_not_stop_the_others_being_healed",
                    "two_alias_rows_of_one_file_become_its_one_row_and_get_the_scores_it_lacks",
                    "hard_links_to_one_photo_are_one_row",
                    "a_vanished_photo_of_the_same_size_does_not_hide_the_linked_row",
                    "rows_an_older_scan_kept_for_each_hard_link_are_folded",
                    "renaming_the_shoot_folder_keeps_ratings_scores_groups_and_the_catalog_inside",
                    "a_folder_moved_elsewhere_and_scanned_into_a_shared_catalog_is_a_move",
                )
            ),
        ],
    ),
    "cull": ("culler/decide/cull.py", ["tests/test_cull.py", "tests/test_behaviour_cull.py"]),
    "grouping": (
        "culler/decide/grouping.py",
        [
            "tests/test_grouping.py",
            "tests/test_crop_duplicates.py",
            "tests/test_cull.py",
            "tests/test_behaviour_cull.py",
            "tests/test_behaviour_grouping.py",
        ],
    ),
    "xmp_sync": (
        "culler/interop/xmp_sync.py",
        ["tests/test_xmp.py", "tests/test_behaviour_xmp.py"],
    ),
    "xmp": (
        "culler/interop/xmp.py",
        ["tests/test_xmp.py", "tests/test_xmp_properties.py", "tests/test_behaviour_xmp.py"],
    ),
    "export": ("culler/interop/export.py", EXPORT_TESTS),
    "export_move": ("culler/interop/export_move.py", EXPORT_TESTS),
    "weights": (
        "culler/models/weights.py",
        [
            "tests/test_reliability_weights.py",
            "tests/test_pull.py",
            "tests/test_behaviour_weights.py",
            "tests/test_behaviour_weight_files.py",
            # what a learned scorer without its weights says, with and without PyTorch
            "tests/test_clip.py::test_scan_without_weights_reports_once_and_skips",
            "tests/test_charlenet.py::test_scorer_refuses_without_weights",
            # hostile weight files, ids and homes; `culler models`
            "tests/test_hostile_bundles.py",
            "tests/test_hostile_ids.py",
            "tests/test_hostile_arguments.py",
            "tests/test_models_cli.py",
        ],
    ),
    "registry": (
        "culler_trainer/registry.py",
        # The training tests (tests/test_trainer_personal.py, `train --init` in
        # test_behaviour_weights) reach the registry only after training a network for each
        # mutant; the behaviour tests call it directly, on the same paths.
        [
            "tests/test_behaviour_registry.py",
            "tests/test_behaviour_weights.py::test_a_bundle_whose_head_does_not_match_its_sha256_is_refused",
            "tests/test_behaviour_weights.py::test_a_head_file_changed_after_registration_is_refused",
        ],
    ),
}

STATUS = re.compile(r"^\s*(\S+): (\w[\w ]*)$")

#: A pytest plugin copied into each work folder: a mutant's tests run fastest first (by the
#: durations mutmut recorded), so that a mutant a quick test kills costs about a second with ``-x``
#: instead of waiting on the scans of slower tests that happen to come first.
ORDER_PLUGIN = '''"""Mutation runs only: run the fastest tests first."""

import json
from pathlib import Path


def pytest_collection_modifyitems(config, items):
    try:
        stats = json.loads(Path("mutmut-stats.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # the first run, which measures the durations
    durations = stats.get("duration_by_test", {})
    items.sort(key=lambda item: durations.get(item.nodeid, float("inf")))
'''


def _prepare(name: str, target: str, tests: list[str]) -> Path:
    """A fresh work folder holding the packages (under their installed names), the tests and a
    pyproject.toml whose [tool.mutmut] names this module and its tests."""
    work = WORK / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    _copy_sources(work)
    _configure(work, target, tests)
    return work


def _copy_sources(work: Path) -> None:
    """The packages and the tests as they are now, into ``work`` (replacing older copies)."""
    for folder, installed in COPIED:
        shutil.rmtree(work / installed, ignore_errors=True)
        shutil.copytree(
            ROOT / folder, work / installed, ignore=shutil.ignore_patterns("__pycache__")
        )


def _configure(work: Path, target: str, tests: list[str]) -> None:
    """The work folder's pyproject.toml: the project's, with a [tool.mutmut] naming this module and
    its tests (written again by ``--retest``, whose tests may have been added since)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    shared = tomllib.loads(text)["tool"]["mutmut"]
    present = [t for t in tests if (ROOT / t.split("::")[0]).exists()]
    (work / "mutation_order.py").write_text(ORDER_PLUGIN, encoding="utf-8")
    lines = [
        "[tool.mutmut]",
        f"source_paths = {_toml_list(['culler', 'culler_trainer'])}",
        f"only_mutate = {_toml_list([target])}",
        "pytest_add_cli_args_test_selection = "
        + _toml_list(shared.get("pytest_add_cli_args_test_selection", []) + present),
        "pytest_add_cli_args = "
        + _toml_list(shared.get("pytest_add_cli_args", []) + ["-p", "mutation_order"]),
        # mutmut runs the tests inside mutants/, which is on sys.path there.
        f"also_copy = {_toml_list(shared.get('also_copy', []) + ['mutation_order.py'])}",
    ]
    for key, value in shared.items():
        if key not in {"pytest_add_cli_args_test_selection", "pytest_add_cli_args", "also_copy"}:
            lines.append(f"{key} = {_toml_value(value)}")
    # The project's own [tool.mutmut] is replaced by this module's; everything else stays.
    kept = re.sub(r"(?ms)^\[tool\.mutmut\].*?(?=^\[|\Z)", "", text)
    (work / "pyproject.toml").write_text(kept + "\n" + "\n".join(lines) + "\n", encoding="utf-8")


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(_toml_value(v) for v in values) + "]"


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return _toml_list(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def run_module(name: str, resume: bool = False, retest: bool = False) -> dict[str, list[str]]:
    target, tests = MODULES[name]
    work = WORK / name
    # mutmut forks each mutant's tests from a process whose stats run already used PyTorch; OpenMP's
    # thread pool does not survive a fork (the child waits forever on it, using no CPU, so mutmut's
    # CPU-time limit never fires): one thread per process, as a mutation run is one process anyway.
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    # (PYTHONPATH=mutants would let child processes run mutants too, but mutmut then records no test.)
    mutmut = [sys.executable, "-m", "mutmut"]
    again: list[str] = []
    if retest and _changed(work, target):
        print(f"{target} changed since its last run: running every mutant again")
        retest = False
    if retest and (work / "mutants").is_dir():
        # The tests and the other modules as they are now (a test may rely on a fix elsewhere);
        # mutmut finds the new tests and reruns only the mutants named.
        _copy_sources(work)
        _configure(work, target, tests)
        before = _recorded(work) or _statuses(mutmut, work, env)
        again = before.get("survived", []) + before.get("no tests", [])
        if not again:
            return before
    elif not (resume and (work / "mutants").is_dir()):
        work = _prepare(name, target, tests)
    subprocess.run([*mutmut, "run", "--max-children", "1", *again], cwd=work, env=env, check=False)
    after = _statuses(mutmut, work, env)
    if again:
        # A retest reruns only the survivors, and mutmut marks the others "not checked" when a
        # changed test or setting invalidates its stored results: they keep the verdict recorded by
        # the run before (tests are only ever added, so a mutant once killed stays killed).
        # A rerun mutant a stopped run left "not checked" keeps its earlier verdict too.
        rerun = set(again)
        now = {
            m: s for s, names in after.items() for m in names if m in rerun and s != "not checked"
        }
        merged = {m: s for s, names in before.items() for m in names} | now
        after = {}
        for mutant, status in merged.items():
            after.setdefault(status, []).append(mutant)
    (work / VERDICTS).write_text(json.dumps(after, indent=1, sort_keys=True), encoding="utf-8")
    return after


def _recorded(work: Path) -> dict[str, list[str]]:
    try:
        return json.loads((work / VERDICTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _changed(work: Path, target: str) -> bool:
    """Whether the module itself differs from the copy its last run mutated."""
    copy = work / target
    package, _, rest = target.partition("/")
    source = ROOT / next(folder for folder, installed in COPIED if installed == package) / rest
    return copy.is_file() and copy.read_bytes() != source.read_bytes()


def _statuses(mutmut: list[str], work: Path, env: dict[str, str]) -> dict[str, list[str]]:
    """{status: mutant names} of the module's run so far."""
    listing = subprocess.run(
        [*mutmut, "results", "--all", "true"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    by_status: dict[str, list[str]] = {}
    for line in listing.splitlines():
        match = STATUS.match(line)
        if match:
            by_status.setdefault(match.group(2).strip(), []).append(match.group(1))
    return by_status


def report(name: str, by_status: dict[str, list[str]]) -> None:
    killed = len(by_status.get("killed", [])) + len(by_status.get("timeout", []))
    survived = by_status.get("survived", [])
    other = {s: len(v) for s, v in by_status.items() if s not in {"killed", "timeout", "survived"}}
    tested = killed + len(survived)
    score = 100.0 * killed / tested if tested else 0.0
    print(f"\n{name}: {killed}/{tested} killed ({score:.1f} %); other: {other or 'none'}")
    for mutant in survived:
        print(f"  survived: {mutant}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=", ".join(MODULES))
    parser.add_argument("--list", action="store_true", help="Print the modules and their tests.")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="Go on with a run that was stopped (the mutants already tested keep their results).",
    )
    parser.add_argument(
        "--retest",
        action="store_true",
        help="Rerun only the survivors (and mutants no test reached) of the last run, with the\n"
        "tests as they are now.",
    )
    args = parser.parse_args(argv)
    if args.list or not args.modules:
        for name, (target, tests) in MODULES.items():
            print(f"{name:10} {target:30} {' '.join(tests)}")
        return 0
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"unknown module {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    for name in args.modules:
        report(name, run_module(name, args.resume, args.retest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
