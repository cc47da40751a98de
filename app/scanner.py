"""Library scan: find audio files, notice what changed since last time, analyse only that.

The steps, and why each is shaped the way it is:

1. **Walk** (`walk`): `os.scandir` on *bytes* paths, so file names that are not valid UTF-8
   survive into the index (`tracks.path` is bytes). Symlinks are followed, but each folder is
   entered once (keyed by `(st_dev, st_ino)`), so a link back to a parent cannot loop; each
   file is listed once even when two links reach it. A folder that cannot be read is skipped
   with a one-line reason and the walk goes on.
2. **Compare with the index**: same size and `mtime_ns` as stored, and already analysed by
   the current model -> *unchanged*, not opened at all. A file that failed before and has not
   changed is not retried. Tracks under the scanned roots that were not found -> `gone` (their
   rows, results and write history are kept: an unmounted drive comes back unchanged).
3. **Probe** what is new or changed, in the worker pool: tags for the table view and an audio
   fingerprint (`open_tags(path).audio_digest()`, which ignores the tag bytes; a whole-file
   hash for formats we do not write tags to). The fingerprint decides what happens next:
   same audio as the stored analysis (only the tags were edited) -> metadata updated, no
   decode; audio of a `gone` track -> *moved*: the row takes the new path and keeps its id,
   results and history; audio already analysed for another track (a copy) -> results copied.
4. **Decode** the rest in the same pool (`zsl_core.audio.load_windows`: N evenly spaced
   3-second windows read with seeks, or the whole track), spawn context so it is safe from a Qt
   process and behaves the same on every OS. For the default model the workers also cut the
   audio into musicnn patches, so the main process only runs the networks. The workers end
   with the scan: a cancel or an error shuts the pool down (an exception such as a second
   Ctrl-C stops the workers at once, `_close_pool`), and a worker whose main process was
   killed ends itself within a moment (`_watch_parent`).
5. **Infer** in the main process, several tracks' patches per forward pass (the model on the
   GPU when there is one), and store per track a float16 embedding and float16 seen-label
   scores in `results`, with the fingerprint analysed.

The model is not needed until the first decode is done: `scan` takes a tagger or a
`concurrent.futures.Future` of one (`Library.scan` loads the model on a thread), so the first
progress (files counted as the walk finds them, every `WALK_REPORT_S`) comes at once, and the
index comparison and probing run while the model (and PyTorch) load; decodes wait for it.

Every track is written in its own small transaction the moment it is done, so a cancelled or
killed scan keeps everything finished and the next scan does only what is left. A file that
cannot be decoded is stored as `failed` with a one-line reason and the scan goes on.

**Damaged files** (the one rule, `probe_file`): a file whose structure the tag reader cannot
read is damaged: mutagen cannot parse it (`Metadata.parse_failed`), or its audio stream cannot
be walked to its end (`TagFormat.audio_digest` raises `TagError`: an Ogg file cut inside a
page, a RIFF chunk longer than the file, MP4 packets that do not demux). These are the checks
the tag writer makes before it writes, so such a file could never take a tag. Its audio may
still decode in part (a cut Ogg Vorbis file plays its first second), but it is not analysed:
it is stored as `failed` with "damaged: <reason>" and its tags (title, artist...) for the
table, and nothing is proposed for it. It is still decoded first, so a file the decoder
cannot read either keeps the decoder's more telling reason ("truncated: the header promises
20.00 s but the audio stops at 6.67 s"). Like any failed file it is tried again once its size
or modification time changes (replaced by a good copy, it becomes ok). A format mutagen does
not know and a file without tags (a plain WAV) are not damaged.
"""

from __future__ import annotations

import concurrent.futures as cf
import ctypes
import glob
import json
import multiprocessing
import os
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import db
from app.metadata import Metadata, file_digest, read_with_tags
from app.states import ScanState, TrackStatus
from app.tagformats import TagError
from app.tagwriter import cleanup_temp_files, is_temp_file
from zsl_core.errors import AudioError, ZslError
from zsl_core.walk import AUDIO_SUFFIXES, FileEntry, walk_audio
from zsl_core.walk import os_reason as _os_reason

if TYPE_CHECKING:  # a decode worker imports this module: it loads only what decoding needs
    from zsl_core.tagger import Analysis, InputSpec, Tagger

__all__ = [
    "DEFAULT_N_WINDOWS",
    "SCAN_EXTENSIONS",
    "FileEntry",
    "WalkResult",
    "ScanProgress",
    "ScanSummary",
    "walk",
    "scan",
    "default_workers",
]

DEFAULT_N_WINDOWS = (
    8  # eight 3-s windows: tags agree closely with a full decode at a fraction of the cost
)
SCAN_EXTENSIONS: frozenset[bytes] = AUDIO_SUFFIXES
WALK_REPORT_S = 0.25  # progress while the walk counts files: at most this often
INFER_FLUSH_S = 1.0  # decoded tracks wait at most this long for a fuller batch (progress moves)
RATE_WINDOW_S = 20.0  # throughput (and so the ETA) is measured over the last this many seconds
RATE_MIN_SPAN_S = 1.0  # ... once tracks have been finishing for at least this long
BURST_S = 0.25  # tracks stored this close one after another are one batch: one rate sample


