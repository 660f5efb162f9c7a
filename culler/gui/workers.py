"""Long jobs off the UI thread, reporting through signals: the scan, and weight downloads/imports.

A job opens its own catalog connection (SQLite connections are not shared across threads); WAL lets the
UI keep reading and rating while the scan writes. Bursts and duplicates are regrouped by the scan itself
(the ``scan_finished`` hook of the grouping plugin), exactly as after ``culler scan``, so
``CULLER_LOAD_PLUGINS`` decides for both.
"""

from __future__ import annotations

import contextlib
import threading
import traceback
from pathlib import Path

from PySide6.QtCore import QThread, Signal

from culler.catalog import Catalog, open_catalog


def open_or_say(db_path: Path, failed) -> Catalog | None:
    """The catalog a worker thread opens for itself (SQLite connections stay in their thread), or
    None after ``failed`` said in one line why it could not be opened."""
    try:
        return open_catalog(db_path)
    except Exception as exc:
        failed.emit(f"cannot open catalog {db_path}: {exc}")
        return None


class ScanWorker(QThread):
    """Runs :func:`culler.scan.scan_folders` in a thread; cancel() stops after the files in flight."""

    progress = Signal(int, int, str)  # done, total, path
    message = Signal(str)
    succeeded = Signal(dict)  # the scan summary
    failed = Signal(str)

    def __init__(
        self,
        db_path: str | Path,
        roots: list[Path],
        scorer_ids: list[str] | None = None,
        workers: int | None = None,
        parent=None,
    ) -> None:
        super().__init__(parent)
        self.db_path = Path(db_path)
        self.roots = [Path(r) for r in roots]
        self.scorer_ids = scorer_ids
        self.workers = workers
        self.cancel_event = threading.Event()

    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def run(self) -> None:
        from culler.scan import ScanOptions, scan_folders

        catalog = open_or_say(self.db_path, self.failed)
        if catalog is None:
            return
        try:
            options = ScanOptions(
                scorer_ids=self.scorer_ids,
                workers=self.workers,
                cancel=self.cancel_event,
                on_progress=self._on_progress,
            )
            summary = scan_folders(catalog, self.roots, options, echo=self.message.emit)
            self.succeeded.emit(summary)
        except Exception as exc:
            self.message.emit(traceback.format_exc())
            self.failed.emit(f"scan failed: {type(exc).__name__}: {exc}")
        finally:
            catalog.close()

    def _on_progress(self, done: int, total: int, path: str) -> None:
        self.progress.emit(done, total, path)


def weights_error_text(scorer_id: str, source: Path | None, exc: Exception) -> str:
    """One line a photographer can act on for a weights file a loader (PyTorch, safetensors)
    refused: what happened and what to do, without the library's own advice ("Please file an
    issue…", which is for PyTorch's developers) or its multi-line dump."""
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    for cut in ("Re-running", "Please file an issue", "Please open an issue", "WeightsUnpickler"):
        detail = detail.split(cut)[0]
    detail = detail.strip().rstrip(".:;,")[:160] or type(exc).__name__
    if source is None:
        return (
            f"{scorer_id}: the downloaded weights could not be installed ({detail}); "
            f"try again, or fetch the file by hand and use Import…"
        )
    return (
        f"{scorer_id}: {source.name} could not be read as its weights ({detail}); choose the file "
        f"docs/models.md names for {scorer_id}"
    )


class _Cancelled(Exception):
    """Raised inside a download's progress callback to stop it; the partial file is discarded."""


class WeightsWorker(QThread):
    """Runs ``culler models pull`` or ``culler models import`` (the same code, :mod:`culler.models.pull`) in a
    thread, reporting bytes downloaded; cancel() stops a download at its next block."""

    progress = Signal(int, int)  # bytes done, total (0: unknown)
    message = Signal(str)
    succeeded = Signal(str)  # what was installed, in words
    failed = Signal(str)  # the error, which says what to do
    cancelled_signal = Signal()

    def __init__(self, scorer_id: str, source: str | Path | None = None, parent=None) -> None:
        super().__init__(parent)
        self.scorer_id = scorer_id
        #: A local file to import; None downloads the published files.
        self.source = Path(source) if source is not None else None
        self.cancel_event = threading.Event()

    def cancel(self) -> None:
        self.cancel_event.set()

    def run(self) -> None:
        from culler.models.pull import import_weights, pull
        from culler.models.weights import WeightsError

        try:
            if self.source is not None:
                done = import_weights(self.scorer_id, self.source)
                names = ", ".join(d["name"] for d in done)
                self.succeeded.emit(f"{self.scorer_id}: imported {names} from {self.source.name}")
            else:
                done = pull(self.scorer_id, echo=self.message.emit, progress=self._progress)
                names = ", ".join(f"{d['name']} ({d['status']})" for d in done) or "nothing needed"
                self.succeeded.emit(f"{self.scorer_id}: {names}")
        except _Cancelled:
            self.cancelled_signal.emit()
        except WeightsError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # a converter's own error: say it rather than lose the thread
            self.message.emit(traceback.format_exc())
            self.failed.emit(weights_error_text(self.scorer_id, self.source, exc))

    @contextlib.contextmanager
    def _progress(self, label: str, total: int | None):
        worker = self
        self.message.emit(f"downloading {label}…")

        class Bar:
            done = 0

            def update(self, n: int) -> None:
                if worker.cancel_event.is_set():
                    raise _Cancelled()
                self.done += n
                worker.progress.emit(min(self.done, 2**31 - 1), min(total or 0, 2**31 - 1))

        if self.cancel_event.is_set():
            raise _Cancelled()
        yield Bar()


