"""Word vectors in every supported format, the tag lookup rule, and attribute vectors.

All vector files are written here in tmp_path from one tiny hand-made vocabulary, so each
format is checked to give back exactly the same numbers.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zsl_core.errors import VectorsError
from zsl_core.vectors import (
    OPENMIC_INSTRUMENTS,
    SideInformation,
    WordVectors,
    attribute_vectors,
    attributes_from_csv,
    detect_format,
    normalise_tag,
    word_side_information,
)

# Frequency order matters for the split rule: earlier = more frequent.
VOCAB = {
    "rock": [1.0, 0.0, 0.0, 0.0],
    "classic": [0.0, 1.0, 0.0, 0.0],
    "hip-hop": [0.0, 0.0, 1.0, 0.0],
    "jazz": [0.5, 0.5, 0.0, 0.0],
    "r&b": [0.0, 0.0, 0.5, 0.5],
    "pop": [0.9, 0.1, 0.0, 0.0],
    "80s": [0.0, 0.0, 0.0, 1.0],
    "Metal": [0.2, 0.0, 0.0, 0.8],
    "classi": [0.0, 0.0, 0.0, -1.0],
    "crock": [0.0, 0.0, -1.0, 0.0],
    "blues": [0.25, 0.25, 0.25, 0.25],
}
WORDS = list(VOCAB)
MATRIX = np.array(list(VOCAB.values()), dtype=np.float32)


@pytest.fixture
def vectors() -> WordVectors:
    return WordVectors(WORDS, MATRIX, source="test")


def _text_lines() -> str:
    return "".join(f"{w} " + " ".join(f"{x:.6f}" for x in v) + "\n" for w, v in VOCAB.items())


def write_glove(path: Path) -> Path:
    path.write_text(_text_lines(), encoding="utf-8")
    return path


def write_word2vec_text(path: Path) -> Path:
    """word2vec text and fastText .vec are the same: a "count dim" header, then GloVe-like lines."""
    path.write_text(f"{len(VOCAB)} {MATRIX.shape[1]}\n" + _text_lines(), encoding="utf-8")
    return path


def write_word2vec_binary(path: Path) -> Path:
    from gensim.models import KeyedVectors

    keyed = KeyedVectors(vector_size=MATRIX.shape[1])
    keyed.add_vectors(WORDS, MATRIX)
    keyed.save_word2vec_format(str(path), binary=True)
    return path


# --- loading ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, writer, expected",
    [
        ("glove.6B.4d.txt", write_glove, "glove"),
        ("vectors.txt", write_word2vec_text, "word2vec"),
        ("wiki.en.vec", write_word2vec_text, "word2vec"),
        ("vectors.bin", write_word2vec_binary, "word2vec-binary"),
        ("vectors.w2v", write_word2vec_binary, "word2vec-binary"),  # binary found by content
    ],
)
def test_each_format_loads_the_same_vectors(tmp_path, name, writer, expected):
    path = writer(tmp_path / name)
    assert detect_format(path) == expected
    loaded = WordVectors.load(path)
    assert loaded.words == WORDS
    assert loaded.dim == 4
    np.testing.assert_allclose(loaded.matrix, MATRIX, atol=1e-6)


@pytest.mark.parametrize(
    "fmt, writer",
    [
        ("glove", write_glove),
        ("word2vec", write_word2vec_text),
        ("fasttext", write_word2vec_text),
        ("word2vec-binary", write_word2vec_binary),
    ],
)
def test_explicit_format(tmp_path, fmt, writer):
    loaded = WordVectors.load(writer(tmp_path / "v.data"), format=fmt)
    np.testing.assert_allclose(loaded.matrix, MATRIX, atol=1e-6)


def test_gzipped_text_and_limit(tmp_path):
    plain = write_word2vec_text(tmp_path / "v.txt")
    packed = tmp_path / "v.txt.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    loaded = WordVectors.load(packed, limit=3)
    assert loaded.words == WORDS[:3]


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_npz_round_trip(tmp_path, vectors, dtype):
    path = tmp_path / "ours.npz"
    vectors.save_npz(path, dtype=dtype)
    with np.load(path, allow_pickle=False) as data:
        assert data["words"].dtype.kind == "U" and data["vectors"].dtype == np.dtype(dtype)
    loaded = WordVectors.load(path)
    assert loaded.words == WORDS and loaded.matrix.dtype == np.float32
    np.testing.assert_allclose(loaded.matrix, MATRIX, atol=1e-3)


def test_save_npz_keeps_the_given_name_and_vectors_are_read_only(tmp_path, vectors):
    vectors.save_npz(tmp_path / "default.vectors")
    assert WordVectors.load(tmp_path / "default.vectors").words == WORDS  # a zip: found by content
    with pytest.raises(ValueError):
        vectors.matrix[0, 0] = 5
    MATRIX[0, 0] = MATRIX[0, 0]  # the caller's array is not frozen


def test_subset_keeps_vocabulary_order(vectors):
    small = vectors.subset(["jazz", "rock", "unknown"])
    assert small.words == ["rock", "jazz"]


# --- malformed files ----------------------------------------------------------------------


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    files = {
        "empty.txt": b"",
        "ragged.txt": b"rock 1 0 0 0\njazz 1 0\n",
        "not-numbers.txt": b"rock a b c d\n",
        "header-lies.txt": b"5 4\nrock 1 0 0 0\n",
        "header-dim-wrong.vec": b"1 4\nrock 1 0 0\n",
        "garbage.bin": b"\x00\x01\x02 not a word2vec binary",
        "truncated.bin": b"2 4\nrock \x00\x00",
        "nan.txt": b"rock nan 0 0 0\n",
        "notazip.npz": b"PK this is not a zip",
        "latin1.txt": "caf\u00e9 1 0 0 0\n".encode("latin-1"),
        "prose.txt": b"Hello, this is a README.\n",
    }
    out = {name: tmp_path / name for name in files}
    for name, data in files.items():
        out[name].write_bytes(data)
    np.savez(tmp_path / "keys.npz", names=np.array(["a"]), vectors=np.zeros((1, 2)))
    np.savez(
        tmp_path / "objects.npz", words=np.array(["a", 1], dtype=object), vectors=np.zeros((2, 2))
    )
    np.savez(tmp_path / "shape.npz", words=np.array(["a", "b"]), vectors=np.zeros((3, 2)))
    np.savez(tmp_path / "ints.npz", words=np.array(["a"]), vectors=np.zeros((1, 2), np.int32))
    for name in ("keys.npz", "objects.npz", "shape.npz", "ints.npz"):
        out[name] = tmp_path / name
    out["missing.txt"] = tmp_path / "does-not-exist.txt"
    out["a-folder"] = tmp_path
    return out


def test_every_malformed_file_is_a_one_line_vectors_error(tmp_path):
    for name, path in _bad_files(tmp_path).items():
        with pytest.raises(VectorsError) as info:
            WordVectors.load(path)
        message = str(info.value)
        assert "\n" not in message, name
        assert str(path) in message, name


def test_unknown_format_name(tmp_path):
    with pytest.raises(VectorsError, match="unknown vector format"):
        WordVectors.load(write_glove(tmp_path / "v.txt"), format="pickle")


def test_wrong_explicit_format_is_an_error(tmp_path):
    with pytest.raises(VectorsError):
        WordVectors.load(write_glove(tmp_path / "v.txt"), format="word2vec-binary")


# --- normalisation and lookup -------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Classic-Rock ", "classic rock"),
        ("classic_rock", "classic rock"),
        ("  classic   rock", "classic rock"),
        ("Singer/Songwriter", "singer songwriter"),
        ("R&B", "r&b"),
        ("80's", "80's"),
        ("ＪＡＺＺ", "jazz"),
        ("post\u2013rock", "post rock"),
        ("", ""),
    ],
)
def test_normalise_tag(raw, expected):
    assert normalise_tag(raw) == expected


@pytest.mark.parametrize(
    "tag", ["classic rock", "Classic-Rock", "classic_rock", "classicrock", "CLASSICROCK"]
)
def test_classic_rock_spellings_all_embed_to_the_two_word_mean(vectors, tag):
    # no "classicrock" token: the phrase averages, the single token splits into the same two words
    # (not into "classi" + "crock", which are known but rarer)
    np.testing.assert_allclose(vectors.embed(tag), [0.5, 0.5, 0.0, 0.0])


def test_joined_form_wins_over_averaging():
    wv = WordVectors(WORDS + ["classicrock"], np.vstack([MATRIX, [[7, 7, 7, 7]]]))
    joined = wv.embed("Classic Rock")
    assert joined is not None
    np.testing.assert_allclose(joined, [7, 7, 7, 7])


def test_hyphen_form_and_punctuated_tokens(vectors):
    np.testing.assert_allclose(vectors.embed("Hip Hop"), VOCAB["hip-hop"])
    np.testing.assert_allclose(vectors.embed("hip_hop"), VOCAB["hip-hop"])
    np.testing.assert_allclose(vectors.embed("R&B"), VOCAB["r&b"])
    np.testing.assert_allclose(vectors.embed("80's"), VOCAB["80s"])  # punctuation stripped


def test_case_insensitive_fallback(vectors):
    assert "metal" in vectors and "METAL" in vectors
    np.testing.assert_allclose(vectors.embed("metal"), VOCAB["Metal"])


def test_unknown_words_give_none(vectors):
    assert vectors.embed("xyzzy") is None
    assert vectors.embed("xyzzy rock") is None  # not silently just "rock"
    assert vectors.embed("  ") is None
    assert "xyzzy" not in vectors


def test_embed_many_reports_missing_in_order(vectors):
    matrix, found, missing = vectors.embed_many(["jazz", "xyzzy", "Hip-Hop", "qq zz"])
    assert found == ["jazz", "Hip-Hop"] and missing == ["xyzzy", "qq zz"]
    assert matrix.shape == (2, 4) and matrix.dtype == np.float32
    np.testing.assert_allclose(matrix[1], VOCAB["hip-hop"])
    empty, found, missing = vectors.embed_many(["xyzzy"])
    assert empty.shape == (0, 4) and found == [] and missing == ["xyzzy"]


def test_most_similar_cosine(vectors):
    result = vectors.most_similar(np.array([1.0, 0.05, 0, 0]), topn=3)
    assert [w for w, _ in result] == ["rock", "pop", "jazz"]
    assert result[0][1] == pytest.approx(1 / np.sqrt(1 + 0.05**2), abs=1e-6)
    scaled = vectors.most_similar(np.array([100.0, 5.0, 0, 0]), topn=3)
    assert [w for w, _ in scaled] == ["rock", "pop", "jazz"]  # cosine ignores length


def test_most_similar_restrict_and_exclude(vectors):
    result = vectors.most_similar(
        vectors.embed("rock"),
        topn=5,
        restrict=["Classic Rock", "80s", "xyzzy", "rock"],
        exclude=["rock"],
    )
    assert [w for w, _ in result] == ["Classic Rock", "80s"]
    assert result[0][1] == pytest.approx(1 / np.sqrt(2), abs=1e-6)
    with pytest.raises(VectorsError):
        vectors.most_similar(np.ones(3))


# --- side information ---------------------------------------------------------------------


def test_word_side_information(vectors):
    side, missing = word_side_information(vectors, ["rock", "nope", "classic rock"])
    assert side.kind == "word" and side.source == "test"
    assert side.labels == ["rock", "classic rock"] and missing == ["nope"]
    assert side.matrix.shape == (2, 4)


def test_side_information_arrays_round_trip():
    side = SideInformation(["a", "b"], np.arange(6).reshape(2, 3), "attribute", "x.csv")
    arrays, meta = side.to_arrays()
    assert (
        set(arrays) == {"side_information.matrix"}
        and arrays["side_information.matrix"].dtype == np.float32
    )
    import json

    back = SideInformation.from_arrays(arrays, json.loads(json.dumps(meta)))
    assert back.labels == ["a", "b"] and back.kind == "attribute" and back.source == "x.csv"
    np.testing.assert_array_equal(back.matrix, side.matrix)
    assert side.select(["b", "a"]).matrix.tolist() == [[3, 4, 5], [0, 1, 2]]


def test_side_information_refuses_inconsistent_input():
    with pytest.raises(VectorsError):
        SideInformation(["a"], np.zeros((2, 3)), "word")
    with pytest.raises(VectorsError, match="duplicate"):
        SideInformation(["a", "a"], np.zeros((2, 3)), "word")
    with pytest.raises(VectorsError):
        SideInformation.from_arrays({}, {"labels": ["a"], "kind": "word"})
    with pytest.raises(VectorsError):
        SideInformation.from_arrays(
            {"side_information.matrix": np.zeros((1, 2))}, {"labels": "a", "kind": "word"}
        )
    with pytest.raises(VectorsError, match="missing"):
        SideInformation(["a"], np.zeros((1, 3)), "word", "missing").select(["b"])


# --- attribute vectors --------------------------------------------------------------------


def test_openmic_instruments():
    assert len(OPENMIC_INSTRUMENTS) == 20 and len(set(OPENMIC_INSTRUMENTS)) == 20
    assert OPENMIC_INSTRUMENTS[0] == "accordion" and OPENMIC_INSTRUMENTS[9] == "mallet_percussion"
    assert OPENMIC_INSTRUMENTS[-1] == "voice"


ATTRS = ["guitar", "piano", "voice"]
TRACK_LABELS = {"t1": ["rock"], "t2": ["rock"], "t3": ["jazz"], "t4": ["jazz", "rock"]}
TRACK_ATTRIBUTES = {
    "t1": {"guitar": 0.9, "voice": 0.2, "piano": 0.5},  # piano 0.5: not annotated
    "t2": {"guitar": 0.7, "drums": 1.0},  # drums is not one of our attributes
    "t3": {"piano": 0.8, "guitar": 0.1},
    "t4": {"voice": 0.6},
}
# Hand count. dims: guitar+, piano+, voice+, guitar-, piano-, voice-
#   rock = t1 (g+, v-) + t2 (g+) + t4 (v+) = [2, 0, 1, 0, 0, 1]
#   jazz = t3 (p+, g-) + t4 (v+)           = [0, 1, 1, 1, 0, 0]
RAW = np.array(
    [
        [0, 1, 1, 1, 0, 0],  # jazz (labels are sorted)
        [2, 0, 1, 0, 0, 1],
    ]
)  # rock


def test_attribute_vectors_raw_counts():
    side = attribute_vectors(TRACK_LABELS, TRACK_ATTRIBUTES, ATTRS, standardise=False)
    assert side.labels == ["jazz", "rock"] and side.kind == "attribute"
    np.testing.assert_array_equal(side.matrix, RAW)


def test_attribute_vectors_are_zscored_per_dimension_over_labels():
    side = attribute_vectors(TRACK_LABELS, TRACK_ATTRIBUTES, ATTRS)
    # two labels: a differing dim becomes -1/+1; a constant dim (voice+, piano-) is only centred: 0
    expected = np.array([[-1, 1, 0, 1, 0, -1], [1, -1, 0, -1, 0, 1]], np.float32)
    np.testing.assert_allclose(side.matrix, expected, atol=1e-6)
    from sklearn.preprocessing import StandardScaler

    np.testing.assert_allclose(side.matrix, StandardScaler().fit_transform(RAW), atol=1e-6)


def test_attribute_vectors_with_openmic_names_are_40_d():
    side = attribute_vectors(
        {"t": ["folk"], "u": ["rock"]},
        {"t": {"banjo": 1.0}, "u": {"banjo": 0.0}},
        list(OPENMIC_INSTRUMENTS),
    )
    assert side.matrix.shape == (2, 40)
    banjo = OPENMIC_INSTRUMENTS.index("banjo")
    assert side.matrix[0, banjo] == 1 and side.matrix[0, banjo + 20] == -1


def test_attribute_vectors_refuse_bad_likelihoods():
    with pytest.raises(VectorsError, match="t1"):
        attribute_vectors({"t1": ["rock"]}, {"t1": {"guitar": 1.5}}, ATTRS)
    with pytest.raises(VectorsError):
        attribute_vectors({"t1": ["rock"]}, {"t1": {"guitar": float("nan")}}, ATTRS)
    with pytest.raises(VectorsError):
        attribute_vectors({"t1": ["rock"]}, {}, ["guitar", "guitar"])
    with pytest.raises(VectorsError, match="no track"):
        attribute_vectors({"t1": []}, {}, ATTRS)


def test_attributes_from_csv(tmp_path):
    path = tmp_path / "attrs.csv"
    path.write_text(
        "label,attribute,value\n# a comment\nrock,loud,0.9\njazz,swing,1\n\nrock,swing,0.1\n",
        encoding="utf-8",
    )
    side = attributes_from_csv(path)
    assert side.labels == ["rock", "jazz"] and side.kind == "attribute" and side.source == str(path)
    np.testing.assert_allclose(side.matrix, [[0.9, 0.1], [0.0, 1.0]], atol=1e-6)
    headerless = tmp_path / "plain.csv"
    headerless.write_text("rock,loud,2\njazz,loud,0\n", encoding="utf-8")
    np.testing.assert_allclose(
        attributes_from_csv(headerless, standardise=True).matrix, [[1], [-1]]
    )


@pytest.mark.parametrize(
    "text, line",
    [
        ("rock,loud\n", 1),
        ("label,attribute,value\nrock,loud,high\n", 2),
        ("rock,loud,1\nlabel,attribute,value\n", 2),
        ("rock,loud,1\nrock,loud,2\n", 2),
        ("rock,loud,1\n,loud,2\n", 2),
        ("rock,loud,inf\n", 1),
        ("rock,loud,1,extra\n", 1),
    ],
)
def test_malformed_csv_names_file_and_line(tmp_path, text, line):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(VectorsError, match=rf"bad\.csv: line {line}:"):
        attributes_from_csv(path)


def test_unusable_csv_files(tmp_path):
    for name, data in {
        "empty.csv": b"",
        "header-only.csv": b"label,attribute,value\n",
        "latin1.csv": "caf\u00e9,loud,1\n".encode("latin-1"),
    }.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(VectorsError, match=name):
            attributes_from_csv(tmp_path / name)
    with pytest.raises(VectorsError, match="no such"):
        attributes_from_csv(tmp_path / "absent.csv")


# --- the shipped default vectors ----------------------------------------------------------


def test_shipped_glove_subset_embeds_common_tag_spellings():
    from zsl_core.resources import resource_path

    wv = WordVectors.load(resource_path("vectors", "glove-6B-50d.npz"))
    assert wv.dim == 50 and len(wv) > 100_000 - 1
    tags = [
        "rock",
        "Classic Rock",
        "classicrock",
        "hip hop",
        "Hip-Hop",
        "R&B",
        "80s",
        "singer-songwriter",
    ]
    _, found, missing = wv.embed_many(tags)
    assert missing == [] and found == tags
    jazz = wv.embed("jazz")
    assert jazz is not None
    nearest = [w for w, _ in wv.most_similar(jazz, topn=10, exclude=["jazz"])]
    assert "blues" in nearest


# --- properties ---------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_normalise_tag_is_idempotent_and_has_no_separators_left(tag):
    once = normalise_tag(tag)
    assert normalise_tag(once) == once
    assert once == once.strip() and "  " not in once and "-" not in once and "_" not in once
