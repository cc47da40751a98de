"""The default zero-shot tagger: label cleaning, musicnn probabilities, ConSE, vocabulary, backbone.

Expected values are computed independently here (musicnn run directly, ConSE in plain numpy)
and compared with what the tagger reports. Audio: the golden wavs of the musicnn tests (16 kHz)
and tones generated in tmp_path.
"""

from __future__ import annotations

import json
from pathlib import Path

import audio_factory
import numpy as np
import pytest
import soundfile as sf
import torch

from zsl_core import default_model as dm
from zsl_core import musicnn
from zsl_core.devices import resolve_device
from zsl_core.errors import AudioError, ModelError
from zsl_core.resources import resource_path
from zsl_core.speech import low_energy_share, speech_probability
from zsl_core.tagger import Prediction
from zsl_core.tags import ScoreKind, TagKind
from zsl_core.vectors import WordVectors, normalise_tag

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "musicnn-golden"
VOCAB_DIR = resource_path("vocab")
WAVS = ["noise", "synth_mix_quiet", "loud_tone"]


@pytest.fixture(scope="module")
def tagger() -> dm.DefaultTagger:
    return dm.load_default_tagger(device="cpu")


@pytest.fixture(scope="module")
def vectors() -> WordVectors:
    return WordVectors.load(dm.DEFAULT_VECTORS)


@pytest.fixture(scope="module")
def vocabulary() -> list[str]:
    return vocab_entries()


def vocab_entries(files: list[Path] | None = None) -> list[str]:
    words = []
    for file in files or sorted(VOCAB_DIR.glob("*.txt")):
        words += [
            w.strip()
            for w in file.read_text(encoding="utf-8").splitlines()
            if w.strip() and not w.strip().startswith("#")
        ]
    return words


def wav(name: str) -> np.ndarray:
    audio, rate = sf.read(GOLDEN / f"{name}.wav", dtype="float32")
    assert rate == musicnn.SAMPLE_RATE
    return audio


def model_tags(name: str) -> list[str]:
    return json.loads((musicnn.MODELS_DIR / name / "config.json").read_text())["tags"]


def expected_probabilities(tagger: dm.DefaultTagger, segments: list[np.ndarray]) -> np.ndarray:
    """Merged label probabilities computed straight from the networks: patch mean, mean of the
    tag list's musicnn and VGG networks, then max over members; the speech cue's total from the
    musicnn networks alone."""
    means, cue = {}, {}
    for tag_list, names in dm.ENSEMBLE.items():
        per_network = []
        for name in names:
            model = musicnn.MusicnnModel.load(name)
            taggram = np.concatenate([model.extract(s)["taggram"] for s in segments])
            per_network.append(dict(zip(model.tags, taggram.mean(axis=0), strict=True)))
        means[tag_list] = {t: np.mean([p[t] for p in per_network]) for t in per_network[0]}
        cue[tag_list] = per_network[0]  # musicnn
    music, cue_music = (
        [
            0.0 if label.name == dm.SPEECH else max(table[m][t] for m, t in label.members)
            for label in tagger.labels
        ]
        for table in (means, cue)
    )
    low = low_energy_share(dm.segments_to_patches(segments))
    speech = speech_probability(low, sum(cue_music))
    return np.array(
        [
            speech if label.name == dm.SPEECH else (1 - speech) * p
            for label, p in zip(tagger.labels, music, strict=True)
        ]
    )


def conse_numpy(tagger: dm.DefaultTagger, p: np.ndarray, top_t: int) -> np.ndarray:
    top = np.argsort(-p, kind="stable")[:top_t]
    weights = p[top] / p[top].sum()
    combined = (weights[:, None] * tagger.label_vectors[top]).sum(axis=0)
    return combined / np.linalg.norm(combined)


def one_hot_probabilities(
    tagger: dm.DefaultTagger, label: str, high: float = 0.9, low: float = 0.05
) -> np.ndarray:
    p = np.full(len(tagger.seen_labels), low, np.float32)
    p[tagger.seen_labels.index(label)] = high
    return p


