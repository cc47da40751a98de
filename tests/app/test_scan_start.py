"""A scan shows progress before the model has loaded (issue 17): `Library.scan` loads the model
on a thread while the walk counts files and the probes run; decodes wait for it.

Ordering assertions, not timings: the model loader here blocks until the scan has reported
progress (with a generous timeout, so a regression fails instead of hanging)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from libfixtures import write_track

from app import scanner
from app.library import Library
from zsl_core import model_spec
from zsl_core.default_model import load_default_tagger
from zsl_core.errors import ModelError


@pytest.fixture(scope="module")
def music(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("start")
    for i in range(3):
        write_track(folder / f"t{i}.wav", seconds=4.0, seed=i, title=f"T{i}")
    return folder


@pytest.fixture(scope="module")
def real_tagger():
    return load_default_tagger(device="cpu")


def test_first_progress_comes_before_the_model_has_loaded(
    music, tmp_path, real_tagger, monkeypatch
):
    events: list[str] = []
    progressed = threading.Event()
    probed: list[bytes] = []
    real_probe = scanner.probe_file

    def probe(path: bytes):
        probed.append(path)
        return real_probe(path)

    def slow_loader(*args, **kwargs):
        progressed.wait(timeout=30)  # the scan must report before it gets a model
        events.append(f"model loaded, {len(probed)} probed")
        return real_tagger

    def progress(p) -> None:
        events.append(f"progress {p.done}/{p.total}")
        progressed.set()

    monkeypatch.setattr(model_spec, "load_tagger", slow_loader)
    monkeypatch.setattr(scanner, "probe_file", probe)
    with Library(db_path=tmp_path / "index.sqlite3", device="cpu") as library:
        summary = library.scan([music], n_windows=2, workers=0, progress=progress)
        assert summary.scanned == 3 and not summary.failed
        assert len(library.search("music", top_k=5, floor=0).hits) == 3
        assert library.model_id() is not None
    loaded = next(i for i, e in enumerate(events) if e.startswith("model loaded"))
    assert loaded > 0 and events[0].startswith("progress 0/"), events
    assert events[-1] == "progress 3/3", events


def test_probes_run_while_the_model_loads(music, tmp_path, real_tagger, monkeypatch):
    """In-process jobs (workers=0) so the probe order is observable: every file is probed
    before the model is handed over, and decoded after."""
    release = threading.Event()
    probed: list[bytes] = []
    real_probe = scanner.probe_file

    def probe(path: bytes):
        probed.append(path)
        if len(probed) == 3:
            release.set()
        return real_probe(path)

    probed_then: list[int] = []  # how many files were probed when the model was handed over

    def slow_loader(*args, **kwargs):
        release.wait(timeout=30)
        time.sleep(0.05)
        probed_then.append(len(probed))
        return real_tagger

    monkeypatch.setattr(model_spec, "load_tagger", slow_loader)
    monkeypatch.setattr(scanner, "probe_file", probe)
    with Library(db_path=tmp_path / "index.sqlite3", device="cpu") as library:
        summary = library.scan([music], n_windows=2, workers=0)
    assert summary.scanned == 3
    assert probed_then == [3]


def test_a_model_that_fails_to_load_fails_the_scan(music, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise ModelError("model folder damaged")

    monkeypatch.setattr(model_spec, "load_tagger", broken)
    with Library(db_path=tmp_path / "index.sqlite3", device="cpu") as library:
        with pytest.raises(ModelError, match="damaged"):
            library.scan([music], n_windows=2, workers=0)
        state = library.conn.execute("SELECT state FROM scans").fetchone()[0]
    assert state == "error"


def test_gpu_hint_without_torch():
    assert scanner.gpu_hint("cpu") is False
    assert scanner.gpu_hint("cuda") is True
    assert scanner.gpu_hint("auto") in (False, None)