# --- results ------------------------------------------------------------------------------


@dataclass
class WalkResult:
    files: list[FileEntry] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (display path, reason)
    roots: list[bytes] = field(default_factory=list)  # roots that exist (gone-detection scope)
    unreadable: list[bytes] = field(default_factory=list)  # folders whose files we could not list
    temp_copies: list[bytes] = field(default_factory=list)  # the tag writer's copies met on the way


@dataclass(frozen=True)
class ScanProgress:
    """done/total tracks (unchanged ones count as done at once; total grows while the walk
    counts files), tracks per second of real work measured over the last RATE_WINDOW_S (0 until
    known), seconds left at that rate (None until known), the file just finished, and how many
    batches were stored so far (`batch`: the rate is measured anew once per batch, so a reader
    that smooths the ETA takes one sample per batch, app.scan_eta)."""

    done: int
    total: int
    rate: float
    eta: float | None
    current: str
    batch: int = 0


@dataclass
class ScanSummary:
    """What a scan did. `scanned`: analysed now (decoded, or results copied from an identical
    file); `updated`: only tags changed, no decode; `skipped`: folders that could not be read."""

    scan_id: int
    scanned: int = 0
    unchanged: int = 0
    moved: int = 0
    gone: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (display path, reason)
    cancelled: bool = False
    seconds: float = 0.0
    updated: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


# --- walking ------------------------------------------------------------------------------


def walk(
    roots: Iterable[str | Path | bytes],
    cancel: threading.Event | None = None,
    on_found: Callable[[int], None] | None = None,
) -> WalkResult:
    """Every audio file under `roots` (files may be given directly), sorted per folder, by the
    walker `zsl-core embed` uses too (`zsl_core.walk`); the tag writer's temporary copies met
    on the way are listed apart. `on_found(count)`: files found so far, after each folder."""
    found = walk_audio([db.path_key(root) for root in roots], cancel, on_found, is_temp_file)
    return WalkResult(
        files=found.files,
        skipped=[(db.display(path), reason) for path, reason in found.skipped],
        roots=found.roots,
        unreadable=found.unreadable,
        temp_copies=found.others,
    )


# --- worker jobs (top level: they run in spawned processes) ---------------------------------


@dataclass
class Probe:
    metadata: Metadata
    fingerprint: str | None
    error: str | None = None  # the file cannot be read at all (no fingerprint)
    damage: str | None = None  # "damaged: <reason>": see the module doc


def _worker_init(parent_pid: int | None = None, pdeathsig: bool = True) -> None:
    """Set up a decode worker: one BLAS/OpenMP thread, Ctrl-C left to the main process, and
    an end of its own when the main process dies.

    One BLAS/OpenMP thread per worker: the pool is the parallelism, more threads would only
    contend. Set through the environment rather than torch: a worker never imports torch
    (decoding, resampling and musicnn patches are numpy, `zsl_core.dsp`), which keeps it at
    a fraction of the ~335 MB torch costs per process (issue 7). numpy is already imported by
    the time the initializer runs (this module imports it), so its pools are sized by the
    parent's setting (app/__init__.py sets OPENBLAS_NUM_THREADS=1); these cover libraries
    loaded later.

    SIGINT is ignored: a Ctrl-C in a terminal reaches the whole process group, and the main
    process decides (first Ctrl-C: cancel after the files in flight, second: stop the workers,
    `_close_pool`); a worker taking it itself would die with a traceback or hand the
    KeyboardInterrupt back as a file's result.

    A worker whose main process was killed (SIGKILL, a crash, the OOM killer) must not live
    on: nothing would ever read its results, and a worker idle on the job queue waits forever
    (it holds that pipe's write end itself). See `_watch_parent`.
    """
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except (ValueError, OSError):
        pass
    _watch_parent(os.getppid() if parent_pid is None else int(parent_pid), pdeathsig)


_PDEATHSIG = True  # False: the portable watcher thread even on Linux (tests of the fallback)
_PR_SET_PDEATHSIG = 1
_WATCH_PARENT_S = 0.5


def _watch_parent(parent_pid: int, pdeathsig: bool = True) -> None:
    """End this process soon after `parent_pid` dies.

    Linux: `prctl(PR_SET_PDEATHSIG, SIGTERM)`, so the kernel sends SIGTERM the moment the
    parent goes (SIGTERM's default action ends the process even inside a C decoder; workers
    install no handler for it). The death signal follows the parent *thread* that spawned the
    worker: the scan creates, feeds and shuts its pool down on one thread (`_Scan._process`),
    so that thread outlives its workers. Elsewhere, or when prctl is not available: a daemon
    thread compares `os.getppid()` with the parent's pid every `_WATCH_PARENT_S` and calls
    `os._exit` when they differ (an orphan is re-parented to init or a subreaper). Either
    way, a parent already gone by now (died between the spawn and this call) ends it at once.
    """
    armed = pdeathsig and _set_pdeathsig(signal.SIGTERM)
    if os.getppid() != parent_pid:
        os._exit(1)
    if armed:
        return

    def watch() -> None:
        while True:
            time.sleep(_WATCH_PARENT_S)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="zsl-parent-watch", daemon=True).start()