# --- label cleaning ------------------------------------------------------------------------------


def test_every_musicnn_tag_belongs_to_exactly_one_seen_label():
    members = [m for label in dm.SEEN_LABELS for m in label.members if label.name != dm.SPEECH]
    expected = [(name, tag) for name in musicnn.MODEL_NAMES for tag in model_tags(name)]
    assert sorted(members) == sorted(expected)
    names = [normalise_tag(label.name) for label in dm.SEEN_LABELS]
    assert (
        len(names) == len(set(names)) == 71
    )  # 70 from musicnn, "spoken word" from the speech detector


def test_every_seen_label_has_a_kind():
    kinds = {label.name: label.kind for label in dm.SEEN_LABELS}
    assert kinds["metal"] is TagKind.GENRE and kinds["sad"] is TagKind.MOOD
    assert kinds["piano"] is TagKind.INSTRUMENT and kinds["80s"] is TagKind.ERA
    assert kinds["fast"] is TagKind.CHARACTER and kinds[dm.SPEECH] is TagKind.GENRE
    assert TagKind.OTHER not in kinds.values()


@pytest.mark.parametrize(
    "label,tags",
    [
        (
            "female vocals",
            {
                "female vocalists",
                "female vocalist",
                "female",
                "woman",
                "female vocal",
                "female voice",
            },
        ),
        ("male vocals", {"male vocalists", "male", "man", "male vocal", "male voice"}),
        ("vocals", {"vocal", "vocals", "voice", "singing"}),
        ("instrumental", {"instrumental", "no vocals", "no vocal", "no voice"}),
        ("chill", {"chill", "chillout"}),
        ("classical", {"classical", "classic"}),
        ("electronic", {"electronic", "electronica"}),
        ("beats", {"beat", "beats"}),
    ],
)
def test_duplicates_are_merged(label, tags):
    by_name = {lab.name: lab for lab in dm.SEEN_LABELS}
    assert {t for _, t in by_name[label].members} == tags
    assert "electro" in by_name and "classic rock" in by_name  # distinct genres stay apart


def test_merged_label_takes_the_max_of_its_members(tagger):
    means = {name: np.linspace(0.01, 0.5, 50).astype(np.float32) for name in musicnn.MODEL_NAMES}
    merged = tagger.merge_probabilities(means)
    mtt = model_tags("MTT_musicnn")
    row = tagger.seen_labels.index("vocals")
    assert merged[row] == pytest.approx(
        max(means["MTT_musicnn"][mtt.index(t)] for t in ("vocal", "vocals", "voice", "singing"))
    )


def test_negations_carry_the_instrumental_vector_not_their_opposite(tagger, vectors):
    instrumental = tagger.seen_labels.index("instrumental")
    vocals = tagger.label_vectors[tagger.seen_labels.index("vocals")]
    matrix, found, missing = tagger.embed_words(sorted(dm.NEGATION_TAGS))
    assert not missing and len(found) == 3
    for row in matrix:
        np.testing.assert_allclose(row, tagger.label_vectors[instrumental], atol=1e-6)
        assert float(row @ vocals) < 0.9
    # What we avoid: averaging the words would sit right next to "vocals".
    naive = tagger.to_space(tagger.vectors.embed("no vocals"))
    assert float(naive @ vocals) > float(matrix[0] @ vocals)
    assert all(tagger.is_seen(t) for t in dm.NEGATION_TAGS)


def test_a_tag_the_model_lacks_is_refused(tagger, vectors):
    bad = dm.SeenLabel("polka", ((dm.MSD, "polka"),), ("polka",))
    with pytest.raises(ModelError, match="polka"):
        dm.DefaultTagger(tagger.models, vectors, labels=[*dm.SEEN_LABELS, bad])


# --- musicnn probabilities through predict -------------------------------------------------------


