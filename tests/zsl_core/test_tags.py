"""The tag concept: kinds, score kinds and confidence, vocabularies with kinds, the one
multi-value rule, listeners' spellings, and the one picking rule (`Prediction.pick`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from zsl_core.tagger import SPEECH_LABEL, Prediction, repeats
from zsl_core.tags import (
    PROPOSE_FLOOR,
    ScoreKind,
    TagKind,
    TagScore,
    Vocabulary,
    display_form,
    join_values,
    load_vocabulary,
    read_vocabulary_file,
    split_values,
    tag_key,
)

G, M, INS, E, C = TagKind.GENRE, TagKind.MOOD, TagKind.INSTRUMENT, TagKind.ERA, TagKind.CHARACTER


def test_kind_parsing_forgives_plurals_and_case():
    assert TagKind.parse("Moods") is M and TagKind.parse("instrument") is INS
    with pytest.raises(ValueError, match="genre, mood"):
        TagKind.parse("colour")


def test_confidence_is_one_scale():
    assert TagScore("rock", 0.7, True).confidence == pytest.approx(0.7)
    assert (
        TagScore("x", 1.3, True).confidence == 1.0 and TagScore("x", -0.2, True).confidence == 0.0
    )
    cosine = TagScore("x", 0.6, False, score_kind=ScoreKind.SIMILARITY)
    assert cosine.confidence == pytest.approx(0.8)  # (cos + 1) / 2
    assert TagScore("rock", 0.5, True, G).to_dict() == {
        "tag": "rock",
        "score": 0.5,
        "kind": "genre",
        "score_kind": "probability",
        "confidence": 0.5,
        "seen": True,
    }


def test_a_new_word_says_what_it_is_read_off():
    """A new word's confidence is a guess from the trained words near it: its JSON lists them
    and its origin names them with their shares, so a listener can see through "reggae" read
    off "violin"; a trained word says its number is the networks' own."""
    guess = TagScore("reggae", 0.3, False, G, basis=(("violin", 0.49), ("jazz", 0.2)))
    assert guess.to_dict()["basis"] == [
        {"tag": "violin", "share": 0.49},
        {"tag": "jazz", "share": 0.2},
    ]
    assert guess.origin() == "Read off the trained words violin 49%, jazz 20%."
    assert "basis" not in TagScore("rock", 0.5, True, G).to_dict()
    assert "trained word" in TagScore("rock", 0.5, True, G).origin()
    cosine = TagScore("x", 0.6, False, score_kind=ScoreKind.SIMILARITY)
    assert "similarity" in cosine.origin()


def test_shipped_vocabulary_keeps_each_words_kind():
    vocab = load_vocabulary()
    assert len(vocab) > 1000
    assert vocab.kind("melancholic") is M and vocab.kind("grunge") is G
    assert vocab.kind("cello") is INS and vocab.kind("1980s") is E and vocab.kind("distorted") is C
    assert vocab.kind("no such word") is TagKind.OTHER
    # the speech label's words are of its kind (genre), not instruments
    assert vocab.kind("spoken word") is vocab.kind("spoken") is vocab.kind("narration") is G
    assert "Grunge" in vocab and list(vocab)[:1] == [vocab.words[0]]


def test_user_vocabulary_declares_kinds(tmp_path: Path):
    words = tmp_path / "mine.txt"
    words.write_text(
        "# my words\nvaporwave\n# kind: mood\nwistful\n# kind: instrument\nhandpan\nwistful\n",
        encoding="utf-8",
    )
    vocab = read_vocabulary_file(words)
    assert vocab.words == ["vaporwave", "wistful", "handpan"]  # a repeat keeps its first kind
    assert (vocab.kind("vaporwave"), vocab.kind("wistful"), vocab.kind("handpan")) == (
        TagKind.OTHER,
        M,
        INS,
    )
    moods = tmp_path / "moods.txt"
    moods.write_text("hopeful\n", encoding="utf-8")
    assert read_vocabulary_file(moods).kind("hopeful") is M  # the file's name says the kind
    bad = tmp_path / "bad.txt"
    bad.write_text("# kind: colour\nred\n", encoding="utf-8")
    with pytest.raises(ValueError, match="colour"):
        read_vocabulary_file(bad)