def _set_pdeathsig(sig: int) -> bool:
    """prctl(PR_SET_PDEATHSIG, sig) through ctypes; False where that is not possible."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return (
            libc.prctl(
                _PR_SET_PDEATHSIG,
                ctypes.c_ulong(int(sig)),
                ctypes.c_ulong(0),
                ctypes.c_ulong(0),
                ctypes.c_ulong(0),
            )
            == 0
        )
    except (OSError, AttributeError, TypeError):
        return False


def _new_pool(workers: int) -> cf.ProcessPoolExecutor:
    """The decode pool: spawned processes (safe from a Qt process, the same on every OS),
    each set up by `_worker_init` with this process as the parent it watches."""
    context = multiprocessing.get_context("spawn")
    return cf.ProcessPoolExecutor(
        max_workers=max(1, int(workers)),
        mp_context=context,
        initializer=_worker_init,
        initargs=(os.getpid(), _PDEATHSIG),
    )


def _pool_processes(pool: Any) -> list[Any]:
    """The pool's worker processes (multiprocessing.Process), those started so far."""
    return list((getattr(pool, "_processes", None) or {}).values())


def _close_pool(pool: Any, at_once: bool = False) -> None:
    """Shut the pool down: jobs not started are cancelled, the ones running are waited for
    (a cancelled scan keeps what finishes), or with `at_once` (an exception, e.g. a second
    Ctrl-C, is leaving the scan) the workers are stopped first: SIGTERM, then SIGKILL for any
    still there after a second. No worker outlives the call either way."""
    if not at_once:
        pool.shutdown(wait=True, cancel_futures=True)
        return
    processes = _pool_processes(pool)
    for process in processes:
        try:
            process.terminate()
        except (OSError, ValueError, AttributeError):
            pass
    deadline = time.monotonic() + 1.0
    for process in processes:
        try:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(5)
        except (OSError, ValueError, AttributeError, AssertionError):
            pass
    pool.shutdown(wait=True, cancel_futures=True)


def probe_file(path: bytes) -> Probe:
    """Tags and audio fingerprint of one file, and whether it is damaged (never raises).

    The rule for damaged files (module doc): mutagen cannot parse it, or its audio stream
    cannot be walked (`audio_digest` raises TagError). Its fingerprint is then the hash of
    the whole file, as for formats we do not write."""
    meta, tags = read_with_tags(path)
    fingerprint = None
    damage = meta.error if meta.parse_failed else None
    if tags is not None:
        try:
            fingerprint = tags.audio_digest()
        except TagError as exc:
            damage = exc.reason
        except Exception:
            fingerprint = None  # our walker failed, not the file: hash the whole file instead
    if fingerprint is None:
        try:
            fingerprint = file_digest(path)
        except OSError as exc:
            return Probe(meta, None, f"cannot read file ({_os_reason(exc)})")
    return Probe(meta, fingerprint, damage=None if damage is None else f"damaged: {damage}")


def decode_file(path: bytes, n_windows: int, spec: InputSpec) -> tuple[str, Any]:
    """(spec.payload.value, payload) | ("error", one-line reason): a file as the model's input
    spec asks (`InputSpec.decode`: the clips, or their musicnn patches).

    Torch-free on purpose (see `_worker_init`): patches come from `zsl_core.dsp`, which is
    also what the main process runs, so a track gets the same patches in either place.
    """
    try:
        return spec.payload.value, spec.decode(os.fsdecode(path), n_windows)
    except AudioError as exc:
        return "error", exc.reason
    except Exception as exc:  # a decoder crash on a hostile file is that file's failure only
        return "error", f"cannot decode ({_one_line(exc)})"


def _one_line(exc: BaseException) -> str:
    return (" ".join(str(exc).split()) or type(exc).__name__)[:200]


class _InlineExecutor:
    """`workers=0`: the same jobs, run at submit time in this process (debugging, tests)."""

    def submit(self, fn: Callable, *args: Any) -> cf.Future:
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


def default_workers(on_gpu: bool = False) -> int:
    """Decode processes for a scan. On a CPU the model, not decoding, is the bottleneck (measured:
    docs/PERFORMANCE.md), so two are enough; on a GPU decoding is the limit and more workers pay.
    Memory does not limit the count any more: a worker never imports torch and holds ~30 MB PSS
    after decoding 8 windows of a 4-minute 44.1 kHz mp3 (~70 MB after a whole-track decode),
    where it held ~330-430 MB with torch (issue 7). On a GPU one core stays for the main process
    (it feeds the GPU and writes the index); 8 workers at most, untested beyond that."""
    cores = os.cpu_count() or 1
    return max(1, min(8, cores - 1) if on_gpu else min(2, cores))