@pytest.mark.parametrize("name", WAVS)
def test_predict_golden_wav(tagger, vocabulary, name):
    prediction = tagger.predict(GOLDEN / f"{name}.wav", top_k=10, vocabulary=vocabulary)
    assert len(prediction.seen) == 10 and len(prediction.unseen) == 10
    assert all(t.seen for t in prediction.seen) and not any(t.seen for t in prediction.unseen)
    assert not prediction.missing_words

    expected = expected_probabilities(tagger, [wav(name)])
    for tag in prediction.seen:
        assert 0.0 <= tag.score <= 1.0
        assert tag.score == pytest.approx(expected[tagger.seen_labels.index(tag.tag)], abs=1e-5)
    assert [t.tag for t in prediction.seen] == [
        tagger.seen_labels[i] for i in np.argsort(-expected)[:10]
    ]

    for tag in prediction.unseen:
        assert not tagger.is_seen(tag.tag) and tag.tag in vocabulary
        assert -1.0 <= tag.score <= 1.0
    scores = [t.score for t in prediction.unseen]
    assert scores == sorted(scores, reverse=True)


def test_segments_average_over_all_patches_of_all_segments(tagger):
    segments = [wav("noise"), wav("loud_tone")[: 2 * musicnn.SAMPLE_RATE]]  # 2 patches + 1 padded
    analysis = tagger.musicnn_analysis(segments)
    np.testing.assert_allclose(
        analysis["probabilities"], expected_probabilities(tagger, segments), atol=1e-5
    )
    msd = musicnn.MusicnnModel.load("MSD_musicnn")
    penultimate = np.concatenate([msd.extract(s)["penultimate"] for s in segments]).mean(axis=0)
    np.testing.assert_allclose(analysis["penultimate"], penultimate, atol=1e-4)
    assert analysis["penultimate"].shape == (dm.FEATURE_DIM,)


def test_generated_tones_in_windows(tagger, vocabulary, make_tone):
    path = make_tone("chord.wav", seconds=7.0, sample_rate=22050, freqs=(220.0, 330.0, 440.0))
    prediction = tagger.predict(path, top_k=5, vocabulary=vocabulary, n_windows=2)
    assert len(prediction.seen) == 5 and len(prediction.unseen) == 5
    windows = [audio_factory.tone(3.0, musicnn.SAMPLE_RATE, (220.0, 330.0, 440.0))] * 2
    expected = expected_probabilities(tagger, windows)  # resampling differs a little from ours
    for tag in prediction.seen:
        assert tag.score == pytest.approx(expected[tagger.seen_labels.index(tag.tag)], abs=0.05)


def test_undecodable_file_raises_audio_error(tagger, tmp_path):
    bad = tmp_path / "broken.mp3"
    bad.write_bytes(b"not audio at all")
    with pytest.raises(AudioError, match="broken.mp3"):
        tagger.predict(bad)
    with pytest.raises(AudioError):
        tagger.musicnn_analysis([])


# --- ConSE -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("top_t", [1, 3, 10])
def test_conse_is_the_normalised_convex_combination_of_top_labels(tagger, top_t):
    rng = np.random.default_rng(top_t)
    p = rng.uniform(0, 1, len(tagger.seen_labels)).astype(np.float32)
    embedding = tagger.track_embedding_from_probabilities(p, top_t=top_t)
    assert np.linalg.norm(embedding) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(embedding, conse_numpy(tagger, p, top_t), atol=1e-5)
    weights = tagger.conse_weights(p, top_t)
    assert (
        np.all(weights >= 0)
        and weights.sum() == pytest.approx(1.0)
        and np.count_nonzero(weights) == top_t
    )


def test_embedding_of_a_file_is_conse_of_its_probabilities(tagger):
    segments = [wav("synth_mix_quiet")]
    p = tagger.musicnn_analysis(segments)["probabilities"]
    np.testing.assert_allclose(
        tagger.embed_segments(segments), conse_numpy(tagger, p, dm.DEFAULT_TOP_T), atol=1e-5
    )


