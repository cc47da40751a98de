"""The scan controller: scans and imports of analysis made elsewhere, one at a time, with a queue
of folders that wait for the running scan, progress, Cancel, and new rows as tracks are stored.

Each scan or import runs on its own thread with its own Library (`ScanWorker`, `ImportWorker`),
so searching and writing go on meanwhile. Stored tracks are collected and read back for the
table every ROW_FLUSH_MS, not one by one.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, QUrl, Signal

from app.gui.controllers.library import LibraryController
from app.gui.settings import Settings
from app.gui.workers import ImportWorker, ScanWorker
from app.scan_eta import SteadyEta

ROW_FLUSH_MS = 250


def eta_text(seconds: float | None) -> str:
    """Seconds left as people read them ("3 min 05 s"); "…" while unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "…"
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


def progress_text(p: Any) -> str:
    """The status-bar line for a ScanProgress: done/total, throughput, time left."""
    total = int(getattr(p, "total", 0) or 0)
    done = int(getattr(p, "done", 0) or 0)
    rate = getattr(p, "rate", None)
    rate_text = f"{rate:.1f} tracks/s" if rate else "…"
    return f"{done}/{total} · {rate_text} · ETA {eta_text(getattr(p, 'eta', None))}"


def dropped_folders(urls: list[QUrl]) -> tuple[list[str], list[str]]:
    """Split dropped URLs into folders to add and one-line reasons for the rest.

    The library is made of folders (rescans walk them), so a single audio file is refused with a
    hint to drop its folder rather than silently scanning a parent the user did not choose.
    """
    from zsl_core.audio import AUDIO_EXTENSIONS

    folders: list[str] = []
    refused: list[str] = []
    for url in urls:
        if not url.isLocalFile():
            refused.append(f"{url.toDisplayString()}: not a local file or folder, not added")
            continue
        path = Path(url.toLocalFile())
        if path.is_dir():
            folders.append(str(path))
        elif not path.exists():
            refused.append(f"{path}: does not exist, not added")
        elif path.suffix.lower() in AUDIO_EXTENSIONS:
            refused.append(
                f"{path.name}: a single file; drop the folder that holds it (the library "
                "is made of folders)"
            )
        else:
            refused.append(f"{path.name}: not a folder, not added")
    return list(dict.fromkeys(folders)), refused


def refused_text(refused: list[str]) -> str:
    """The status-bar line for dropped items not added (each reason goes to the log)."""
    if len(refused) == 1:
        return refused[0]
    return f"{len(refused)} dropped items not added (see View ▸ Log): {refused[0]}"


