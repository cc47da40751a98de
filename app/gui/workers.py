"""Background work for the window: everything slow or touching files runs here, never on the GUI thread.

Two kinds of worker:

* `JobQueue` runs functions on one long-lived worker thread and reports through signals.
  Library calls go to one queue (`LibraryPool`), because one SQLite connection must not be
  used by two threads at once; file reads that need no library (cover art) go to another.
* `ScanWorker` (a QThread) runs `Library.scan` with its own Library (its own connection), so
  the long scan never blocks searching or writing. Cancelling sets a threading.Event the scan
  checks between tracks.
* `TrainProcess` runs `zsl-core` steps (split, train, evaluate) as child processes, so training
  can be cancelled at any moment by ending the process, and the GUI keeps a responsive event loop.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QProcess, QThread, Signal

log = logging.getLogger("app.gui")


def one_line(exc: BaseException) -> str:
    """A one-line reason for an error, the form the whole program reports errors in."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class _JobThread(QThread):
    """Runs queued jobs one after another; results go out as queued signals with the job id."""

    done = Signal(int, object)
    failed = Signal(int, str)
    progress = Signal(int, object)

    def __init__(self, jobs: queue.Queue, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs

    def run(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            job_id, fn, name = job
            try:
                result = fn(lambda value, i=job_id: self.progress.emit(i, value))
            except Exception as exc:  # every failure becomes a message, the app goes on
                log.debug("%s failed:\n%s", name, traceback.format_exc())
                self.failed.emit(job_id, f"{name}: {one_line(exc)}")
            else:
                self.done.emit(job_id, result)


class JobQueue(QObject):
    """A worker thread with a queue: `submit(fn, on_done, on_failed, on_progress)`.

    `fn(report)` runs on the worker thread; `report(value)` calls on_progress on the GUI thread;
    the result goes to on_done (or a one-line error to on_failed), on the GUI thread. One
    long-lived thread and one long-lived QObject per queue, so no per-job Qt object can be
    deleted while a result is on its way. `LibraryPool` is the queue of ONE thread that every
    call on the shared Library goes through (one SQLite connection, one thread at a time).
    """

    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs: queue.Queue = queue.Queue()
        self._callbacks: dict[int, tuple] = {}
        self._next_id = 0
        self._thread = _JobThread(self._jobs, self)
        self._thread.done.connect(self._done)
        self._thread.failed.connect(self._failed)
        self._thread.progress.connect(self._progress)
        self._thread.start()

    @property
    def pending(self) -> int:
        return len(self._callbacks)

    def submit(
        self,
        fn: Callable[[Callable[[Any], None]], Any],
        on_done: Callable[[Any], None] | None = None,
        on_failed: Callable[[str], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
        name: str = "task",
    ) -> int:
        self._next_id += 1
        job_id = self._next_id
        self._callbacks[job_id] = (on_done, on_failed, on_progress)
        if len(self._callbacks) == 1:
            self.busy_changed.emit(True)
        self._jobs.put((job_id, fn, name))
        return job_id

    def _pop(self, job_id: int) -> tuple:
        callbacks = self._callbacks.pop(job_id, (None, None, None))
        if not self._callbacks:
            self.busy_changed.emit(False)
        return callbacks

    def _done(self, job_id: int, result: object) -> None:
        on_done = self._pop(job_id)[0]
        if on_done is not None:
            on_done(result)

    def _failed(self, job_id: int, message: str) -> None:
        on_failed = self._pop(job_id)[1]
        if on_failed is not None:
            on_failed(message)
        else:
            log.warning("%s", message)

    def _progress(self, job_id: int, value: object) -> None:
        callbacks = self._callbacks.get(job_id)
        if callbacks and callbacks[2] is not None:
            callbacks[2](value)

    def wait(self, msecs: int = 30000) -> bool:
        """Finish the queued jobs, then stop the thread (used when the window closes)."""
        self._jobs.put(None)
        return self._thread.wait(msecs)


LibraryPool = JobQueue


class ScanWorker(QThread):
    """`Library.scan(folders)` on its own thread with its own Library.

    Signals: progress(ScanProgress), track_stored(int track id), summary(ScanSummary),
    failed(str). `cancel()` asks the scan to stop after the current track.
    """

    progress = Signal(object)
    track_stored = Signal(int)
    summary = Signal(object)
    failed = Signal(str)

    def __init__(
        self,
        make_library: Callable[[], Any],
        folders: list[str],
        n_windows: int | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.make_library = make_library
        self.folders = list(folders)
        self.n_windows = n_windows
        self.cancel_event = threading.Event()

    def cancel(self) -> None:
        self.cancel_event.set()

    task = "scan"

    def work(self, library: Any) -> Any:
        """The long call, on this thread; returns the summary."""
        return library.scan(
            self.folders,
            n_windows=self.n_windows,
            progress=self.progress.emit,
            cancel=self.cancel_event,
            on_track=self._on_track,
        )

    def run(self) -> None:
        library = None
        try:
            library = self.make_library()
            result = self.work(library)
        except Exception as exc:
            log.debug("%s failed:\n%s", self.task, traceback.format_exc())
            self.failed.emit(f"{self.task}: {one_line(exc)}")
        else:
            self.summary.emit(result)
        finally:
            if library is not None:
                try:
                    library.close()
                except Exception:  # closing must not hide the scan's own outcome
                    pass

    def _on_track(self, track_id: int) -> None:
        self.track_stored.emit(int(track_id))


class ImportWorker(ScanWorker):
    """`Library.import_indexes(parts, path_map)` on its own thread with its own Library: the same
    signals as a scan (progress, track_stored, summary with an ImportSummary, failed), so the
    window shows both the same way."""

    def __init__(
        self,
        make_library: Callable[[], Any],
        parts: list[str],
        path_map: list[str],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(make_library, [], parent=parent)
        self.parts = list(parts)
        self.path_map = list(path_map)

    task = "import"

    def work(self, library: Any) -> Any:
        return library.import_indexes(
            self.parts,
            path_map=self.path_map,
            progress=self.progress.emit,
            cancel=self.cancel_event,
            on_track=self._on_track,
        )


class TrainProcess(QObject):
    """Runs `python -m zsl_core.cli ARGS` steps one after another as child processes.

    Signals: output(str line), step_started(int index, str title), finished_all(bool ok, str message).
    Why processes: training has no cancel hook, and a process can always be ended; its output
    (tqdm lines, epoch summaries) is the progress shown to the user.
    """

    output = Signal(str)
    step_started = Signal(int, str)
    finished_all = Signal(bool, str)

    def __init__(self, steps: list[tuple[str, list[str]]], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.steps = steps
        self.index = -1
        self.cancelled = False
        self.process: QProcess | None = None
        self._buffer = ""

    def start(self) -> None:
        self._next()

    def cancel(self) -> None:
        self.cancelled = True
        if self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning:
            self.process.kill()

    def is_running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def _next(self) -> None:
        self.index += 1
        if self.index >= len(self.steps):
            self.finished_all.emit(True, "done")
            return
        title, args = self.steps[self.index]
        self.step_started.emit(self.index, title)
        process = QProcess(self)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        process.readyReadStandardOutput.connect(self._read)
        process.finished.connect(self._step_finished)
        process.errorOccurred.connect(self._error)
        self.process = process
        process.start(sys.executable, ["-m", "zsl_core.cli", *args])

    def _read(self) -> None:
        if self.process is None:
            return
        data = bytes(self.process.readAllStandardOutput().data()).decode("utf-8", errors="replace")
        self._buffer += data.replace("\r", "\n")
        *lines, self._buffer = self._buffer.split("\n")
        for line in lines:
            if line.strip():
                self.output.emit(line.rstrip())

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.finished_all.emit(False, f"could not start {sys.executable}")

    def _step_finished(self, code: int, _status: QProcess.ExitStatus) -> None:
        self._read()
        if self._buffer.strip():
            self.output.emit(self._buffer.strip())
        self._buffer = ""
        if self.cancelled:
            self.finished_all.emit(False, "cancelled")
        elif code != 0:
            self.finished_all.emit(False, f"{self.steps[self.index][0]} failed (exit code {code})")
        else:
            self._next()