class CullWorker(QThread):
    """Runs :func:`culler.decide.cull.run_cull` (what ``culler cull`` runs) in a thread, on its own
    catalog connection; the window shows the proposals it wrote when it is done."""

    message = Signal(str)
    succeeded = Signal(list, list)  # the plan (Proposals), the ids of the events written
    failed = Signal(str)

    def __init__(self, db_path: str | Path, options=None, parent=None) -> None:
        super().__init__(parent)
        self.db_path = Path(db_path)
        self.options = options

    def run(self) -> None:
        from culler.decide.cull import run_cull

        catalog = open_or_say(self.db_path, self.failed)
        if catalog is None:
            return
        try:
            plan, events = run_cull(catalog, self.options, echo=self.message.emit)
            self.succeeded.emit(plan, events)
        except Exception as exc:
            self.message.emit(traceback.format_exc())
            self.failed.emit(f"cull failed: {type(exc).__name__}: {exc}")
        finally:
            catalog.close()


class DeliverWorker(QThread):
    """Delivers from the window, on its own catalog connection: exports the picks (the code of
    ``culler export picks``: interrupted moves finished first, names never overwritten, moves
    journalled) or writes XMP sidecars (``culler xmp write``). One photo at a time, so it reports
    progress and can be cancelled between photos."""

    progress = Signal(int, int)  # done, total
    succeeded = Signal(dict)  # the summary
    failed = Signal(str)

    def __init__(
        self,
        db_path: str | Path,
        job: str,
        *,
        dest: Path | None = None,
        mode: str = "copy",
        min_stars: int | None = None,
        keep_folders: bool = False,
        naming: str = "auto",
        parent=None,
    ) -> None:
        super().__init__(parent)
        if job not in ("export", "xmp"):
            raise ValueError(f"unknown delivery job {job!r}")
        self.db_path = Path(db_path)
        self.job, self.dest, self.mode = job, dest, mode
        self.min_stars, self.keep_folders, self.naming = min_stars, keep_folders, naming
        self.cancel_event = threading.Event()

    def cancel(self) -> None:
        self.cancel_event.set()

    def run(self) -> None:
        catalog = open_or_say(self.db_path, self.failed)
        if catalog is None:
            return
        try:
            summary = self._export(catalog) if self.job == "export" else self._xmp(catalog)
            summary["cancelled"] = self.cancel_event.is_set()
            self.succeeded.emit(summary)
        except Exception as exc:  # ExportError, OSError: said in one line
            self.message_failed(exc)
        finally:
            catalog.close()

    def message_failed(self, exc: Exception) -> None:
        self.failed.emit(str(exc) or type(exc).__name__)

    def _export(self, catalog) -> dict:
        from culler.interop.export import (
            finish_interrupted_moves,
            plan_export,
            run_export,
            select_picks,
        )

        dest = self.dest
        if dest is None:
            raise ValueError("choose a folder to export the picks to")
        if dest.exists() and not dest.is_dir():
            raise ValueError(f"{dest} exists and is not a folder: choose another one")
        notes = finish_interrupted_moves(catalog)
        photos = select_picks(catalog, self.min_stars)
        if not photos:
            raise ValueError(
                "no picks to export: pick photos (P, or Cull and accept) or choose a minimum "
                "number of stars"
            )
        inside = _inside(dest, catalog.photo_roots())
        if inside and self.mode != "move":
            notes.append(
                f"{dest} is inside a scanned folder: the next scan will list the exported "
                "copies as new photos"
            )
        items = plan_export(photos, dest, keep_folders=self.keep_folders)
        dest.mkdir(parents=True, exist_ok=True)
        for done, item in enumerate(items):
            if self.cancel_event.is_set():
                break
            run_export(catalog, [item], self.mode)
            self.progress.emit(done + 1, len(items))
        counts = {s: sum(i.status == s for i in items) for s in ("planned", "done", "exists")}
        errors = [f"{i.source.name}: {i.error}" for i in items if i.status == "error"]
        return {
            "job": "export",
            "mode": self.mode,
            "dest": str(dest),
            "photos": len(items),
            "done": counts["done"],
            "exists": counts["exists"],
            "not_done": counts["planned"],
            "sidecars": sum(len(i.sidecars) for i in items if i.status == "done"),
            "errors": errors,
            "notes": notes,
            "moved": [i.photo_id for i in items if i.status == "done" and self.mode == "move"],
        }

    def _xmp(self, catalog) -> dict:
        from culler.interop.xmp_sync import select_photos, write_sidecars

        photos = select_photos(catalog)
        changed = unchanged = 0
        errors: list[str] = []
        for done, photo in enumerate(photos):
            if self.cancel_event.is_set():
                break
            report = write_sidecars(catalog, [photo], naming=self.naming)
            changed += len(report.changed)
            unchanged += report.unchanged
            errors += [e["error"] for e in report.errors]
            self.progress.emit(done + 1, len(photos))
        return {
            "job": "xmp",
            "photos": len(photos),
            "written": changed,
            "unchanged": unchanged,
            "errors": errors,
            "notes": [],
        }


def _inside(dest: Path, roots: list[str]) -> bool:
    import os

    target = os.path.abspath(dest)
    return any(target.startswith(os.path.abspath(r) + os.sep) for r in roots)