class ScanController(QObject):
    """Starts, queues and cancels scans and imports; tells the window what happens.

    Signals: started(label, message) (a worker started: show progress and Cancel),
    progress(ScanProgress; rate and ETA steadied by app.scan_eta), status(done, total, line,
    file) (the same as the status bar shows it), cancelling(),
    scan_done(ScanSummary), import_done(ImportSummary), finished() (the worker's thread ended:
    hide the progress), message(str, error), log(str, level) (a line for the log only).
    """

    started = Signal(str, str)
    progress = Signal(object)
    status = Signal(int, int, str, str)
    cancelling = Signal()
    scan_done = Signal(object)
    import_done = Signal(object)
    finished = Signal()
    message = Signal(str, bool)
    log = Signal(str, int)

    def __init__(
        self, library: LibraryController, settings: Settings, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.settings = settings
        self.worker: ScanWorker | None = None
        self.queue: list[str] = []
        self.last_scan: Any = None
        self.last_import: Any = None
        self.closing = False  # set by shutdown: nothing new starts after it
        self._pending_rows: set[int] = set()
        self._eta = SteadyEta()
        self._row_timer = QTimer(self)
        self._row_timer.setInterval(ROW_FLUSH_MS)
        self._row_timer.timeout.connect(self.flush_rows)

    def is_running(self) -> bool:
        return self.worker is not None

    def add_folders(self, folders: list[str]) -> list[str]:
        """Remember the folders and scan them together (one scan, however many were dropped);
        what is not a folder is a one-line error. Returns the folders taken."""
        chosen = []
        for folder in folders:
            folder = str(Path(folder).expanduser().absolute())
            if not Path(folder).is_dir():
                self._say(f"{folder}: not a folder", error=True)
                continue
            self.settings.add_folder(folder)
            chosen.append(folder)
        if chosen:
            self.start_scan(chosen)
        return chosen

    def rescan(self) -> bool:
        """Scan every library folder again; False when there is none yet (ask for one)."""
        if not self.settings.folders:
            return False
        self.start_scan(self.settings.folders)
        return True

    def start_scan(self, folders: list[str]) -> None:
        """Scan these folders now, or after the running scan (each folder queued once)."""
        if self.closing:
            return
        if self.worker is not None:
            running = set(self.worker.folders)
            new = [f for f in dict.fromkeys(folders) if f not in self.queue and f not in running]
            self.queue += new
            if new:
                self._say(f"A scan is running; {', '.join(new)} will be scanned next")
            else:
                self._say("A scan is running; that folder is already being scanned or queued")
            return
        worker = ScanWorker(self.library.maker(), folders, parent=self)
        worker.summary.connect(self._scan_done)
        self._start(worker, "Scanning…", f"Scanning {', '.join(folders)}")

    def start_import(self, parts: list[str], path_map: list[str]) -> bool:
        """Import parts made by `zsl-core embed` on a worker; False when it cannot start now."""
        if self.closing or not parts:
            return False
        if self.worker is not None:
            self._say("A scan or import is running; import when it has finished")
            return False
        worker = ImportWorker(self.library.maker(), parts, path_map, parent=self)
        worker.summary.connect(self._import_done)
        self._start(worker, "Importing…", f"Importing {len(parts)} part(s)")
        return True

    def _start(self, worker: ScanWorker, label: str, message: str) -> None:
        self._eta = SteadyEta()  # a new scan: nothing measured yet
        worker.progress.connect(self.report)
        worker.track_stored.connect(self._track_stored)
        worker.failed.connect(self._failed)
        worker.finished.connect(self._thread_finished)
        self.worker = worker
        self._row_timer.start()
        self.started.emit(label, message)
        self._say(message)
        worker.start()

    def cancel(self) -> None:
        """Stop after the track in flight (what is done is kept) and forget the queue."""
        if self.worker is not None:
            self.worker.cancel()
            self.queue.clear()
            self.cancelling.emit()

    def report(self, p: Any) -> None:
        """A worker's progress (ScanProgress), passed on with the rate and the ETA measured once
        per stored batch and smoothed, so the time left does not jump inside a batch."""
        shown = self._eta.steady(p)
        self.progress.emit(shown)
        total = int(getattr(shown, "total", 0) or 0)
        done = int(getattr(shown, "done", 0) or 0)
        self.status.emit(
            done, total, progress_text(shown), str(getattr(shown, "current", "") or "")
        )

    def _track_stored(self, track_id: int) -> None:
        self._pending_rows.add(track_id)

    def flush_rows(self) -> None:
        """Read back the rows stored since the last flush (the table shows them with tags)."""
        if not self._pending_rows:
            return
        ids, self._pending_rows = sorted(self._pending_rows), set()
        self.library.fetch_rows(ids)

    def _scan_done(self, summary: Any) -> None:
        self.last_scan = summary
        failed = list(getattr(summary, "failed", []) or [])
        for path, reason in failed[:200]:
            self.log.emit(f"{path}: {reason}", logging.WARNING)
        state = "cancelled" if getattr(summary, "cancelled", False) else "done"
        self._say(
            f"Scan {state}: {getattr(summary, 'scanned', 0)} analysed, "
            f"{getattr(summary, 'unchanged', 0)} unchanged, {len(failed)} failed, "
            f"{getattr(summary, 'gone', 0)} gone ({getattr(summary, 'seconds', 0):.0f} s)"
            + (" — the reasons are in View ▸ Log" if failed else ""),
            error=bool(failed),
        )
        self.scan_done.emit(summary)

    def _import_done(self, summary: Any) -> None:
        self.last_import = summary
        known = [Path(f) for f in self.settings.folders]
        for folder in summary.folders:  # so Rescan (F5) keeps the imported tracks up to date
            if not any(Path(folder) == k or k in Path(folder).parents for k in known):
                self.settings.add_folder(folder)
        for shown, reason in summary.bad_parts:
            self.log.emit(f"part not imported: {shown}: {reason}", logging.WARNING)
        left = [
            ("changed since analysed", summary.changed),
            ("not found", summary.missing),
            ("failed", summary.failed),
        ]
        for label, rows in left:
            for shown, reason in rows[:200]:
                self.log.emit(f"not imported ({label}): {shown}: {reason}", logging.WARNING)
        state = "cancelled" if summary.cancelled else "done"
        problems = summary.skipped + len(summary.bad_parts)
        self._say(
            f"Import {state}: {summary.imported} imported, {summary.unchanged} already there, "
            f"{summary.skipped} left for the next rescan, {len(summary.bad_parts)} part(s) refused"
            + (" — the reasons are in View ▸ Log" if problems else ""),
            error=bool(problems),
        )
        self.import_done.emit(summary)

    def _failed(self, message: str) -> None:
        self.last_scan = None
        self._say(message, error=True)

    def _thread_finished(self) -> None:
        worker, self.worker = self.worker, None
        self._row_timer.stop()
        self.finished.emit()
        self.flush_rows()
        if worker is not None:
            worker.deleteLater()
        if self.closing:  # closed meanwhile: queued folders stay in Settings, for the next Rescan
            self.queue.clear()
            return
        self.library.reload()
        if self.queue:
            folders, self.queue = self.queue, []
            self.start_scan(folders)

    def _say(self, text: str, error: bool = False) -> None:
        self.message.emit(text, error)

    def shutdown(self) -> None:
        """Cancel the scan and wait for its thread; nothing new starts after this."""
        self.closing = True
        self.queue.clear()
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait(30000)
        self._row_timer.stop()
