"""The saved track index: search order, atomic save/load, merging shards, bad files."""

import numpy as np
import pytest

from zsl_core.errors import DatasetError
from zsl_core.index import TrackIndex


def make_index(model="m"):
    embeddings = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    return TrackIndex(["a", "b", "c"], ["/a.mp3", "/b.mp3", "/c.mp3"], embeddings, model)


def test_search_ranks_by_cosine():
    index = make_index()
    hits = index.search(np.array([1.0, 0.1]), top_k=3)
    assert [h.id for h in hits] == ["a", "c", "b"]
    assert hits[0].score == pytest.approx(1 / np.sqrt(1.01), abs=1e-3)
    assert len(index.search(np.array([0.0, 1.0]), top_k=1)) == 1


def test_save_load_round_trip(tmp_path):
    index = make_index()
    index.save(tmp_path / "ix.npz")
    loaded = TrackIndex.load(tmp_path / "ix.npz")
    assert loaded.ids == index.ids and loaded.paths == index.paths and loaded.model == "m"
    np.testing.assert_array_equal(loaded.embeddings, index.embeddings)
    assert not list(tmp_path.glob("*.tmp*"))


def test_merge_shards_and_refuse_other_models():
    first = make_index()
    second = TrackIndex(["c", "d"], ["/c2.mp3", "/d.mp3"], np.array([[0.0, 1.0], [1.0, 0.0]]), "m")
    merged = TrackIndex.merge([first, second])
    assert merged.ids == ["a", "b", "c", "d"]
    assert merged.paths[2] == "/c2.mp3"
    with pytest.raises(DatasetError):
        TrackIndex.merge([first, make_index("other")])


def test_bad_files_raise_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        TrackIndex.load(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match="not a zsl-core index"):
        TrackIndex.load(junk)


def test_rank_agrees_with_an_exact_float64_ranking():
    from zsl_core.index import rank

    rng = np.random.default_rng(3)
    matrix = rng.standard_normal((5000, 50))
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    query = rng.standard_normal(50)
    exact = matrix @ (query / np.linalg.norm(query))
    best, scores = rank(matrix.astype(np.float16), query, top_k=10)
    assert list(best[:5]) == list(np.argsort(-exact)[:5])
    np.testing.assert_allclose(scores, exact[best], atol=2e-3)
    assert np.all(np.diff(scores) <= 0)
    assert rank(matrix[:0].astype(np.float16), query, 5)[0].size == 0
    assert len(rank(matrix[:3].astype(np.float16), query, 10)[0]) == 3


def test_format_1_files_still_load_and_search(tmp_path):
    import json

    np.savez(
        tmp_path / "v1.npz",
        header=np.array(json.dumps({"format": 1, "model": "default"})),
        ids=np.array(["a", "b"]),
        paths=np.array(["/a.mp3", "/b.mp3"]),
        embeddings=np.array([[1, 0], [0, 1]], np.float16),
    )
    old = TrackIndex.load(tmp_path / "v1.npz")
    assert old.paths == ["/a.mp3", "/b.mp3"] and old.model_key == "default"
    assert old.seen_scores is None and old.sizes is None
    assert old.search(np.array([0.0, 1.0]), top_k=1)[0].id == "b"


def test_optional_columns_round_trip_and_merge():
    first = TrackIndex(
        ["a", "b"],
        ["/a", "/b"],
        np.eye(2),
        "m",
        seen_scores=[[0.1, 0.9], [0.5, 0.5]],
        sizes=[10, 20],
        mtimes_ns=[1, 2],
        info={"model_key": "m+x", "n_windows": 8},
    )
    second = TrackIndex(
        ["b", "c"],
        ["/b2", "/c"],
        np.eye(2),
        "m",
        seen_scores=[[0.2, 0.8], [0.3, 0.7]],
        sizes=[21, 30],
        mtimes_ns=[3, 4],
        info={"model_key": "m+x", "n_windows": 8},
    )
    merged = TrackIndex.merge([first, second])
    assert merged.ids == ["a", "b", "c"] and merged.paths == ["/a", "/b2", "/c"]
    assert merged.sizes is not None and merged.mtimes_ns is not None
    assert merged.sizes.tolist() == [10, 21, 30] and merged.mtimes_ns.tolist() == [1, 3, 4]
    assert merged.seen_scores is not None
    np.testing.assert_allclose(merged.seen_scores[1], np.array([0.2, 0.8]), atol=1e-3)
    assert merged.model_key == "m+x" and merged.info["n_windows"] == 8
    # Another model key (e.g. other word vectors or precision) never merges.
    with pytest.raises(DatasetError, match="different models"):
        TrackIndex.merge(
            [first, TrackIndex(["d"], ["/d"], np.eye(2)[:1], "m", info={"model_key": "m+y"})]
        )
    # A shard without the optional columns drops them from the merge rather than inventing them.
    plain = TrackIndex(["d"], ["/d"], np.eye(2)[:1], "m", info={"model_key": "m+x"})
    assert TrackIndex.merge([first, plain]).seen_scores is None


def test_damaged_columns_are_refused(tmp_path):
    import json

    np.savez(
        tmp_path / "bad.npz",
        header=np.array(json.dumps({"format": 2, "model": "m"})),
        ids=np.array(["a", "b"]),
        paths=np.array([b"/a", b"/b"]),
        embeddings=np.eye(2, dtype=np.float16),
        sizes=np.array([1], np.int64),
    )
    with pytest.raises(DatasetError, match="damaged"):
        TrackIndex.load(tmp_path / "bad.npz")
    np.savez(
        tmp_path / "future.npz",
        header=np.array(json.dumps({"format": 9, "model": "m"})),
        ids=np.array(["a"]),
        paths=np.array([b"/a"]),
        embeddings=np.eye(1, dtype=np.float16),
    )
    with pytest.raises(DatasetError, match="unsupported index format 9"):
        TrackIndex.load(tmp_path / "future.npz")