def gpu_hint(device: str | None) -> bool | None:
    """Whether a model on `device` will run on a GPU, when that is known without importing
    PyTorch: 'cpu' no, 'cuda' yes, 'auto' no on a Linux machine without NVIDIA or AMD compute
    device nodes; otherwise None (unknown until the model is loaded)."""
    name = str(device or "auto")
    if name == "cpu":
        return False
    if name.startswith("cuda"):
        return True
    if name == "auto" and sys.platform.startswith("linux"):
        if not (glob.glob("/dev/nvidia[0-9]*") or os.path.exists("/dev/kfd")):
            return False
    return None


# --- the scan -----------------------------------------------------------------------------


@dataclass
class _Job:
    entry: FileEntry
    track_id: int | None  # the row this file's results go to (None: a new row)
    old_path: bytes | None = None  # set when the row is a moved track
    metadata: Metadata | None = None  # None: keep the stored metadata
    fingerprint: str | None = None
    moved: bool = False
    stage: str = ""  # "probe" | "decode"
    suspect: bool = False  # was in flight when a worker died
    damage: str | None = None  # the probe found it damaged: decoded for a reason, not analysed


class _Scan:
    def __init__(
        self,
        conn: sqlite3.Connection,
        tagger: Tagger | cf.Future[Tagger],
        model_name: str,
        n_windows: int | None,
        workers: int | None,
        progress: Callable[[ScanProgress], None] | None,
        cancel: threading.Event | None,
        on_track: Callable[[int], None] | None,
        on_gpu: bool | None = None,
    ) -> None:
        self.conn = conn
        self.model_name = model_name
        self.tagger_future: cf.Future[Tagger] | None = None
        self.tagger: Tagger | None = None
        if isinstance(tagger, cf.Future):
            self.tagger_future = tagger
        else:
            self.tagger = tagger
        self.n_windows = DEFAULT_N_WINDOWS if n_windows is None else int(n_windows)
        self.workers_arg = workers
        self.on_gpu = on_gpu  # a hint while the model loads: None = unknown, wait for the model
        self.workers = 0
        self.progress_cb = progress
        self.cancel = cancel or threading.Event()
        self.on_track = on_track
        row = conn.execute("SELECT id FROM models WHERE name = ?", (model_name,)).fetchone()
        self.model_id: int | None = int(row[0]) if row else None  # None: nothing analysed by it yet
        self.spec: InputSpec | None = None  # the model's input, known once it is loaded
        self.parked: list[_Job] = []  # probed, to be decoded once the model is ready
        if self.tagger is not None:
            self._use_model()
        self.claimed: set[int] = set()
        self.gone_now: set[int] = set()  # marked gone by this scan
        self.done = 0
        self.total = 0
        self.worked = 0
        self.walk_reported = 0.0
        self.finish_times: list[tuple[float, int]] = []  # (when, tracks worked) for the rate
        self.last_finish = 0.0
        self.batches = 0  # rate samples taken (a batch stored, or a second of a steady stream)
        self.last_infer = time.monotonic()

    # -- the model, possibly still loading -------------------------------------------------------
    def _model_ready(self, wait: bool = False) -> bool:
        """Whether the tagger is here; with `wait`, wait for it (a load error is raised here)."""
        if self.tagger is None:
            assert self.tagger_future is not None  # no tagger yet: it is loading
            if not wait and not self.tagger_future.done():
                return False
            self.tagger = self.tagger_future.result()
            self._use_model()
        return True

    def _loaded(self) -> Tagger:
        """The tagger, waited for if it is still loading (for the steps that need the model)."""
        self._model_ready(wait=True)
        assert self.tagger is not None  # _model_ready(wait=True) sets it or raises the load error
        return self.tagger

    def _use_model(self) -> None:
        tagger = self._loaded()
        self.model_id = db.model_id(
            self.conn, self.model_name, tagger.stored_dim(), tagger.seen_labels
        )
        self.spec = tagger.input_spec
        summary = getattr(self, "summary", None)
        if summary is not None:
            self.conn.execute(
                "UPDATE scans SET model_id = ? WHERE id = ?", (self.model_id, summary.scan_id)
            )

    def _n_workers(self) -> int:
        """Decode processes: as asked, else `default_workers` for where the model runs (known
        from the hint without waiting for the model when the hint says)."""
        if self.workers_arg is not None:
            return max(0, int(self.workers_arg))
        if self.tagger is None and self.on_gpu is not None:
            return default_workers(self.on_gpu)
        return default_workers(self._loaded().on_gpu)

    def _walk_progress(self, found: int) -> None:
        now = time.monotonic()
        if now - self.walk_reported >= WALK_REPORT_S:
            self.walk_reported = now
            self.total = found
            self._report("")

    # -- driver ----------------------------------------------------------------------------
    def run(self, folders: Sequence[str | Path | bytes]) -> ScanSummary:
        started = time.monotonic()
        keys = [db.path_key(f) for f in folders]
        cur = self.conn.execute(
            "INSERT INTO scans (folders, model_id, state, started_at) VALUES (?, ?, 'running', ?)",
            (json.dumps([db.display(k) for k in keys]), self.model_id, time.time()),
        )
        self.summary = ScanSummary(scan_id=db.inserted_id(cur))
        state = ScanState.ERROR
        try:
            self._report("")  # at once: the scan has started (0 of 0 files found yet)
            self.walk_reported = time.monotonic()
            self._record_folders(keys)
            walked = walk(keys, self.cancel, on_found=self._walk_progress)
            # Copies a killed write left behind (full hidden copies of tracks): gone for good.
            cleanup_temp_files(walked.temp_copies)
            self.summary.skipped = walked.skipped
            if not self.cancel.is_set():
                self._mark_gone(walked)
            todo = self._triage(walked.files)
            self._process(todo)
            if not self.cancel.is_set():
                self._model_ready(
                    wait=True
                )  # as before: a scan ends with its model loaded and known
            self.summary.cancelled = self.cancel.is_set()
            state = ScanState.CANCELLED if self.summary.cancelled else ScanState.DONE
        finally:
            self.summary.seconds = time.monotonic() - started
            s = self.summary
            self.conn.execute(
                "UPDATE scans SET state = ?, finished_at = ?, scanned = ?, unchanged = ?, failed = ?,"
                " gone = ? WHERE id = ?",
                (
                    state,
                    time.time(),
                    s.scanned + s.moved + s.updated,
                    s.unchanged,
                    len(s.failed),
                    s.gone,
                    s.scan_id,
                ),
            )
        return self.summary

    def _record_folders(self, keys: list[bytes]) -> None:
        with db.transaction(self.conn):
            for key in keys:
                self.conn.execute(
                    "INSERT INTO folders (path, display_path, added_at, last_scan_id) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT(path) DO UPDATE SET last_scan_id = excluded.last_scan_id",
                    (key, db.display(key), time.time(), self.summary.scan_id),
                )

    def _mark_gone(self, walked: WalkResult) -> None:
        """Rows under a scanned root whose file was not found; folders we could not read
        (and roots that do not exist, e.g. an unmounted drive) are left alone."""
        present = {f.path for f in walked.files}
        unreadable = walked.unreadable
        now = time.time()
        gone = []
        for root in walked.roots:
            prefix = root.rstrip(b"/") + b"/"
            rows = self.conn.execute(
                "SELECT id, path FROM tracks WHERE status != 'gone' AND (path = ? OR"
                " (substr(path, 1, ?) = ?))",
                (root, len(prefix), prefix),
            ).fetchall()
            for track_id, path in rows:
                path = bytes(path)
                if path in present or any(_under(path, u) for u in unreadable):
                    continue
                gone.append(track_id)
        self.gone_now = set(gone)
        if gone:
            with db.transaction(self.conn):
                self.conn.executemany(
                    "UPDATE tracks SET status = 'gone', gone_at = ? WHERE id = ?",
                    [(now, i) for i in gone],
                )
        self.summary.gone = len(gone)

    def _triage(self, files: list[FileEntry]) -> list[_Job]:
        """Unchanged files are done here; the rest become jobs (probe first, or straight to decode)."""
        self.total = len(files)
        todo: list[_Job] = []
        analysed = {
            r[0]: r[1]
            for r in self.conn.execute(
                "SELECT track_id, fingerprint FROM results WHERE model_id = ?", (self.model_id,)
            )
        }
        known = {
            bytes(r[0]): r[1:]
            for r in self.conn.execute(
                "SELECT path, id, size, mtime_ns, status, fingerprint FROM tracks"
            )
        }
        restored: list[int] = []
        for entry in files:
            row = known.get(entry.path)
            if row is None:
                todo.append(_Job(entry, None))
                continue
            track_id, size, mtime_ns, status, fingerprint = row
            same_file = size == entry.size and mtime_ns == entry.mtime_ns
            has_result = track_id in analysed and analysed[track_id] == fingerprint
            if same_file and status == TrackStatus.FAILED:
                self.summary.unchanged += 1
            elif same_file and has_result and status in (TrackStatus.OK, TrackStatus.GONE):
                if status == TrackStatus.GONE:  # back unchanged (a remounted drive)
                    restored.append(track_id)
                self.summary.unchanged += 1
            elif same_file and status == TrackStatus.OK and fingerprint:
                # Unchanged file, but not analysed by this model yet: decode without probing.
                todo.append(_Job(entry, track_id, fingerprint=fingerprint))
            else:
                todo.append(_Job(entry, track_id))
        if restored:
            with db.transaction(self.conn):
                self.conn.executemany(
                    "UPDATE tracks SET status = 'ok', gone_at = NULL WHERE id = ?",
                    [(i,) for i in restored],
                )
            for track_id in restored:
                if self.on_track is not None:
                    self.on_track(track_id)
        self.done = self.summary.unchanged
        self._report("")
        return todo

    def _process(self, todo: list[_Job]) -> None:
        """Feed the pool (probe, then decode) and the model (batched) until all is stored.

        A worker that dies (a decoder crashing on a hostile file) breaks the whole pool: the
        jobs it held are retried one at a time in a fresh pool, so only the culprit fails.
        """
        if not todo or self.cancel.is_set():
            return
        self.workers = self._n_workers()
        pool = self._pool(len(todo))
        queue = list(reversed(todo))
        suspects: list[_Job] = []
        inflight: dict[cf.Future, _Job] = {}
        pending: list[tuple[_Job, Any]] = []
        limit = max(2, 3 * max(1, self.workers))
        self.last_infer = time.monotonic()
        at_once = True  # until the loop ends normally or on Cancel: an exception stops the workers
        try:
            while queue or suspects or inflight or pending or self.parked:
                if self.cancel.is_set():
                    break
                if self.parked:
                    loading = self.tagger_future if self.tagger is None else None
                    if loading is not None and not (queue or suspects or inflight):
                        cf.wait([loading], timeout=0.2)  # nothing else to do; Cancel still seen
                    if self._model_ready():
                        queue.extend(reversed(self.parked))  # decoded next, in the order parked
                        self.parked = []
                while (suspects and not inflight) or (
                    queue and not suspects and len(inflight) < limit
                ):
                    job = suspects.pop() if suspects else queue.pop()
                    if job.entry.size == 0:
                        self._store_failed(job, "empty file (0 bytes)")
                        continue
                    if job.stage == "":
                        job.stage = (
                            "decode" if job.fingerprint and job.track_id is not None else "probe"
                        )
                    try:
                        self._submit(pool, job, inflight)
                    except cf.process.BrokenProcessPool:
                        # A worker died since the last wait: the pool refuses new work. Put the
                        # job back; the dead worker's own future reports it next, and the pool
                        # is rebuilt below (at once if nothing is in flight to report it).
                        (suspects if job.suspect else queue).append(job)
                        if not inflight:
                            pool.shutdown(wait=True, cancel_futures=True)
                            pool = self._pool(len(suspects) + len(queue))
                        break
                if inflight:
                    ready, _ = cf.wait(list(inflight), timeout=0.2, return_when=cf.FIRST_COMPLETED)
                    broken = False
                    for future in ready:
                        job = inflight.pop(future)
                        try:
                            result = future.result()
                        except cf.process.BrokenProcessPool:
                            broken = True
                            if job.suspect:
                                self._store_failed(job, "the decoder crashed on this file")
                            else:
                                job.suspect = True
                                suspects.append(job)
                            continue
                        try:
                            self._handled(pool, job, result, inflight, pending)
                        except (
                            cf.process.BrokenProcessPool
                        ):  # its probe finished, the decode could not start
                            broken = True
                            job.suspect = True
                            suspects.append(job)
                    if broken:
                        for job in inflight.values():
                            job.suspect = True
                            suspects.append(job)
                        inflight.clear()
                        pool.shutdown(wait=True, cancel_futures=True)
                        pool = self._pool(len(suspects) + len(queue))
                waiting_decodes = any(job.stage == "decode" for job in inflight.values())
                batch = 4 * int(self.tagger.batch_size) if self.tagger is not None else 64
                waited = time.monotonic() - self.last_infer >= INFER_FLUSH_S
                if pending and (_size(pending) >= batch or not waiting_decodes or waited):
                    pending = self._infer(pending)
                    self.last_infer = time.monotonic()
            at_once = False
        finally:
            _close_pool(pool, at_once)

    def _handled(
        self,
        pool: Any,
        job: _Job,
        result: Any,
        inflight: dict[cf.Future, _Job],
        pending: list[tuple[_Job, Any]],
    ) -> None:
        if job.stage == "probe":
            if self._after_probe(job, result):
                job.stage = "decode"
                self._submit(pool, job, inflight)
            return
        outcome, payload = result
        if outcome == "error":
            self._store_failed(job, payload)
        elif job.damage is not None:  # decodes, but damaged: not analysed (module doc)
            self._store_failed(job, job.damage)
        else:
            pending.append((job, payload))

    def _pool(self, n_jobs: int) -> Any:
        if self.workers == 0:
            return _InlineExecutor()
        return _new_pool(min(self.workers, max(1, n_jobs)))

    def _submit(self, pool: Any, job: _Job, inflight: dict[cf.Future, _Job]) -> None:
        """Start the job's next stage in the pool; a decode waits (parked) while the model loads."""
        if job.stage == "probe":
            inflight[pool.submit(probe_file, job.entry.path)] = job
        elif not self._model_ready():
            self.parked.append(job)
        else:
            inflight[pool.submit(decode_file, job.entry.path, self.n_windows, self.spec)] = job

    # -- decisions after the fingerprint -------------------------------------------------------
    def _after_probe(self, job: _Job, probe: Probe) -> bool:
        """Store what needs no decode; return True when the file must be decoded."""
        job.metadata = probe.metadata
        if probe.fingerprint is None:
            self._store_failed(job, probe.error or "cannot read file")
            return False
        job.fingerprint = probe.fingerprint
        if job.track_id is None:
            moved_from = self._gone_with(probe.fingerprint)
            if moved_from is not None:
                job.track_id, job.old_path = moved_from
                job.moved = True
                self.claimed.add(job.track_id)
                if job.track_id in self.gone_now:  # not gone after all: it moved
                    self.summary.gone -= 1
        if probe.damage is not None:
            # never given results (an earlier version's analysis of the same bytes included):
            # decoded only so that a decoder's own reason, when it has one, is the one stored
            job.damage = probe.damage
            return True
        result = self._result_for(job.track_id, probe.fingerprint)
        if result is not None:
            self._store_ok(job, None, None, kind="moved" if job.moved else "updated")
            return False
        copy = self._any_result_with(probe.fingerprint)
        if copy is not None:
            self._store_ok(
                job, copy[0], copy[1], n_windows=copy[2], kind="moved" if job.moved else "scanned"
            )
            return False
        return True

    def _gone_with(self, fingerprint: str) -> tuple[int, bytes] | None:
        for track_id, path in self.conn.execute(
            "SELECT id, path FROM tracks WHERE status = 'gone' AND fingerprint = ?"
            " ORDER BY gone_at DESC",
            (fingerprint,),
        ):
            if track_id not in self.claimed:
                return int(track_id), bytes(path)
        return None

    def _result_for(self, track_id: int | None, fingerprint: str) -> Any:
        if track_id is None:
            return None
        return self.conn.execute(
            "SELECT 1 FROM results WHERE track_id = ? AND model_id = ? AND fingerprint = ?",
            (track_id, self.model_id, fingerprint),
        ).fetchone()

    def _any_result_with(self, fingerprint: str) -> tuple[bytes, bytes, int | None] | None:
        row = self.conn.execute(
            "SELECT embedding, seen_scores, n_windows FROM results WHERE model_id = ? AND fingerprint = ?"
            " LIMIT 1",
            (self.model_id, fingerprint),
        ).fetchone()
        return (bytes(row[0]), bytes(row[1]), row[2]) if row else None

    # -- inference -----------------------------------------------------------------------------
    def _infer(self, pending: list[tuple[_Job, Any]]) -> list[tuple[_Job, Any]]:
        """Analyse and store the decoded tracks, one forward pass's worth at a time, so progress
        moves and Cancel is seen between passes; returns what is left (all of it after Cancel:
        those tracks are not stored, the next scan does them)."""
        step = max(1, int(self._loaded().batch_size))
        while pending and not self.cancel.is_set():
            n, size = 0, 0
            while n < len(pending) and (n == 0 or size + len(pending[n][1]) <= step):
                size += len(pending[n][1])
                n += 1
            self._infer_some(pending[:n])
            pending = pending[n:]
        return pending

    def _infer_some(self, pending: list[tuple[_Job, Any]]) -> None:
        tagger = self._loaded()
        outputs: list[Analysis | str] | None
        try:
            outputs = list(tagger.analyse([payload for _, payload in pending]))
        except Exception:
            outputs = None  # one bad item spoils a batch: redo one by one to find it
        if outputs is None:
            outputs = []
            for _, payload in pending:
                try:
                    outputs.append(tagger.analyse([payload])[0])
                except (ZslError, ValueError, RuntimeError) as exc:
                    outputs.append(f"analysis failed ({_one_line(exc)})")
        for (job, _), out in zip(pending, outputs, strict=True):
            if isinstance(out, str):
                self._store_failed(job, out)
            else:
                self._store_ok(
                    job,
                    db.to_blob(out.embedding),
                    db.to_blob(out.seen_scores),
                    n_windows=self.n_windows or None,
                    kind="moved" if job.moved else "scanned",
                )

    # -- storing -------------------------------------------------------------------------------
    def _store_ok(
        self,
        job: _Job,
        embedding: bytes | None,
        scores: bytes | None,
        n_windows: int | None = None,
        kind: str = "scanned",
    ) -> None:
        now = time.time()
        with db.transaction(self.conn):
            track_id = self._write_track(job, TrackStatus.OK, _meta_error(job.metadata), now)
            if embedding is not None:
                self.conn.execute(
                    "INSERT OR REPLACE INTO results (track_id, model_id, embedding, seen_scores, n_windows,"
                    " fingerprint, analysed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (track_id, self.model_id, embedding, scores, n_windows, job.fingerprint, now),
                )
        setattr(self.summary, kind, getattr(self.summary, kind) + 1)
        self._finished(track_id, job)

    def _store_failed(self, job: _Job, reason: str) -> None:
        now = time.time()
        with db.transaction(self.conn):
            track_id = self._write_track(job, TrackStatus.FAILED, reason, now)
            self.conn.execute("DELETE FROM results WHERE track_id = ?", (track_id,))
        self.summary.failed.append((db.display(job.entry.path), reason))
        self._finished(track_id, job)

    def _write_track(self, job: _Job, status: TrackStatus, error: str | None, now: float) -> int:
        e, m = job.entry, job.metadata
        values = {
            "path": e.path,
            "display_path": db.display(e.path),
            "size": e.size,
            "mtime_ns": e.mtime_ns,
            "status": status,
            "error": error,
            "scanned_at": now,
            "gone_at": None,
        }
        if job.fingerprint is not None:
            values["fingerprint"] = job.fingerprint
        if m is not None:
            values.update(
                title=m.title,
                artist=m.artist,
                album=m.album,
                year=m.year,
                album_artist=m.album_artist,
                track_no=m.track_no,
                disc_no=m.disc_no,
                genre=m.genre,
                mood=m.mood,
                duration=m.duration,
                has_cover=int(m.has_cover),
            )
        if job.track_id is None:
            values["added_at"] = now
            cols = ", ".join(values)
            cur = self.conn.execute(
                f"INSERT INTO tracks ({cols}) VALUES ({', '.join('?' * len(values))})",
                tuple(values.values()),
            )
            job.track_id = db.inserted_id(cur)
        else:
            sets = ", ".join(f"{k} = ?" for k in values)
            self.conn.execute(
                f"UPDATE tracks SET {sets} WHERE id = ?", (*values.values(), job.track_id)
            )
        return job.track_id

    def _finished(self, track_id: int, job: _Job) -> None:
        self.done += 1
        self.worked += 1
        now = time.monotonic()
        times = self.finish_times
        burst = times and now - self.last_finish < BURST_S  # one batch stored: one sample
        if burst and now - times[-1][0] < RATE_MIN_SPAN_S:  # (a steady stream: one a second)
            times[-1] = (times[-1][0], self.worked)
        else:
            times.append((now, self.worked))
            self.batches += 1
            while len(times) > 2 and now - times[1][0] > RATE_WINDOW_S:
                del times[0]
        self.last_finish = now
        if self.on_track is not None:
            self.on_track(track_id)
        self._report(db.display(job.entry.path))

    def _report(self, current: str) -> None:
        if self.progress_cb is None:
            return
        rate = throughput(self.finish_times, self.worked, time.monotonic())
        left = self.total - self.done
        eta = left / rate if rate > 0 else (0.0 if left == 0 and self.total else None)
        self.progress_cb(ScanProgress(self.done, self.total, rate, eta, current, self.batches))


