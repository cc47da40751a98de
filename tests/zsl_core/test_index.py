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

    np.savez(tmp_path / "v1.npz", header=np.array(json.dumps({"format": 1, "model": "default"})),
             ids=np.array(["a", "b"]), paths=np.array(["/a.mp3", "/b.mp3"]),
             embeddings=np.array([[1, 0], [0, 1]], np.float16))
    old = TrackIndex.load(tmp_path / "v1.npz")
    assert old.paths == ["/a.mp3", "/b.mp3"] and old.model_key == "default"
    assert old.seen_scores is None and old.sizes is None
    assert old.search(np.array([0.0, 1.0]), top_k=1)[0].id == "b"


def test_optional_columns_round_trip_and_merge():
    first = TrackIndex(["a", "b"], ["/a", "/b"], np.eye(2), "m", seen_scores=[[0.1, 0.9], [0.5, 0.5]],
                       sizes=[10, 20], mtimes_ns=[1, 2], info={"model_key": "m+x", "n_windows": 8})
    second = TrackIndex(["b", "c"], ["/b2", "/c"], np.eye(2), "m", seen_scores=[[0.2, 0.8], [0.3, 0.7]],
                        sizes=[21, 30], mtimes_ns=[3, 4], info={"model_key": "m+x", "n_windows": 8})
    merged = TrackIndex.merge([first, second])
    assert merged.ids == ["a", "b", "c"] and merged.paths == ["/a", "/b2", "/c"]
    assert merged.sizes.tolist() == [10, 21, 30] and merged.mtimes_ns.tolist() == [1, 3, 4]
    np.testing.assert_allclose(merged.seen_scores[1], [0.2, 0.8], atol=1e-3)
    assert merged.model_key == "m+x" and merged.info["n_windows"] == 8
    # Another model key (e.g. other word vectors or precision) never merges.
    with pytest.raises(DatasetError, match="different models"):
        TrackIndex.merge([first, TrackIndex(["d"], ["/d"], np.eye(2)[:1], "m", info={"model_key": "m+y"})])
    # A shard without the optional columns drops them from the merge rather than inventing them.
    plain = TrackIndex(["d"], ["/d"], np.eye(2)[:1], "m", info={"model_key": "m+x"})
    assert TrackIndex.merge([first, plain]).seen_scores is None


def test_damaged_columns_are_refused(tmp_path):
    import json

    np.savez(tmp_path / "bad.npz", header=np.array(json.dumps({"format": 2, "model": "m"})),
             ids=np.array(["a", "b"]), paths=np.array([b"/a", b"/b"]),
             embeddings=np.eye(2, dtype=np.float16), sizes=np.array([1], np.int64))
    with pytest.raises(DatasetError, match="damaged"):
        TrackIndex.load(tmp_path / "bad.npz")
    np.savez(tmp_path / "future.npz", header=np.array(json.dumps({"format": 9, "model": "m"})),
             ids=np.array(["a"]), paths=np.array([b"/a"]), embeddings=np.eye(1, dtype=np.float16))
    with pytest.raises(DatasetError, match="unsupported index format 9"):
        TrackIndex.load(tmp_path / "future.npz")


def test_read_info_gives_the_header_without_the_rows(tmp_path):
    index = TrackIndex(["a"], ["/music/a.mp3"], np.ones((1, 2)), "default",
                       info={"model_key": "default", "root": "/music"})
    index.save(tmp_path / "p.npz")
    info = TrackIndex.read_info(tmp_path / "p.npz")
    assert (info["model_key"], info["root"], info["tracks"], info["format"]) == ("default", "/music", 1, 2)
    assert "tracks" not in TrackIndex.load(tmp_path / "p.npz").info
    with pytest.raises(DatasetError, match="not found"):
        TrackIndex.read_info(tmp_path / "missing.npz")


def test_ids_and_paths_round_trip_as_bytes(tmp_path):
    index = TrackIndex(["Beyoncé – Halo", "東京"], ["/music/é.mp3", "/music/東京.flac"], np.eye(2), "m")
    index.save(tmp_path / "p.npz")
    with np.load(tmp_path / "p.npz") as data:
        assert data["ids"].dtype.kind == "S" and data["paths"].dtype.kind == "S"
    back = TrackIndex.load(tmp_path / "p.npz")
    assert back.ids == index.ids and back.paths == index.paths
