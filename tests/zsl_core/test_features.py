"""The mel feature cache: build, resume, failures, odd ids, reading, statistics."""

from __future__ import annotations

import json

import numpy as np
import pytest

import audio_factory as af
from zsl_core.audio import N_MELS, load_audio, mel_spectrogram
from zsl_core.errors import DatasetError
from zsl_core.features import (INDEX_NAME, FeatureCache, build_feature_cache,
                               feature_file_name, standardisation_stats)


@pytest.fixture
def tracks(tmp_path):
    folder = tmp_path / "audio"
    folder.mkdir()
    return [
        ("a", af.write_tone(folder / "a.wav", 1.0, 22050, (440.0,))),
        ("rock/b c", af.write_tone(folder / "b.flac", 1.5, 44100, (880.0,))),
        ("ÜNÏ:*?", af.write_tone(folder / "c.ogg", 0.8, 22050, (220.0, 3000.0))),
    ]


def test_build_writes_the_paper_mel_as_float16(tmp_path, tracks):
    report = build_feature_cache(tracks, tmp_path / "cache", workers=1, progress=False)
    assert report.ok and sorted(report.computed) == sorted(t for t, _ in tracks)
    cache = FeatureCache(tmp_path / "cache")
    assert sorted(cache.ids()) == sorted(t for t, _ in tracks) and len(cache) == 3
    for track_id, path in tracks:
        assert track_id in cache
        mel = cache[track_id]
        assert isinstance(mel, np.memmap) and mel.dtype == np.float16
        assert mel.shape[0] == N_MELS
        np.testing.assert_allclose(mel, mel_spectrogram(load_audio(path)), atol=2e-3, rtol=1e-3)
    assert "missing" not in cache
    with pytest.raises(KeyError):
        cache["missing"]


def test_odd_ids_get_safe_distinct_file_names():
    names = {feature_file_name(i) for i in ["a/b", "a_b", "A/B", "../x", "a b", "ü", ""]}
    assert len(names) == 7
    for name in names:
        folder, file = name.split("/")
        assert len(folder) == 2 and ".." not in file and " " not in file and file.endswith(".npy")


def test_build_in_worker_processes(tmp_path, tracks):
    report = build_feature_cache(tracks, tmp_path / "cache", workers=2, progress=False)
    assert report.ok and len(report.computed) == 3
    assert all(t in FeatureCache(tmp_path / "cache") for t, _ in tracks)


def test_max_seconds_keeps_the_start(tmp_path, tracks):
    build_feature_cache(tracks[1:2], tmp_path / "cache", workers=1, max_seconds=0.5,
                        progress=False)
    assert FeatureCache(tmp_path / "cache")["rock/b c"].shape == (N_MELS, 1 + 11025 // 512)


def test_failures_are_reported_and_the_build_goes_on(tmp_path, tracks):
    bad = tmp_path / "audio" / "broken.mp3"
    bad.write_bytes(b"definitely not audio" * 100)
    todo = tracks + [("bad", bad), ("gone", tmp_path / "nope.wav")]
    report = build_feature_cache(todo, tmp_path / "cache", workers=1, progress=False)
    assert sorted(report.failed) == ["bad", "gone"]
    assert "broken.mp3" in report.failed["bad"] and "not found" in report.failed["gone"]
    assert len(report.computed) == 3 and "2 failed" in report.summary()
    assert "bad" not in FeatureCache(tmp_path / "cache")


def test_resume_skips_what_is_cached_and_cleans_half_files(tmp_path, tracks):
    cache_dir = tmp_path / "cache"
    first = build_feature_cache(tracks[:1], cache_dir, workers=1, progress=False)
    assert first.computed == ["a"]
    stamp = (cache_dir / feature_file_name("a")).stat().st_mtime_ns
    # a build killed mid-write: a temporary file and a torn index line
    half = cache_dir / feature_file_name("rock/b c")
    half.parent.mkdir(parents=True, exist_ok=True)
    half.with_name(half.stem + ".tmp-999.npy").write_bytes(b"\x93NUMPY half")
    with open(cache_dir / INDEX_NAME, "a") as handle:
        handle.write('{"id": "rock/b')
    second = build_feature_cache(tracks, cache_dir, workers=1, progress=False)
    assert second.skipped == ["a"] and sorted(second.computed) == ["rock/b c", "ÜNÏ:*?"]
    assert (cache_dir / feature_file_name("a")).stat().st_mtime_ns == stamp
    assert not list(cache_dir.glob("*/*.tmp-*"))
    assert sorted(FeatureCache(cache_dir).ids()) == sorted(t for t, _ in tracks)


def test_resume_reindexes_a_file_whose_index_line_was_lost(tmp_path, tracks):
    cache_dir = tmp_path / "cache"
    build_feature_cache(tracks[:1], cache_dir, workers=1, progress=False)
    (cache_dir / INDEX_NAME).unlink()
    report = build_feature_cache(tracks[:1], cache_dir, workers=1, progress=False)
    assert report.skipped == ["a"] and FeatureCache(cache_dir).ids() == ["a"]


def test_duplicate_ids_for_different_files_are_refused(tmp_path, tracks):
    with pytest.raises(DatasetError):
        build_feature_cache([tracks[0], ("a", tracks[1][1])], tmp_path / "c", workers=1,
                            progress=False)


def test_standardisation_stats_stream_over_tracks(tmp_path):
    cache_dir = tmp_path / "cache"
    rng = np.random.default_rng(0)
    arrays = {f"t{i}": rng.gamma(2.0, 0.1, (N_MELS, 20 + 7 * i)).astype(np.float16)
              for i in range(4)}
    for track_id, mel in arrays.items():
        target = cache_dir / feature_file_name(track_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        np.save(target, mel)
        with open(cache_dir / INDEX_NAME, "a") as handle:
            handle.write(json.dumps({"id": track_id}) + "\n")
    cache = FeatureCache(cache_dir)
    mean, std = standardisation_stats(cache, ["t0", "t2", "t3"])
    values = np.concatenate([arrays[t].astype(np.float64).ravel() for t in ["t0", "t2", "t3"]])
    assert mean == pytest.approx(values.mean(), rel=1e-9)
    assert std == pytest.approx(values.std(), rel=1e-9)
    with pytest.raises(DatasetError):
        standardisation_stats(cache, ["t0", "absent"])
    with pytest.raises(DatasetError):
        standardisation_stats(cache, [])