def throughput(samples: Sequence[tuple[float, int]], worked: int, now: float) -> float:
    """Tracks per second from `samples` of (time, tracks worked by then), one per batch stored:
    tracks finished since the oldest sample of the last RATE_WINDOW_S that is at least
    RATE_MIN_SPAN_S old (else the newest one that is), over the time since it; 0 while there is
    none. The first sample is a start line, not a measurement: the first batch also waited for
    the model to load, so counting it (or the time before it) makes the first ETA wildly off."""
    old = [s for s in samples if now - s[0] >= RATE_MIN_SPAN_S]
    if not old:
        return 0.0
    recent = [s for s in old if now - s[0] <= RATE_WINDOW_S]
    start = recent[0] if recent else old[-1]
    return (worked - start[1]) / (now - start[0])


def _under(path: bytes, folder: bytes) -> bool:
    folder = folder.rstrip(b"/")
    return path == folder or path.startswith(folder + b"/")


def _meta_error(meta: Metadata | None) -> str | None:
    return f"tags: {meta.error}" if meta is not None and meta.error else None


def _size(pending: list[tuple[_Job, Any]]) -> int:
    """Work queued for inference, in patches (or segments for other models)."""
    return sum(len(payload) for _, payload in pending)


def scan(
    conn: sqlite3.Connection,
    tagger: Tagger | cf.Future[Tagger],
    model_name: str,
    folders: Sequence[str | Path | bytes],
    *,
    n_windows: int | None = DEFAULT_N_WINDOWS,
    workers: int | None = None,
    progress: Callable[[ScanProgress], None] | None = None,
    cancel: threading.Event | None = None,
    on_track: Callable[[int], None] | None = None,
    on_gpu: bool | None = None,
) -> ScanSummary:
    """Scan `folders` into the index `conn` with `tagger` (known in `models` as `model_name`).

    tagger: the tagger, or a `concurrent.futures.Future` of it while it loads: walking,
    comparing and probing go on meanwhile, decodes wait for it. on_gpu: whether it will run on
    a GPU, if known before it is loaded (sizes the decode pool without waiting; None: wait).

    n_windows: 3-s windows per track (None -> DEFAULT_N_WINDOWS; 0 -> the whole track).
    workers: decode processes (None -> default_workers(): 2 on a CPU, up to 8 on a GPU; 0 -> in this process).
    progress(ScanProgress) after each track; cancel: a threading.Event checked between tracks
    (what is finished stays stored); on_track(track_id) after each track is stored.
    """
    return _Scan(
        conn, tagger, model_name, n_windows, workers, progress, cancel, on_track, on_gpu
    ).run(folders)
