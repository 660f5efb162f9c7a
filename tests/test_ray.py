"""``culler scan --ray``: the same scan on a (local) Ray cluster gives the same rows as a local scan,
survives a killed worker and a killed driver, ships bytes when asked, and fails fast on a bad address.

Ray starts once for the module (2 CPUs, a small object store) and is shut down at its end. The tests'
plugin is installed by entry point in a folder on PYTHONPATH before Ray starts, so Ray's worker
processes load it as a user's cluster would load an installed plugin.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image, ImageEnhance

from culler.catalog import open_catalog
from culler.scan import ScanOptions, scan_folders
from culler.testing import write_photos

PLUGIN_SOURCE = '''
"""A model scorer for the actors, and a decoder that is slow, hangs or dies on chosen files."""
import os
import signal
import time

import numpy as np

from culler import hookimpl
from culler.plugin.scorers import Scorer, ScoreResult


class Brightness(Scorer):
    """Runs outside the decode workers, like a learned model: in the scan's model actors."""

    id = "test-brightness"
    batch_size = 3
    input_size = 96

    def score_batch(self, images):
        return [ScoreResult(score=float(np.asarray(im.convert("L")).mean()) / 25.5) for im in images]


@hookimpl
def register_scorers(register):
    register(Brightness)


@hookimpl
def load_image(path, max_side):
    name = os.path.basename(path)
    if name.startswith("slow"):
        pids = os.environ.get("CULLER_TEST_PIDS")
        if pids:  # tell the test which worker process holds a file, so it can kill it
            with open(os.path.join(pids, f"{os.getpid()}-{name}"), "w"):
                pass
        time.sleep(0.4)
    if name.startswith("hang"):
        time.sleep(3600)
    if name.startswith("crash"):
        os.kill(os.getpid(), signal.SIGKILL)
    return None