def test_analysis_carries_the_probabilities_not_a_memo_of_the_embedding(tagger, vocabulary):
    segments = [wav("noise")]
    p = tagger.musicnn_analysis(segments)["probabilities"]
    (analysis,) = tagger.analyse([dm.segments_to_patches(segments)])
    assert analysis.score_kind is ScoreKind.PROBABILITY and analysis.embedding.shape == (0,)
    np.testing.assert_allclose(analysis.seen_scores, p, atol=1e-6)
    embedding = tagger.track_embedding_from_probabilities(p)
    by_analysis = tagger.predict_scores(
        analysis.embedding, analysis.seen_scores, top_k=10, vocabulary=vocabulary
    )
    by_probabilities = tagger.predict_probabilities(p, top_k=10, vocabulary=vocabulary)
    assert [t.tag for t in by_analysis.seen] == [t.tag for t in by_probabilities.seen]
    assert [t.tag for t in by_analysis.unseen] == [t.tag for t in by_probabilities.unseen]
    # An embedding alone carries no probabilities (nothing is remembered by its bytes): its
    # seen scores are cosines with the seen labels' vectors.
    np.testing.assert_allclose(
        tagger.seen_scores(embedding), tagger.label_vectors @ embedding, atol=1e-5
    )
    assert not hasattr(tagger, "_memo")
    assert dm.DefaultTagger.seen_score_kind is ScoreKind.PROBABILITY
    assert all(
        t.score_kind is ScoreKind.PROBABILITY
        for t in by_probabilities.seen + by_probabilities.unseen
    )


def test_bad_probabilities_are_refused(tagger):
    with pytest.raises(ModelError, match="probabilities"):
        tagger.track_embedding_from_probabilities(np.ones(3))
    with pytest.raises(ModelError):
        tagger.predict_probabilities(np.full(len(tagger.seen_labels), np.nan))


# --- semantics -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "label", ["piano", "metal", "jazz", "sad", "80s", "techno", "female vocals", "flute"]
)
def test_embedding_lies_near_its_top_label(tagger, label):
    embedding = tagger.track_embedding_from_probabilities(one_hot_probabilities(tagger, label))
    matrix, found, _ = tagger.embed_words([label])
    cosines = tagger.scores(embedding, tagger.label_vectors)[0]
    assert float(embedding @ matrix[0]) > 0.8
    assert tagger.seen_labels[int(np.argmax(cosines))] == label


@pytest.mark.parametrize(
    "label,expected",
    [
        ("flute", {"clarinet", "oboe", "bassoon", "piccolo", "alto flute", "pan flute"}),
        (
            "sad",
            {
                "tragic",
                "heartbreaking",
                "sorrowful",
                "melancholy",
                "heartbroken",
                "mournful",
                "hopeless",
            },
        ),
        (
            "metal",
            {
                "death metal",
                "black metal",
                "thrash metal",
                "speed metal",
                "power metal",
                "doom metal",
            },
        ),
        ("80s", {"eighties", "seventies", "1980s", "sixties", "nineties", "50s"}),
    ],
)
def test_unseen_words_are_semantically_related(tagger, vocabulary, label, expected):
    prediction = tagger.predict_probabilities(
        one_hot_probabilities(tagger, label), top_k=10, vocabulary=vocabulary
    )
    assert expected & {t.tag for t in prediction.unseen}


def test_real_track_top_tag_is_close_to_its_embedding(tagger):
    p = tagger.musicnn_analysis([wav("loud_tone")])["probabilities"]
    top = tagger.seen_labels[int(np.argmax(p))]
    embedding = tagger.track_embedding_from_probabilities(p)
    top_vector, _, _ = tagger.embed_words([top])
    cosines = tagger.scores(embedding, tagger.label_vectors)[0]
    # 0.54 with the musicnn + VGG ensemble (flute 0.51, electronic 0.34, ambient 0.32: a mix of
    # the top labels), 0.6+ with musicnn alone; the top label stays the nearest of all.
    assert float(embedding @ top_vector[0]) > 0.5
    # (to float32 rounding: the same cosine computed two ways differs in the last bits)
    assert float(embedding @ top_vector[0]) >= np.sort(cosines)[-1] - 1e-6


