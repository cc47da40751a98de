"""A scan's decode workers end with it: a SIGKILLed scan leaves no orphan processes, a
cancelled or interrupted one shuts its pool down (issue 13, "nothing left behind").

The scans run in a child process (a small script), so the test can SIGKILL it and then look
for the worker processes it had started: /proc, no psutil. Linux only (the /proc reading);
the fallback watcher, which is what other systems use, is forced and tested here too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from libfixtures import write_track

from app import db, scanner

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

REPO = Path(__file__).resolve().parents[2]
TRACKS = 8
GONE_WITHIN_S = 5.0


@pytest.fixture(scope="module")
def music(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("lifetime-music")
    for i in range(TRACKS):
        write_track(folder / f"t{i}.flac", seconds=60, kind="noise", seed=i)
    return folder


def _children(pid: int) -> list[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.update(int(c) for c in (task / "children").read_text().split())
        except OSError:
            pass
    if not found:  # kernels without the children file: scan every process's parent
        for stat_file in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat_file.read_text()
            except OSError:
                continue
            if int(text.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(stat_file.parent.name))
    return sorted(found)


def _alive(pid: int) -> bool:
    """Running, not a zombie (an orphan's zombie is reaped by init soon; it holds nothing)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return text.rsplit(")", 1)[1].split()[0] != "Z"


def _cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def _workers(pid: int) -> list[int]:
    return [c for c in _children(pid) if "spawn_main" in _cmdline(c)]


def _start(script: str, *args: str) -> subprocess.Popen:
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests"), str(REPO / "tests" / "app")]),
    )
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_line(proc: subprocess.Popen, word: str, timeout: float = 120.0) -> str:
    """The child's first stdout line starting with `word` (fails with its stderr if it exits)."""
    result: list[str] = []

    def read() -> None:
        assert proc.stdout is not None  # stdout=PIPE
        for line in proc.stdout:
            if line.startswith(word):
                result.append(line)
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if not result:
        proc.kill()
        _, stderr = proc.communicate(timeout=30)
        pytest.fail(f"child never printed {word!r}; stderr:\n{stderr[-3000:]}")
    return result[0]


def _kill_and_check(proc: subprocess.Popen, expect_workers: int) -> None:
    workers = _workers(proc.pid)
    everything = _children(proc.pid)
    assert len(workers) == expect_workers, (workers, [_cmdline(c) for c in everything])
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    deadline = time.monotonic() + GONE_WITHIN_S
    while time.monotonic() < deadline and any(_alive(p) for p in everything):
        time.sleep(0.05)
    left = [(p, _cmdline(p)) for p in everything if _alive(p)]
    for p, _ in left:  # never leave them to the next test
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    assert not left, f"still running {GONE_WITHIN_S} s after the scan was killed: {left}"


# The scan of `music` with 2 workers; on_track stops the main process after the first stored
# track (as a stuck main process, or one killed at that moment, would be), so the pool is live.
SCAN_SCRIPT = """
    import sys, time
    from app import db, scanner
    from zsl_core.default_model import load_default_tagger

    def main():
        folder, index, pdeathsig = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
        scanner._PDEATHSIG = pdeathsig
        conn = db.connect(index)
        tagger = load_default_tagger(device="cpu")

        def on_track(track_id):
            print("STORED", track_id, flush=True)
            time.sleep(600)

        scanner.scan(conn, tagger, "default", [folder], n_windows=2, workers=2, on_track=on_track)

    if __name__ == "__main__":
        main()
"""


@pytest.mark.parametrize("pdeathsig", [True, False], ids=["pdeathsig", "watcher"])
def test_killed_scan_leaves_no_workers(music, tmp_path, pdeathsig):
    proc = _start(
        SCAN_SCRIPT, str(music), str(tmp_path / "index.sqlite3"), "1" if pdeathsig else "0"
    )
    _wait_line(proc, "STORED")
    _kill_and_check(proc, expect_workers=2)