'''

PLUGINS = "technical,grouping,raytest"
SCORERS = ["technical", "test-brightness"]


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """A local Ray instance (2 CPUs) whose workers can import the tests' plugin; shut down after."""
    ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install -e '.[ray]'")
    site = tmp_path_factory.mktemp("site")
    dist = site / "culler_raytest-1.0.dist-info"
    dist.mkdir()
    (site / "culler_raytest.py").write_text(PLUGIN_SOURCE)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: culler-raytest\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[culler]\nraytest = culler_raytest\n")
    old_path = os.environ.get("PYTHONPATH")
    # Workers (and a driver started by a test) inherit this environment from here.
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), old_path) if p)
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=80 * 1024 * 1024,
        log_to_driver=False,
    )
    try:
        yield ray
    finally:
        ray.shutdown()
        sys.path.remove(str(site))
        sys.modules.pop("culler_raytest", None)
        if old_path is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old_path


@pytest.fixture(scope="module")
def ray_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("culler-home")


@pytest.fixture(scope="module")
def worker_pids(tmp_path_factory) -> Path:
    """Where the plugin's decoder notes which worker process holds a ``slow*`` file."""
    return tmp_path_factory.mktemp("pids")


@pytest.fixture
def raytest_plugin(ray_cluster, ray_home, worker_pids, monkeypatch, register_test_plugin):
    """The tests' plugin in this process too, and the allow-list every worker sees."""
    from culler.plugin import manager as plugin_manager

    # This process loads its entry points once: load them all before the allow-list is set, or a
    # later test in this process would find only the allowed plugins (faces missing, say).
    plugin_manager.load_plugins()
    monkeypatch.setenv("CULLER_LOAD_PLUGINS", PLUGINS)
    # Workers get the CULLER_* settings of the scan, and Ray starts new workers for new settings:
    # one home for the module lets the tests share warm workers.
    monkeypatch.setenv("CULLER_HOME", str(ray_home))
    monkeypatch.setenv("CULLER_TEST_PIDS", str(worker_pids))
    # Loading the entry points may have registered it already; registered here, it is also
    # unregistered after the test, so no later test sees its scorer.
    plugin_manager.unregister_plugin("raytest")
    register_test_plugin(importlib.import_module("culler_raytest"), "raytest")
    return ray_cluster


def shoot(folder: Path) -> Path:
    """The sample photos, two near-duplicates of one of them (a group) and a file that is no JPEG."""
    write_photos(folder)
    coffee = Image.open(folder / "coffee.jpg")
    coffee.save(folder / "coffee-again.jpg", quality=80)
    ImageEnhance.Brightness(coffee).enhance(1.03).save(folder / "coffee-brighter.jpg", quality=90)
    (folder / "broken.jpg").write_bytes(b"this is not a JPEG")
    return folder


def scan(db: Path, folder: Path, backend=None, **options) -> dict:
    catalog = open_catalog(db)
    try:
        return scan_folders(
            catalog,
            [folder],
            ScanOptions(scorer_ids=SCORERS, **{"workers": 0, **options}),
            echo=lambda message: None,
            backend=backend,
        )
    finally:
        catalog.close()


def backend(ship_bytes: bool = False):
    from culler.scan.distributed import open_ray_backend

    return open_ray_backend("local", ship_bytes=ship_bytes)


def rows(db: Path) -> dict:
    """What a scan stored, keyed by file name so two catalogs compare."""
    conn = sqlite3.connect(db)
    name = lambda path: path.rsplit("/", 1)[1]  # noqa: E731
    try:
        scores = {
            (name(path), scorer): score
            for path, scorer, score in conn.execute(
                "SELECT p.path, s.scorer_id, sc.score FROM scores sc"
                " JOIN photos p ON p.id = sc.photo_id JOIN scorers s ON s.id = sc.scorer_pk"
            )
        }
        errors = dict(
            (name(path), error)
            for path, error in conn.execute("SELECT path, error FROM photos WHERE status = 'error'")
        )
        members: dict[int, set[str]] = {}
        for group, path in conn.execute(
            "SELECT m.group_id, p.path FROM group_members m JOIN photos p ON p.id = m.photo_id"
        ):
            members.setdefault(group, set()).add(name(path))
        per_photo = conn.execute(
            "SELECT COUNT(*) FROM scores GROUP BY photo_id, scorer_pk HAVING COUNT(*) > 1"
        ).fetchall()
    finally:
        conn.close()
    assert per_photo == [], "a score was written twice"
    return {
        "scores": scores,
        "errors": errors,
        "groups": sorted(sorted(m) for m in members.values()),
    }


def assert_same(local: dict, remote: dict) -> None:
    assert set(remote["scores"]) == set(local["scores"])
    for key, score in local["scores"].items():
        assert remote["scores"][key] == pytest.approx(score, rel=1e-5, abs=1e-6), key
    assert remote["errors"] == local["errors"]
    assert remote["groups"] == local["groups"]


_REFERENCE: dict = {}


@pytest.fixture
def reference(raytest_plugin, tmp_path_factory) -> tuple[Path, dict, dict]:
    """The shoot, and its local scan's rows and summary: made once, compared with by every test."""
    if not _REFERENCE:
        folder = shoot(tmp_path_factory.mktemp("reference") / "shoot")
        summary = scan(folder.parent / "local.db", folder)
        _REFERENCE.update(folder=folder, rows=rows(folder.parent / "local.db"), summary=summary)
    return _REFERENCE["folder"], _REFERENCE["rows"], _REFERENCE["summary"]


# -- the same scan ---------------------------------------------------------------------------------
def test_a_ray_scan_stores_the_same_scores_groups_and_errors_as_a_local_scan(tmp_path, reference):
    folder, local, local_summary = reference
    db = tmp_path / "culler.db"
    on_ray = backend()
    ray_summary = scan(db, folder, on_ray)
    on_ray.close()
    remote = rows(db)
    assert local["groups"], "the shoot has a group of near-duplicates to compare"
    assert local["errors"] == {"broken.jpg": local["errors"]["broken.jpg"]}
    assert {scorer for _, scorer in local["scores"]} == set(SCORERS)
    assert_same(local, remote)
    for key in ("files_seen", "new", "scored", "errors", "decoded", "scorer_errors", "status"):
        assert ray_summary[key] == local_summary[key], key
    thumbs = list((tmp_path / "culler-thumbs").rglob("*.jpg"))
    assert len(thumbs) == ray_summary["scored"]  # the driver wrote them from the workers' bytes
    # A rescan on Ray plans like a local one: nothing changed, nothing decoded.
    again = scan(db, folder, backend())
    assert again["decoded"] == 0 and again["new"] == again["changed"] == 0


def test_ship_bytes_scans_files_the_workers_cannot_open(tmp_path, reference):
    from culler.scan.decode import DecodeJob
    from culler.scan.distributed.ray_backend import _decode_in_worker

    folder, local, _ = reference
    scan(tmp_path / "shipped.db", folder, backend(ship_bytes=True))
    assert_same(local, rows(tmp_path / "shipped.db"))
    # The task itself needs only the bytes: a path that does not exist on the worker decodes.
    data = (folder / "coffee.jpg").read_bytes()
    job = DecodeJob("/not/on/this/node/coffee.jpg", 384, 0, ("technical",), "/driver/thumbs")
    decoded, thumbnail = _decode_in_worker(job, [("technical", {})], (data, 1234))
    assert decoded.error is None and decoded.path == job.path
    assert decoded.size == len(data) and decoded.mtime_ns == 1234
    assert "technical" in decoded.worker_results and thumbnail[:2] == b"\xff\xd8"


# -- faults ----------------------------------------------------------------------------------------
def test_a_worker_killed_mid_scan_has_its_file_retried_and_nothing_is_lost_or_doubled(
    tmp_path, raytest_plugin, worker_pids
):
    folder = tmp_path / "shoot"
    names = write_photos(folder)
    for i, path in enumerate(names):
        Image.open(path).save(folder / f"slow-{i}.jpg", quality=85)
    pids = worker_pids
    for entry in os.listdir(pids):
        os.remove(pids / entry)
    killed: list[int] = []

    def kill_the_first_worker_that_holds_a_file() -> None:
        deadline = time.monotonic() + 60
        while not killed and time.monotonic() < deadline:
            for entry in os.listdir(pids):
                pid = int(entry.split("-", 1)[0])
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                break
            time.sleep(0.02)

    killer = threading.Thread(target=kill_the_first_worker_that_holds_a_file)
    killer.start()
    summary = scan(tmp_path / "ray.db", folder, backend())
    killer.join()
    assert killed, "no worker was killed"
    held = {}
    for entry in os.listdir(pids):
        pid, name = entry.split("-", 1)
        held.setdefault(name, set()).add(int(pid))
    retried = [name for name, by in held.items() if killed[0] in by]
    assert len(held[retried[0]]) == 2, "the killed worker's file ran again in another worker"
    stored = rows(tmp_path / "ray.db")  # asserts no score was written twice
    assert stored["errors"] == {}
    files = {p.name for p in folder.iterdir()}
    assert {name for name, scorer in stored["scores"] if scorer == "technical"} == files
    assert {name for name, scorer in stored["scores"] if scorer == "test-brightness"} == files
    assert summary["decoded"] == len(files) and summary["errors"] == 0


def test_a_file_that_crashes_or_hangs_its_worker_gets_one_error_row(tmp_path, raytest_plugin):
    folder = tmp_path / "shoot"
    good = write_photos(folder, 1)[0]
    for name in ("hang.jpg", "crash.jpg"):
        Image.open(good).save(folder / name)
    summary = scan(tmp_path / "ray.db", folder, backend(), file_timeout=1.0)
    stored = rows(tmp_path / "ray.db")
    assert set(stored["errors"]) == {"hang.jpg", "crash.jpg"}
    assert "took longer than 1 s" in stored["errors"]["hang.jpg"]
    assert "crashed" in stored["errors"]["crash.jpg"]
    good = {p.name for p in folder.iterdir()} - set(stored["errors"])
    assert {name for name, scorer in stored["scores"] if scorer == "technical"} == good
    assert summary["errors"] == 2 and summary["scored"] == len(good)


def test_a_ray_scan_killed_on_the_driver_resumes_like_a_local_one(tmp_path, raytest_plugin):
    folder = tmp_path / "shoot"
    names = write_photos(folder)
    for i in range(6):
        Image.open(names[i % len(names)]).save(folder / f"slow-{i:02d}.jpg", quality=80 + i)
    count = len(list(folder.iterdir()))
    db = tmp_path / "ray.db"
    address = raytest_plugin.get_runtime_context().gcs_address
    command = [sys.executable, "-m", "culler", "scan", str(folder), "--db", str(db), "--json"]
    command += ["--scorer", "technical", "--ray", address]
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 90
        while not _committed(db):
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "no score was committed within 90 s"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
    before = _committed(db)
    assert 1 <= len(before) < count, "killed mid-way"
    catalog = open_catalog(db)
    try:
        summary = scan_folders(
            catalog, [folder], ScanOptions(scorer_ids=["technical"]), lambda m: None, backend()
        )
    finally:
        catalog.close()
    assert summary["decoded"] == count - len(before)  # only what the killed scan had not written
    after = _committed(db)
    assert len(after) == count and all(after[k] == v for k, v in before.items())


def _committed(db: Path) -> dict:
    conn = sqlite3.connect(db, timeout=30)
    try:
        return {
            pid: created for pid, created in conn.execute("SELECT photo_id, created FROM scores")
        }
    except sqlite3.OperationalError:
        return {}  # the schema is not there yet
    finally:
        conn.close()


def test_ctrl_c_stops_a_ray_scan_and_keeps_what_was_written(tmp_path, reference):
    folder, local, _ = reference

    def interrupt(done: int, total: int, path: str) -> None:
        if done == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        scan(tmp_path / "ray.db", folder, backend(), on_progress=interrupt)
    kept = {name for name, scorer in rows(tmp_path / "ray.db")["scores"] if scorer == "technical"}
    assert kept, "what was decoded before Ctrl+C is kept"
    summary = scan(tmp_path / "ray.db", folder, backend())
    assert summary["status"] == "finished"
    assert summary["decoded"] < summary["files_seen"]  # what was kept was not decoded again
    assert_same(local, rows(tmp_path / "ray.db"))


# -- connecting ------------------------------------------------------------------------------------
def test_an_unreachable_address_fails_within_seconds(tmp_path, ray_cluster, culler_cli):
    folder = tmp_path / "shoot"
    write_photos(folder, 1)
    for address in ("ray://127.0.0.1:9", "127.0.0.1:9"):
        start = time.monotonic()
        result = culler_cli("scan", folder, "--db", tmp_path / "c.db", "--ray", address, expect=1)
        assert time.monotonic() - start < 15
        assert f"cannot reach the Ray cluster at {address}" in result.output
        assert "ray start --head" in result.output


def test_without_ray_installed_the_option_says_how_to_install_it(tmp_path, culler_cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails, as when not installed
    folder = tmp_path / "shoot"
    write_photos(folder, 1)
    result = culler_cli("scan", folder, "--db", tmp_path / "c.db", "--ray", expect=1)
    assert "pip install 'culler[ray]'" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert culler_cli("scan", folder, "--ray-ship-bytes", expect=2).exit_code == 2


def test_the_summary_of_a_ray_scan_is_printed_as_json(tmp_path, raytest_plugin, culler_cli):
    folder = tmp_path / "shoot"
    write_photos(folder, 2)
    result = culler_cli(
        "scan", folder, "--db", tmp_path / "c.db", "--json", "--scorer", "technical", "--ray"
    )
    summary = json.loads(result.output[result.output.index("{") :])
    assert summary["scored"] == 2 and summary["status"] == "finished"


def test_ray_notices_go_to_stderr_so_json_on_stdout_stays_clean(ray_cluster, capsys):
    from ray._private import worker as ray_worker

    from culler.scan.distributed.ray_backend import _notices_to_stderr

    _notices_to_stderr()
    # What Ray's driver prints when a worker dies mid-task (it chose stdout).
    notice = {"lines": ["A worker died or was killed"], "pid": "raylet", "is_err": False}
    ray_worker.print_to_stdstream(notice, ignore_prefix=False)
    out, err = capsys.readouterr()
    assert out == "" and "A worker died" in err