# --- vocabulary ----------------------------------------------------------------------------------


def test_vocabulary_files_are_clean_and_sized():
    files = sorted(VOCAB_DIR.glob("*.txt"))
    assert {f.name for f in files} == {
        "genres.txt",
        "moods.txt",
        "instruments.txt",
        "eras.txt",
        "character.txt",
    }
    entries = [normalise_tag(w) for w in vocab_entries(files)]
    assert 300 <= len(entries) <= 2000
    assert len(entries) == len(set(entries)), "an entry appears twice"


def test_every_vocabulary_entry_is_known_to_the_word_space(tagger, vectors, vocabulary):
    assert [e for e in vocabulary if not tagger.knows_word(e)] == []
    # GloVe (--vectors glove) knows all but the newest words, listed last in each file.
    newest = vocab_entries_after_marker("known to the built-in sentence model")
    unknown_to_glove = [e for e in vocabulary if vectors.embed(e) is None]
    assert set(unknown_to_glove) <= set(newest) and len(unknown_to_glove) < 0.1 * len(vocabulary)


def vocab_entries_after_marker(marker: str) -> list[str]:
    out = []
    for file in sorted(VOCAB_DIR.glob("*.txt")):
        lines = file.read_text(encoding="utf-8").splitlines()
        start = next((i for i, line in enumerate(lines) if marker in line), len(lines))
        out += [w.strip() for w in lines[start + 1 :] if w.strip() and not w.startswith("#")]
    return out


def test_seen_label_anchors_are_all_in_the_shipped_vectors(vectors):
    assert [a for label in dm.SEEN_LABELS for a in label.anchors if vectors.embed(a) is None] == []


# --- backbone and loading ------------------------------------------------------------------------


def test_musicnn_features_are_mean_penultimate(make_tone):
    audio = wav("synth_mix_quiet")
    features = dm.musicnn_features([audio], device="cpu")
    expected = musicnn.MusicnnModel.load("MSD_musicnn").extract(audio)["penultimate"].mean(axis=0)
    assert features.shape == (dm.FEATURE_DIM,)
    np.testing.assert_allclose(features, expected, atol=1e-4)


def test_musicnn_features_many_batches_files_and_skips_bad_ones(tmp_path):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF....not a wav")
    paths = [GOLDEN / "noise.wav", broken, GOLDEN / "loud_tone.wav"]
    matrix, ok, errors = dm.musicnn_features_many(paths, device="cpu", batch_size=2)
    assert matrix.shape == (2, dm.FEATURE_DIM) and ok == [0, 2]
    assert len(errors) == 1 and isinstance(errors[0], AudioError) and "broken.wav" in str(errors[0])
    for row, name in zip(matrix, ["noise", "loud_tone"], strict=True):
        np.testing.assert_allclose(row, dm.musicnn_features([wav(name)], device="cpu"), atol=1e-4)


def test_loader_is_cached_and_device_aware(tagger):
    assert dm.load_default_tagger(device="cpu") is tagger
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert all(m.device.type == "cpu" for m in tagger.models.values())
    assert len(tagger.seen_labels) == 71 and tagger.sample_rate == musicnn.SAMPLE_RATE