# A worker busy in a long job (a decode of a huge file, a decoder stuck on a hostile one) when
# its parent is killed: the scanner's own pool and initializer, a job that sleeps.
BUSY_SCRIPT = """
    import sys, time
    from app import scanner

    def main():
        scanner._PDEATHSIG = sys.argv[1] == "1"
        pool = scanner._new_pool(2)
        jobs = [pool.submit(time.sleep, 600) for _ in range(2)]
        while len(scanner._pool_processes(pool)) < 2:
            time.sleep(0.05)
        time.sleep(0.5)  # the initializers have run, the sleeps have started
        print("BUSY", flush=True)
        time.sleep(600)

    if __name__ == "__main__":
        main()
"""


@pytest.mark.parametrize("pdeathsig", [True, False], ids=["pdeathsig", "watcher"])
def test_worker_busy_in_a_job_ends_with_its_parent(pdeathsig):
    proc = _start(BUSY_SCRIPT, "1" if pdeathsig else "0")
    _wait_line(proc, "BUSY")
    _kill_and_check(proc, expect_workers=2)


def test_worker_whose_parent_is_gone_before_its_initializer_exits_at_once():
    """The race prctl alone misses: the parent died between the spawn and the initializer."""
    code = (
        f"import os, sys; sys.path.insert(0, {str(REPO)!r}); from app import scanner;"
        " scanner._worker_init(os.getppid() + 1000000); import time; time.sleep(30)"
    )
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", code], timeout=60)
    assert result.returncode != 0 and time.monotonic() - started < 20


# -- cancel and interrupt: the pool is shut down, no worker outlives the scan --------------------


def _scan_children_after(run) -> list[int]:
    before = set(_children(os.getpid()))
    run()
    deadline = time.monotonic() + GONE_WITHIN_S
    while time.monotonic() < deadline:
        left = [
            p
            for p in set(_children(os.getpid())) - before
            if _alive(p) and "spawn_main" in _cmdline(p)
        ]
        if not left:
            return []
        time.sleep(0.05)
    return left


@pytest.fixture(scope="module")
def tagger():
    from zsl_core.default_model import load_default_tagger

    return load_default_tagger(device="cpu")


def test_cancelled_scan_shuts_its_pool_down(music, tmp_path, tagger):
    conn = db.connect(tmp_path / "index.sqlite3")
    cancel = threading.Event()
    summary = []

    def run():
        summary.append(
            scanner.scan(
                conn,
                tagger,
                "default",
                [music],
                n_windows=2,
                workers=2,
                cancel=cancel,
                on_track=lambda _: cancel.set(),
            )
        )

    assert _scan_children_after(run) == []
    assert summary[0].cancelled and 1 <= summary[0].scanned <= TRACKS
    assert conn.execute("SELECT state FROM scans").fetchone()[0] == "cancelled"
    conn.close()


def test_interrupted_scan_stops_its_workers_at_once(music, tmp_path, tagger, monkeypatch):
    """KeyboardInterrupt (a second Ctrl-C) in the main process: the workers are stopped, not
    waited for, and the scans row says so."""
    conn = db.connect(tmp_path / "index.sqlite3")
    slow = []

    def on_track(_):
        slow.append(1)
        raise KeyboardInterrupt

    def run():
        with pytest.raises(KeyboardInterrupt):
            scanner.scan(
                conn, tagger, "default", [music], n_windows=2, workers=2, on_track=on_track
            )

    assert _scan_children_after(run) == []
    assert slow == [1]
    assert conn.execute("SELECT state FROM scans").fetchone()[0] == "error"
    conn.close()


def test_workers_ignore_sigint(music, tmp_path):
    """Ctrl-C in a terminal reaches the whole process group: the workers leave it to the main
    process (first Ctrl-C: cancel after the files in flight) instead of dying with a traceback
    or handing a KeyboardInterrupt back as a file's result."""
    pool = scanner._new_pool(1)
    try:
        pid = pool.submit(os.getpid).result(timeout=60)
        os.kill(pid, signal.SIGINT)
        time.sleep(0.3)
        assert pool.submit(os.getpid).result(timeout=60) == pid
    finally:
        pool.shutdown(wait=True)