def test_a_vocabulary_declares_what_a_word_is_read_off(tmp_path: Path):
    """`word = trained, words`: the word keeps its kind, and its basis is the declared words in
    order (the word space confused "energetic" with "meditative"); other lines are unchanged."""
    moods = tmp_path / "moods.txt"
    moods.write_text("energetic = fast, loud ,dance,\nwistful\n", encoding="utf-8")
    vocab = read_vocabulary_file(moods)
    assert vocab.words == ["energetic", "wistful"]
    assert vocab.kind("Energetic") is M and vocab.basis("energetic") == ("fast", "loud", "dance")
    assert vocab.basis("wistful") == () and vocab.bases == {"energetic": ("fast", "loud", "dance")}
    shipped = load_vocabulary()
    assert shipped.basis("energetic")[:2] == ("fast", "loud") and shipped.kind("calm") is M


@pytest.mark.parametrize(
    "text,values",
    [
        ("Rock; Pop", ["Rock", "Pop"]),
        ("rock, indie ,  pop", ["rock", "indie", "pop"]),
        ("Rock\x00Pop", ["Rock", "Pop"]),
        ("Rock / Pop", ["Rock", "Pop"]),
        ("AC/DC", ["AC/DC"]),
        ("Hip-Hop/Rap", ["Hip-Hop", "Rap"]),
        ("R/B", ["R/B"]),
        ("Drum & Bass", ["Drum & Bass"]),
        ("R&B;; ", ["R&B"]),
        ("Rock; rock; ROCK", ["Rock"]),
        (["Rock; Pop", "Jazz"], ["Rock", "Pop", "Jazz"]),
        (None, []),
    ],
)
def test_one_multi_value_rule(text, values):
    assert split_values(text) == values
    if values:
        assert split_values(join_values(values)) == values


@pytest.mark.parametrize(
    "word,kind,written",
    [
        ("classic rock", G, "Classic Rock"),
        ("hip-hop", G, "Hip-Hop"),
        ("hip hop", G, "Hip-Hop"),
        ("r&b", G, "R&B"),
        ("drum and bass", G, "Drum and Bass"),
        ("music of the night", G, "Music of the Night"),
        ("sad", M, "Sad"),
        ("80s", E, "1980s"),
        ("00s", E, "2000s"),
        ("cello", INS, "cello"),
        ("lo-fi", C, "Lo-Fi"),
        ("new age", G, "New Age"),
    ],
)
def test_display_forms_as_listeners_write_them(word, kind, written):
    assert display_form(word, kind) == written


def test_tag_key_ignores_case_and_separators():
    assert tag_key("Hip-Hop") == tag_key("hip hop") == tag_key(" HIP_hop ")


def _prediction(speech: float = 0.0) -> Prediction:
    return Prediction(
        "x",
        seen=[
            TagScore("metal", 0.8, True, G),
            TagScore("loud", 0.6, True, C),
            TagScore("sad", 0.3, True, M),
            TagScore(SPEECH_LABEL, speech, True, G),
            TagScore("jazz", 0.05, True, G),
        ],
        unseen=[
            TagScore("heavy metal", 0.79, False, G, basis=(("metal", 0.6), ("loud", 0.3))),
            TagScore("aggressive", 0.5, False, M),
            TagScore("Metal", 0.7, False, G),
        ],
    )


def test_pick_ranks_seen_and_new_words_together_and_skips_repeats():
    picked = _prediction().pick(5)
    # "heavy metal" repeats "metal"; "Metal" is "metal"; jazz is under the floor; no speech.
    assert [t.tag for t in picked] == ["metal", "loud", "aggressive", "sad"]
    assert [t.tag for t in _prediction().pick(2)] == ["metal", "loud"]
    assert [t.tag for t in _prediction().pick(5, include="unseen")] == [
        "heavy metal",
        "Metal",
        "aggressive",
    ]
    assert [t.tag for t in _prediction().pick(5, kinds=[M])] == ["aggressive", "sad"]
    assert [t.tag for t in _prediction().pick(5, min_confidence=0.55)] == ["metal", "loud"]
    assert all(
        t.confidence is not None and t.confidence >= PROPOSE_FLOOR for t in _prediction().pick(10)
    )
    with pytest.raises(ValueError):
        _prediction().pick(3, include="everything")  # type: ignore[arg-type]  # refused at run time