def test_speech_words_are_of_the_speech_labels_kind_and_read_off_it(tagger):
    """ "spoken" and "narration" name what the seen label "spoken word" names (a recording of
    speech): the same kind, genre, so a speech clip's new words are grounded on that label and
    are written where "Spoken Word" is. As instruments they were read off a label of another
    kind (grounding 0.005 and 0.37, never proposed), and a field routed for instruments would
    have taken them."""
    from zsl_core.tagger import GROUNDED_SHARE
    from zsl_core.tags import TagKind, load_vocabulary

    vocab = load_vocabulary()
    speech = tagger.seen_labels.index(dm.SPEECH)
    assert tagger.labels[speech].kind is TagKind.GENRE
    prediction = tagger.predict_probabilities(
        one_hot_probabilities(tagger, dm.SPEECH, low=0.01), top_k=2000, vocabulary=vocab
    )
    words = {t.tag: t for t in prediction.unseen if t.tag in ("spoken", "narration")}
    assert set(words) == {"spoken", "narration"}
    assert all(t.kind is TagKind.GENRE and t.grounding >= GROUNDED_SHARE for t in words.values())
    assert [t.tag for t in prediction.pick(5)] == [dm.SPEECH]  # they repeat it: not proposed
    # new words only: "spoken", the nearest; "narration" is read off the same label, so beside
    # "spoken" it repeats it (`repeats`), and either is grounded enough to be proposed alone
    assert [t.tag for t in prediction.pick(2, include="unseen")] == ["spoken"]
    assert [t.tag for t in Prediction("x", unseen=[words["narration"]]).pick(2)] == ["narration"]
    # "gabber" (a genre of music) sits nearest to "spoken word" by its spelling, read 51% off
    # it, the rest off soul and pop: not a word for a spoken text
    gabber = next(t for t in prediction.unseen if t.tag == "gabber")
    assert dict(gabber.basis)[dm.SPEECH] > 0.5 and gabber.confidence > 0.4
    assert [t.tag for t in prediction.pick(10, include="unseen")] == ["spoken"]
    alone = Prediction("x", seen=prediction.seen, unseen=[gabber, words["narration"]])
    assert [t.tag for t in alone.pick(10, include="unseen")] == ["narration"]  # not gabber


# --- ensemble: several networks per tag list ---------------------------------------------------


@pytest.fixture(scope="module")
def ensemble_tagger(tagger) -> dm.DefaultTagger:
    # The default tagger is the ensemble: musicnn and VGG averaged per tag list.
    assert tagger.ensemble == dm.ENSEMBLE and len(tagger.models) == 4
    return tagger


def test_ensemble_averages_each_tag_list_before_the_merge(ensemble_tagger):
    segments = [wav("synth_mix_quiet")]
    got = ensemble_tagger.musicnn_analysis(segments)["probabilities"]
    patches = dm.segments_to_patches(segments)
    means = {}
    for key, names in dm.ENSEMBLE.items():
        taggrams = [ensemble_tagger.models[n].extract_patches(patches)["taggram"] for n in names]
        means[key] = np.mean([t.mean(axis=0) for t in taggrams], axis=0)
    means[dm.SPEECH] = np.array([low_energy_share(patches)], np.float32)
    for key, names in dm.ENSEMBLE.items():  # the speech cue's input: musicnn's probabilities
        model = ensemble_tagger.models[names[0]]
        means[dm.cue_key(key)] = model.extract_patches(patches)["taggram"].mean(axis=0)
    np.testing.assert_allclose(got, ensemble_tagger.merge_probabilities(means), atol=1e-6)
    # The batched path of a scan gives the same numbers.
    batched = ensemble_tagger.analyse([patches, patches[:1]])
    np.testing.assert_allclose(batched[0].seen_scores, got, atol=1e-6)
    # The MSD network's features stay musicnn's (the backbone), not an average.
    np.testing.assert_allclose(
        ensemble_tagger.musicnn_analysis(segments)["penultimate"],
        ensemble_tagger.models[dm.BACKBONE_MODEL].extract_patches(patches)["penultimate"].mean(0),
        atol=1e-5,
    )


def test_ensemble_refuses_unloaded_or_mismatched_networks(ensemble_tagger, vectors):
    models = ensemble_tagger.models
    with pytest.raises(ModelError, match="not loaded"):
        dm.DefaultTagger(models, vectors, ensemble={dm.MSD: ("MSD_musicnn", "MSD_nothing")})
    with pytest.raises(ModelError, match="different tag lists"):
        dm.DefaultTagger(models, vectors, ensemble={dm.MSD: ("MSD_musicnn", "MTT_vgg")})


