"""The mel feature cache: build, resume, failures, odd ids, reading, statistics."""

from __future__ import annotations

import json

import audio_factory as af
import numpy as np
import pytest

from zsl_core.audio import N_MELS, load_audio, mel_spectrogram
from zsl_core.errors import DatasetError
from zsl_core.features import (
    INDEX_NAME,
    SHARD_DIR,
    SHARD_INDEX,
    FeatureCache,
    build_feature_cache,
    feature_file_name,
    pack_shards,
    read_shard_index,
    standardisation_stats,
)


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
    build_feature_cache(tracks[1:2], tmp_path / "cache", workers=1, max_seconds=0.5, progress=False)
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
        build_feature_cache(
            [tracks[0], ("a", tracks[1][1])], tmp_path / "c", workers=1, progress=False
        )


def test_standardisation_stats_stream_over_tracks(tmp_path):
    cache_dir = tmp_path / "cache"
    rng = np.random.default_rng(0)
    arrays = {
        f"t{i}": rng.gamma(2.0, 0.1, (N_MELS, 20 + 7 * i)).astype(np.float16) for i in range(4)
    }
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


# --------------------------------------------------------------------------- shards


def write_per_track(cache_dir, arrays):
    """Per-track files and index lines as a build writes them, without decoding audio."""
    for track_id, mel in arrays.items():
        target = cache_dir / feature_file_name(track_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        np.save(target, mel)
        with open(cache_dir / INDEX_NAME, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"id": track_id, "file": feature_file_name(track_id)}) + "\n")


def random_mels(n, seed=0, first_id=0):
    rng = np.random.default_rng(seed)
    return {
        f"track {i}/ü": rng.gamma(2.0, 0.3, (N_MELS, int(rng.integers(1, 300)))).astype(np.float16)
        for i in range(first_id, first_id + n)
    }


def test_shards_round_trip_the_per_track_files_exactly(tmp_path):
    arrays = random_mels(12)
    write_per_track(tmp_path, arrays)
    report = pack_shards(tmp_path, max_shard_bytes=3 * N_MELS * 300 * 2)
    assert report.packed and report.tracks == 12 and report.shards >= 3
    assert report.bytes == sum(a.nbytes for a in arrays.values())
    cache = FeatureCache(tmp_path)
    assert cache.sharded and cache.ids() == list(arrays)
    for track_id, mel in arrays.items():
        got = cache[track_id]
        assert isinstance(got, np.memmap) and got.dtype == np.float16 and got.shape == mel.shape
        assert str(tmp_path / SHARD_DIR) in str(got.filename), (
            "read from a shard, not the per-track file"
        )
        np.testing.assert_array_equal(got, np.load(tmp_path / feature_file_name(track_id)))
    assert not pack_shards(tmp_path).packed, "current shards are not packed again"
    mapped = FeatureCache(tmp_path, use_shards=False)["track 3/ü"]
    assert isinstance(mapped, np.memmap) and str(mapped.filename).endswith(".npy")


def test_stale_shards_fall_back_and_are_repacked(tmp_path):
    arrays = random_mels(4)
    write_per_track(tmp_path, arrays)
    pack_shards(tmp_path)
    old_shards = sorted(p.name for p in (tmp_path / SHARD_DIR).glob("shard-*"))
    more = random_mels(2, seed=1, first_id=4)
    write_per_track(tmp_path, more)  # a later build added tracks: the index grew
    assert read_shard_index(tmp_path) is None
    cache = FeatureCache(tmp_path)
    assert not cache.sharded
    for track_id, mel in {**arrays, **more}.items():
        np.testing.assert_array_equal(cache[track_id], mel)
    assert cache.ensure_shards() and cache.sharded
    assert len(cache.ids()) == 6
    np.testing.assert_array_equal(cache["track 5/ü"], more["track 5/ü"])
    assert not set(old_shards) & {p.name for p in (tmp_path / SHARD_DIR).glob("shard-*")}, (
        "old pack removed"
    )


def test_a_damaged_shard_is_not_read(tmp_path):
    arrays = random_mels(3)
    write_per_track(tmp_path, arrays)
    pack_shards(tmp_path)
    shard = next((tmp_path / SHARD_DIR).glob("shard-*.f16"))
    shard.write_bytes(shard.read_bytes()[:-2])  # truncated
    cache = FeatureCache(tmp_path)
    assert not cache.sharded
    for track_id, mel in arrays.items():
        np.testing.assert_array_equal(cache[track_id], mel)
    (tmp_path / SHARD_DIR / SHARD_INDEX).write_text('{"format": 1, "shards": [', encoding="utf-8")
    assert read_shard_index(tmp_path) is None and not FeatureCache(tmp_path).sharded


def test_a_killed_pack_is_ignored_and_cleaned_up(tmp_path):
    arrays = random_mels(3)
    write_per_track(tmp_path, arrays)
    pack_shards(tmp_path)
    folder = tmp_path / SHARD_DIR
    (folder / "shard-dead-000.f16.tmp-999").write_bytes(b"\0" * 100)  # killed while copying
    (folder / "shard-dead-001.f16").write_bytes(b"\0" * 100)  # killed before writing the index
    (folder / f"{SHARD_INDEX}.tmp-999").write_text("{", encoding="utf-8")
    cache = FeatureCache(tmp_path)
    assert cache.sharded
    for track_id, mel in arrays.items():
        np.testing.assert_array_equal(cache[track_id], mel)
    pack_shards(tmp_path, force=True)
    names = {p.name for p in folder.iterdir()}
    assert not any("dead" in n or ".tmp-" in n for n in names) and SHARD_INDEX in names
    assert FeatureCache(tmp_path).sharded


def test_a_build_packs_and_the_cache_pickles_small(tmp_path, tracks):
    import pickle

    build_feature_cache(tracks[:2], tmp_path / "cache", workers=1, progress=False)
    assert read_shard_index(tmp_path / "cache") is not None
    cache = FeatureCache(tmp_path / "cache")
    expected = np.asarray(cache["a"]).copy()
    again = pickle.loads(pickle.dumps(cache))
    assert len(pickle.dumps(cache)) < 1000 and again.sharded
    np.testing.assert_array_equal(again["a"], expected)
    assert not FeatureCache(tmp_path / "empty").ensure_shards(), "nothing to pack: per-track reads"


def test_only_rank_zero_packs_under_torchrun(tmp_path, tracks, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    build_feature_cache(tracks[:1], tmp_path / "cache", workers=1, progress=False)
    assert read_shard_index(tmp_path / "cache") is None and "a" in FeatureCache(tmp_path / "cache")
    monkeypatch.setenv("RANK", "0")
    build_feature_cache(tracks[:1], tmp_path / "cache", workers=1, progress=False)
    assert FeatureCache(tmp_path / "cache").sharded