def test_new_words_read_off_the_same_trained_words_as_a_chosen_one_repeat_it():
    """A metal song: "garage rock", "glam rock" and "rocksteady" are all read off rock, indie rock
    and hard rock; once one of them is chosen the others repeat it (their bases overlap by more
    than REPEAT_SHARE), and "metal", which the networks heard, gets the place."""
    rockish = (("rock", 0.46), ("indie rock", 0.2), ("hard rock", 0.14), ("punk", 0.1))
    prediction = Prediction(
        "x",
        seen=[
            TagScore("loud", 0.5, True, C),
            TagScore("fast", 0.2, True, C),
            TagScore("metal", 0.19, True, G),
        ],
        unseen=[
            TagScore("garage rock", 0.31, False, G, basis=rockish),
            TagScore("glam rock", 0.3, False, G, basis=rockish[:3] + (("classic rock", 0.2),)),
            TagScore("rocksteady", 0.29, False, G, basis=rockish),
            TagScore("thrash", 0.25, False, G, basis=(("metal", 0.6), ("punk", 0.3))),
        ],
    )
    assert [t.tag for t in prediction.pick(4)] == ["loud", "garage rock", "fast", "metal"]
    # the overlap is with what is chosen: alone, each is proposed
    assert repeats(prediction.unseen[1], {}) == 0.0
    assert [t.tag for t in prediction.pick(2, include="unseen")] == ["garage rock", "thrash"]


def test_speech_gets_spoken_word_and_no_word_that_describes_music():
    prediction = _prediction(speech=0.9)
    prediction.unseen += [
        TagScore(
            "narration",
            0.85,
            False,
            G,
            basis=((SPEECH_LABEL, 0.9), ("vocals", 0.1)),
            grounding=0.9,  # its genre share: the speech label's (vocals is an instrument)
        ),
        TagScore("vocoder", 0.4, False, INS, basis=(("synth", 0.7), ("vocals", 0.3))),
        # a genre read 51% off the speech label because of its spelling, 27% off music genres
        TagScore(
            "gabber",
            0.5,
            False,
            G,
            basis=((SPEECH_LABEL, 0.512), ("soul", 0.147), ("pop", 0.125), ("catchy", 0.124)),
            grounding=0.783,
        ),
    ]
    # "loud" (a description), "vocoder" (an instrument), genres and moods describe music, and
    # so does "gabber" (read partly off soul and pop); "narration" only repeats "spoken word",
    # and is what a list of new words alone gets.
    assert [t.tag for t in prediction.pick(5)] == [SPEECH_LABEL]
    assert [t.tag for t in prediction.pick(5, include="unseen")] == ["narration"]
    assert prediction.speech == pytest.approx(0.9)
    assert "loud" in [t.tag for t in _prediction(speech=0.1).pick(5)]  # music keeps them


def test_vocabulary_from_words():
    vocab = Vocabulary.from_words(["a", "b", "a"], INS)
    assert vocab.words == ["a", "b"] and vocab.kind("A") is INS


def test_a_library_prior_ranks_tags_by_how_distinctive_they_are():
    p = Prediction(
        "x",
        seen=[
            TagScore("electronic", 0.6, True, G),
            TagScore("ambient", 0.4, True, G),
            TagScore("sad", 0.3, True, M),
        ],
    )
    assert [t.tag for t in p.pick(2)] == ["electronic", "ambient"]
    # Every track of this library is electronic: ambient and sad say more about this one.
    prior = {"electronic": 0.55, "ambient": 0.1, "sad": 0.05}
    assert [t.tag for t in p.pick(2, prior=prior)] == ["ambient", "sad"]
    assert [t.tag for t in p.pick(3, prior=prior)] == ["ambient", "sad", "electronic"]


def test_a_new_word_spread_over_tags_already_picked_repeats_them():
    p = Prediction(
        "x",
        seen=[
            TagScore("techno", 0.6, True, G),
            TagScore("electronic", 0.5, True, G),
            TagScore("fast", 0.3, True, C),
        ],
        unseen=[
            TagScore(
                "technical",
                0.55,
                False,
                C,
                basis=(("techno", 0.3), ("electronic", 0.3), ("fast", 0.4)),
            ),
            TagScore("trance", 0.4, False, G, basis=(("techno", 0.3), ("dance", 0.7))),
        ],
    )
    assert [t.tag for t in p.pick(4)] == ["techno", "electronic", "trance", "fast"]


def test_a_new_word_read_off_trained_words_of_another_kind_is_not_proposed():
    p = Prediction(
        "x",
        seen=[TagScore("fast", 0.6, True, C)],
        unseen=[
            TagScore(
                "speed garage",
                0.55,
                False,
                G,
                basis=(("fast", 0.8), ("techno", 0.2)),
                grounding=0.2,
            ),
            TagScore(
                "aggressive", 0.4, False, M, basis=(("loud", 0.5), ("metal", 0.3)), grounding=0.6
            ),
        ],
    )
    assert [t.tag for t in p.pick(3)] == ["fast", "aggressive"]


def test_kind_families_let_moods_and_descriptions_ground_each_other():
    from zsl_core.tags import KIND_FAMILIES

    assert C in KIND_FAMILIES[M] and M in KIND_FAMILIES[C] and KIND_FAMILIES[G] == {G}