def test_speech_cue_reads_the_musicnn_networks_only(ensemble_tagger):
    # A total that is speech-like for musicnn stays speech however musical the ensemble's mean.
    low = np.array([0.6], np.float32)
    quiet = {key: np.full(50, 0.01, np.float32) for key in dm.ENSEMBLE}
    loud = {key: np.full(50, 0.2, np.float32) for key in dm.ENSEMBLE}
    row = ensemble_tagger.seen_labels.index(dm.SPEECH)
    cued = ensemble_tagger.merge_probabilities(
        {**loud, **{dm.cue_key(k): v for k, v in quiet.items()}, dm.SPEECH: low}
    )
    plain = ensemble_tagger.merge_probabilities({**loud, dm.SPEECH: low})
    alone = ensemble_tagger.merge_probabilities({**quiet, dm.SPEECH: low})
    assert cued[row] == pytest.approx(alone[row]) and cued[row] > 0.9 > 0.1 > plain[row]


def test_a_new_word_nearest_to_a_trained_word_of_another_kind_is_not_grounded(tagger):
    """In the sentence space "reggae music" lies nearest "violin music" (49% of its basis, the
    rest spread over jazz, hip-hop, folk and dance): it was proposed for orchestral pieces as
    often as the violin was heard. A word whose nearest trained word is of another kind is a
    guess from its name (grounding 0, never proposed); "garage rock", nearest "rock", is not."""
    from zsl_core.tagger import GROUNDED_SHARE
    from zsl_core.tags import Vocabulary

    vocab = Vocabulary.from_words(["reggae", "garage rock"], TagKind.GENRE)
    violin = tagger.predict_probabilities(
        one_hot_probabilities(tagger, "violin"), top_k=10, vocabulary=vocab
    )
    words = {t.tag: t for t in violin.unseen}
    assert words["reggae"].basis[0][0] == "violin" and words["reggae"].grounding == 0.0
    assert "reggae" not in [t.tag for t in violin.pick(10)]
    rock = tagger.predict_probabilities(
        one_hot_probabilities(tagger, "rock"), top_k=10, vocabulary=vocab
    )
    garage = next(t for t in rock.unseen if t.tag == "garage rock")
    assert garage.basis[0][0] == "rock" and garage.grounding >= GROUNDED_SHARE


def test_declared_words_are_read_off_what_the_vocabulary_says(tagger):
    """The shipped vocabulary declares what some moods are read off (`word = trained, words`),
    every declared word a trained label: "energetic" ranks a fast, loud track above a quiet,
    soft one (read off the word space it was the other way round: "energetic music" lies
    beside "meditative music"); a user vocabulary's own declaration wins."""
    from zsl_core.tags import Vocabulary

    assert tagger.declared and all(
        normalise_tag(b) in tagger._aliases for bases in tagger.declared.values() for b in bases
    )
    loud = one_hot_probabilities(tagger, "fast", low=0.05)
    loud[tagger.seen_labels.index("loud")] = 0.8
    quiet = one_hot_probabilities(tagger, "quiet", low=0.05)
    quiet[tagger.seen_labels.index("soft")] = 0.8
    scores, found, _, _ = tagger.score_words(None, np.stack([loud, quiet]), ["energetic", "calm"])
    assert found == ["energetic", "calm"]
    assert scores[0, 0] > scores[1, 0] and scores[1, 1] > scores[0, 1]
    energetic = tagger.word_affinities(["energetic"])[0][:, 0]
    assert tagger.seen_labels[int(np.argmax(energetic))] == "fast"  # the first declared weighs most
    mine = Vocabulary([], {})
    mine.add("energetic", TagKind.MOOD, ["party"])
    prediction = tagger.predict_probabilities(
        one_hot_probabilities(tagger, "party"), top_k=5, vocabulary=mine
    )
    assert prediction.unseen[0].basis == (("party", 1.0),)
