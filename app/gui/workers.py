"""Background work for the window: everything slow or touching files runs here, never on the GUI thread.

Two kinds of worker:

* `Task` (a QRunnable) runs one function in a thread pool and reports through signals.
  Library calls go to a pool of ONE thread (`LibraryPool`), because one SQLite connection
  must not be used by two threads at once; file reads that need no library (cover art) go to
  Qt's global pool.
* `ScanWorker` (a QThread) runs `Library.scan` with its own Library (its own connection), so
  the long scan never blocks searching or writing. Cancelling sets a threading.Event the scan
  checks between tracks.
* `TrainProcess` runs `zsl-core` steps (split, train, evaluate) as child processes, so training
  can be cancelled at any moment by ending the process, and the GUI keeps a responsive event loop.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QProcess, QRunnable, QThread, QThreadPool, Signal

log = logging.getLogger("app.gui")


def one_line(exc: BaseException) -> str:
    """A one-line reason for an error, the form the whole program reports errors in."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class TaskSignals(QObject):
    done = Signal(object)
    failed = Signal(str)
    progress = Signal(object)


class Task(QRunnable):
    """Run `fn(report)` in a pool thread; `report(value)` emits `progress` (thread-safe).

    The result comes back through `signals.done`, an error as a one-line `signals.failed`.
    """

    def __init__(self, fn: Callable[[Callable[[Any], None]], Any], name: str = "task") -> None:
        super().__init__()
        self.fn = fn
        self.name = name
        self.signals = TaskSignals()
        # Python keeps the task (and its signals object) alive until its result is delivered
        # on the GUI thread; Qt must not delete it when run() returns.
        self.setAutoDelete(False)

    def run(self) -> None:
        try:
            result = self.fn(self.signals.progress.emit)
        except Exception as exc:  # every failure becomes a message, the app goes on
            log.debug("%s failed:\n%s", self.name, traceback.format_exc())
            try:
                self.signals.failed.emit(f"{self.name}: {one_line(exc)}")
            except RuntimeError:
                pass
            return
        try:
            self.signals.done.emit(result)
        except RuntimeError:  # receiver deleted while we worked
            pass


class LibraryPool(QObject):
    """Serialises every call on the shared Library (one thread), counting what is in flight."""

    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.pending = 0
        self._live: set[Task] = set()

    def submit(self, fn: Callable[[Callable[[Any], None]], Any], on_done: Callable[[Any], None] | None = None,
               on_failed: Callable[[str], None] | None = None, on_progress: Callable[[Any], None] | None = None,
               name: str = "task") -> Task:
        task = Task(fn, name)
        self.pending += 1
        if self.pending == 1:
            self.busy_changed.emit(True)
        self._live.add(task)
        task.signals.done.connect(lambda _v, t=task: self._finished(t))
        task.signals.failed.connect(lambda _v, t=task: self._finished(t))
        if on_done is not None:
            task.signals.done.connect(on_done)
        if on_failed is not None:
            task.signals.failed.connect(on_failed)
        if on_progress is not None:
            task.signals.progress.connect(on_progress)
        self.pool.start(task)
        return task

    def _finished(self, task: Task) -> None:
        self._live.discard(task)
        self.pending = max(0, self.pending - 1)
        if self.pending == 0:
            self.busy_changed.emit(False)

    def wait(self, msecs: int = -1) -> bool:
        return self.pool.waitForDone(msecs)


def run_in_global_pool(fn: Callable[[Callable[[Any], None]], Any], on_done: Callable[[Any], None],
                       on_failed: Callable[[str], None] | None = None, name: str = "task") -> Task:
    """For file reads that need no library (cover art): Qt's global pool, several at once."""
    task = Task(fn, name)
    _GLOBAL_LIVE.add(task)
    task.signals.done.connect(lambda _v: _GLOBAL_LIVE.discard(task))
    task.signals.failed.connect(lambda _v: _GLOBAL_LIVE.discard(task))
    task.signals.done.connect(on_done)
    if on_failed is not None:
        task.signals.failed.connect(on_failed)
    QThreadPool.globalInstance().start(task)
    return task


_GLOBAL_LIVE: set[Task] = set()


class ScanWorker(QThread):
    """`Library.scan(folders)` on its own thread with its own Library.

    Signals: progress(ScanProgress), track_stored(int track id), summary(ScanSummary),
    failed(str). `cancel()` asks the scan to stop after the current track.
    """

    progress = Signal(object)
    track_stored = Signal(int)
    summary = Signal(object)
    failed = Signal(str)

    def __init__(self, make_library: Callable[[], Any], folders: list[str], n_windows: int | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.make_library = make_library
        self.folders = list(folders)
        self.n_windows = n_windows
        self.cancel_event = threading.Event()

    def cancel(self) -> None:
        self.cancel_event.set()

    def run(self) -> None:
        library = None
        try:
            library = self.make_library()
            result = library.scan(self.folders, n_windows=self.n_windows, progress=self.progress.emit,
                                  cancel=self.cancel_event, on_track=self._on_track)
        except Exception as exc:
            log.debug("scan failed:\n%s", traceback.format_exc())
            self.failed.emit(f"scan: {one_line(exc)}")
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
        data = bytes(self.process.readAllStandardOutput()).decode("utf-8", errors="replace")
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
