"""Background work for the window: everything slow or touching files runs here, never on the GUI thread.

Two kinds of worker:

* `JobQueue` runs functions on one long-lived worker thread and reports through signals.
  Library calls go to one queue (`LibraryPool`), because one SQLite connection must not be
  used by two threads at once; file reads that need no library (cover art) go to another.
* `ScanWorker` (a QThread) runs `Library.scan` with its own Library (its own connection), so
  the long scan never blocks searching or writing. Cancelling sets a threading.Event the scan
  checks between tracks.
* `LearnProcess` runs Learn from my library (`python -m app.learn`) as a child process group,
  so Cancel ends it at once, and reads its progress lines on a thread.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

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


class LearnProcess(QObject):
    """Runs `python -m app.learn WORK` (app.learn.run_learning) as a child process in its own
    process group, reading its progress lines on a thread.

    Signals: progress(stage, done, total), finished(ok, message: the result sentence or a
    one-line reason). Why a process group: the feature step runs a pool of worker processes,
    and Cancel must end all of them at once, not after the current epoch or track.
    """

    progress = Signal(str, int, int)
    finished = Signal(bool, str)

    def __init__(self, args: list[str], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.args = list(args)
        self.cancelled = False
        self.process: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.learn", *self.args],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            self.finished.emit(False, f"could not start {sys.executable} ({one_line(exc)})")
            return
        self._thread = threading.Thread(target=self._read, name="learn-reader", daemon=True)
        self._thread.start()

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def cancel(self) -> None:
        """End the child and its workers now (SIGKILL to the process group)."""
        self.cancelled = True
        process = self.process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (AttributeError, OSError):  # no process groups here, or already gone
            process.kill()

    def wait(self, seconds: float = 10.0) -> None:
        if self._thread is not None:
            self._thread.join(seconds)

    def _read(self) -> None:
        from app.learn import parse_progress_line

        assert self.process is not None and self.process.stdout is not None
        outcome: tuple[bool, str] | None = None
        for raw in self.process.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip()
            found = parse_progress_line(line)
            if found is not None:
                self._emit(self.progress, *found)
            elif line.startswith(("done\t", "error\t")):
                kind, _, text = line.partition("\t")
                outcome = (kind == "done", text)
            elif line.strip():
                log.info("learn: %s", line)
        code = self.process.wait()
        if self.cancelled:
            self._emit(self.finished, False, "cancelled")
        elif outcome is not None and (outcome[0] or code != 0):
            self._emit(self.finished, outcome[0] and code == 0, outcome[1])
        else:
            self._emit(self.finished, code == 0, "done" if code == 0 else f"exit code {code}")

    def _emit(self, signal_: Any, *values: Any) -> None:
        try:
            signal_.emit(*values)
        except RuntimeError:  # the dialog was closed and deleted meanwhile
            pass