def test_read_info_gives_the_header_without_the_rows(tmp_path):
    index = TrackIndex(
        ["a"],
        ["/music/a.mp3"],
        np.ones((1, 2)),
        "default",
        info={"model_key": "default", "root": "/music"},
    )
    index.save(tmp_path / "p.npz")
    info = TrackIndex.read_info(tmp_path / "p.npz")
    assert (info["model_key"], info["root"], info["tracks"], info["format"]) == (
        "default",
        "/music",
        1,
        2,
    )
    assert "tracks" not in TrackIndex.load(tmp_path / "p.npz").info
    with pytest.raises(DatasetError, match="not found"):
        TrackIndex.read_info(tmp_path / "missing.npz")


def test_ids_and_paths_round_trip_as_bytes(tmp_path):
    index = TrackIndex(
        ["Beyoncé – Halo", "東京"], ["/music/é.mp3", "/music/東京.flac"], np.eye(2), "m"
    )
    index.save(tmp_path / "p.npz")
    with np.load(tmp_path / "p.npz") as data:
        assert data["ids"].dtype.kind == "S" and data["paths"].dtype.kind == "S"
    back = TrackIndex.load(tmp_path / "p.npz")
    assert back.ids == index.ids and back.paths == index.paths


# -- empty and crafted parts (issue 13) ----------------------------------------------------


def test_an_empty_index_saves_and_loads(tmp_path):
    for scores in (None, np.zeros((0, 5))):
        empty = TrackIndex(
            [],
            [],
            np.zeros((0,)),
            "m",
            seen_scores=scores,
            sizes=[],
            mtimes_ns=[],
            info={"seen_labels": ["a", "b", "c", "d", "e"]},
        )
        empty.save(tmp_path / "empty.npz")
        back = TrackIndex.load(tmp_path / "empty.npz")
        assert len(back) == 0 and back.search(np.ones(3)) == []
        if scores is not None:
            assert back.seen_scores is not None and back.seen_scores.shape == (0, 5)


def _crafted(path, arrays, patch=None):
    """An .npz written by numpy, then with one member's npy header rewritten by `patch`."""
    import zipfile

    np.savez(path, **arrays)
    if patch is None:
        return path
    with zipfile.ZipFile(path) as z:
        members = {i.filename: z.read(i.filename) for i in z.infolist()}
    name, old, new = patch
    members[name] = members[name].replace(old, new.ljust(len(old)), 1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for member, data in members.items():
            z.writestr(member, data)
    return path


def _good_arrays(n=4, d=8):
    import json

    header = json.dumps({"format": 2, "model": "m", "tracks": n})
    return {
        "header": np.array(header),
        "ids": np.array([b"a", b"b", b"c", b"d"][:n]),
        "paths": np.array([b"/a", b"/b", b"/c", b"/d"][:n]),
        "embeddings": np.ones((n, d), np.float16),
    }


def test_a_crafted_shape_is_refused_before_any_allocation(tmp_path):
    import tracemalloc

    # the embeddings header claims 50 million x 8 float16 rows (800 MB): the data is 64 bytes
    path = _crafted(
        tmp_path / "big.npz", _good_arrays(), ("embeddings.npy", b"(4, 8)", b"(50000000, 8)")
    )
    assert path.stat().st_size < 10_000
    tracemalloc.start()
    with pytest.raises(DatasetError) as info:
        TrackIndex.load(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20 << 20, peak
    assert "declares" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(DatasetError):
        TrackIndex.read_info(path)


def test_column_lengths_are_checked_from_the_headers(tmp_path):
    arrays = _good_arrays()
    arrays["seen_scores"] = np.ones((3, 2), np.float16)  # 3 rows for 4 tracks
    with pytest.raises(DatasetError, match="seen_scores"):
        TrackIndex.load(_crafted(tmp_path / "a.npz", arrays))
    import json

    arrays = _good_arrays()
    arrays["header"] = np.array(json.dumps({"format": 2, "model": "m", "tracks": 99}))
    with pytest.raises(DatasetError, match="99 tracks"):
        TrackIndex.load(_crafted(tmp_path / "b.npz", arrays))


def test_a_compression_bomb_is_refused(tmp_path):
    import json
    import zipfile

    path = tmp_path / "bomb.npz"
    arrays = _good_arrays(0, 8)
    arrays["embeddings"] = np.zeros((0, 8), np.float16)
    np.savez(path, **arrays)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as z:
        with z.open("sizes.npy", "w", force_zip64=True) as f:  # 40 MB of zeros: ~40 KB stored
            np.lib.format.write_array_header_1_0(
                f, {"descr": "<i8", "fortran_order": False, "shape": (5_000_000,)}
            )
            for _ in range(40):
                f.write(b"\0" * 1_000_000)
    assert path.stat().st_size < 200_000
    with pytest.raises(DatasetError, match="expand"):
        TrackIndex.load(path)
    assert json.loads(str(np.load(path)["header"]))["tracks"] == 0


def test_truncated_and_garbage_parts_are_one_line_dataset_errors(tmp_path):
    good = tmp_path / "good.npz"
    TrackIndex(["a"], ["/a"], np.ones((1, 4)), "m").save(good)
    data = good.read_bytes()
    cases = {
        "truncated.npz": data[: len(data) // 2],
        "garbage.npz": b"PK\x03\x04" + b"\xff" * 500,
        "empty.npz": b"",
        "text.npz": b"hello",
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(DatasetError) as info:
            TrackIndex.load(tmp_path / name)
        assert "\n" not in str(info.value), name
