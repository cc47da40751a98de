"""zsl_core.synth's recipes and label design: the genre recipes (recipes.json, validated on
load), the vocabularies, the soundfont presets they use, and labels that follow the music."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from zsl_core import synth
from zsl_core.synth.recipes import RECIPES_FILE, load_recipes
from zsl_core.vectors import OPENMIC_INSTRUMENTS


def test_twenty_openmic_instruments_and_at_least_forty_genres():
    assert synth.INSTRUMENTS == OPENMIC_INSTRUMENTS
    assert set(synth.VOICES) == set(OPENMIC_INSTRUMENTS)
    assert len(synth.GENRES) >= 40
    for genre in synth.GENRES.values():
        assert set(genre.instruments) <= set(OPENMIC_INSTRUMENTS)
        assert all(0.0 <= p <= 1.0 for p in genre.instruments.values())
        assert all(p in synth.PROGRESSIONS for p in genre.progressions), genre.name
        assert all(m in synth.METRES for m in genre.metres), genre.name
        assert genre.groove in synth.GROOVES or genre.groove == "none", genre.name
        assert genre.tempo[0] <= genre.tempo[1]
    every_instrument = {i for g in synth.GENRES.values() for i, p in g.instruments.items() if p > 0}
    assert every_instrument == set(OPENMIC_INSTRUMENTS)


def test_genre_and_mood_words_are_known_to_the_shipped_word_vectors():
    from zsl_core.resources import resource_path
    from zsl_core.vectors import WordVectors

    vectors = WordVectors.load(resource_path("vectors", "glove-6B-50d.npz"))
    words = list(synth.GENRES) + [w for ws in synth.MOODS.values() for w in ws]
    assert [w for w in words if vectors.embed(w) is None] == []


def test_the_bundled_soundfont_has_every_preset_we_use():
    sf2 = Path(synth.SOUNDFONT_CANDIDATES[0])
    if not sf2.is_file():
        pytest.skip(f"{sf2} is not installed ({synth.INSTALL_HINT})")
    presets = synth.soundfont_presets(sf2)
    used = {p for v in synth.VOICES.values() for p in v.presets}
    used |= {p for g in synth.GENRES.values() for ps in g.sounds.values() for p in ps}
    assert used <= presets, sorted(used - presets)


def test_labels_follow_the_music():
    plans = [synth.plan_track(7, i, 10.0) for i in range(150)]
    mood_words = {w for ws in synth.MOODS.values() for w in ws}
    cardinality = Counter(len(p.genres) for p in plans)
    assert set(cardinality) <= {1, 2, 3} and cardinality[1] and cardinality[2]
    agree = total = unannotated = 0
    for plan in plans:
        assert plan.genres[0] == plan.song.genre.name and len(set(plan.genres)) == len(plan.genres)
        assert plan.moods and set(plan.moods) <= mood_words
        assert plan.instruments and set(plan.instruments) <= set(OPENMIC_INSTRUMENTS)
        for inst, value in plan.attributes.items():
            assert 0.0 <= value <= 1.0 and value != 0.5
            agree += (value > 0.5) == (inst in plan.instruments)
            total += 1
        unannotated += len(OPENMIC_INSTRUMENTS) - len(plan.attributes)
        # drums and cymbals are on channel 10, every other part on its own channel
        channels = [p.channel for p in plan.song.parts if p.instrument not in ("drums", "cymbals")]
        assert 9 not in channels and len(channels) == len(set(channels))
    assert 0.85 < agree / total < 1.0, "likelihoods mostly right, with annotation noise"
    assert unannotated > 0.2 * len(plans) * len(OPENMIC_INSTRUMENTS)
    # moods are driven by the music: slow minor tracks are the sad ones, fast ones energetic
    sad = [p for p in plans if {"sad", "melancholy", "gloomy", "sorrowful"} & set(p.moods)]
    lively = [p for p in plans if {"energetic", "lively", "upbeat"} & set(p.moods)]
    assert sad and all(p.song.mode == "minor" for p in sad)
    assert lively and min(p.character["tempo"] for p in lively) >= 100


def test_a_secondary_genre_shares_the_music_of_the_primary():
    plans = [synth.plan_track(1, i, 10.0) for i in range(150)]
    multi = [p for p in plans if len(p.genres) > 1]
    assert multi
    for plan in multi:
        for name in plan.genres[1:]:
            genre = synth.GENRES[name]
            base = synth.genre_fit(plan.song.genre, plan.song, plan.instruments)
            bonus = 2.0 if genre.family == plan.song.genre.family else 0.0
            assert synth.genre_fit(genre, plan.song, plan.instruments) + bonus > base - 3.0


# --- recipes.json: named fields, validated on load --------------------------------------------


def _recipes() -> dict:
    return json.loads(RECIPES_FILE.read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "recipes.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_the_shipped_recipe_file_loads_into_the_genres_in_file_order():
    data = _recipes()
    assert [g["name"] for g in data["genres"]] == list(synth.GENRES)
    assert len(synth.GENRES) == 53
    assert load_recipes(RECIPES_FILE) == synth.GENRES
    rock = synth.GENRES["rock"]
    assert rock.tempo == (100, 140) and rock.metres == ("4/4",) and rock.bass == "eighths"
    assert rock.sounds["guitar"] == ((0, 29), (0, 30), (0, 27)) and rock.swing == 0.0
    jazz = synth.GENRES["jazz"]
    assert jazz.sevenths is True and jazz.swing == 0.9 and jazz.groove == "swing"


@pytest.mark.parametrize(
    "change, field, reason",
    [
        (lambda g: g.pop("tempo"), "tempo", "must be [low, high]"),
        (lambda g: g.update(tempo=[140, 100]), "tempo", "must be [low, high]"),
        (lambda g: g.update(groove="bogus"), "groove", "'bogus' is not one of"),
        (lambda g: g.update(bass="slap"), "bass", "'slap' is not one of"),
        (lambda g: g.update(comp=["strum", "twang"]), "comp", "unknown 'twang'"),
        (lambda g: g.update(progressions=[]), "progressions", "non-empty list"),
        (lambda g: g.update(metres=["5/4"]), "metres", "unknown '5/4'"),
        (lambda g: g.update(major=1.5), "major", "outside [0, 1]"),
        (lambda g: g.update(loudness="loud"), "loudness", "must be an integer"),
        (lambda g: g.update(loudness=200), "loudness", "outside [1, 127]"),
        (lambda g: g["instruments"].update(kazoo=0.5), "instruments", "unknown instrument 'kazoo'"),
        (lambda g: g["instruments"].update(drums=2), "instruments", "drums: probability"),
        (lambda g: g.update(sounds={"guitar": [[0, 300]]}), "sounds", "[bank 0-128, program"),
        (lambda g: g.update(scale="lydian"), "scale", "'lydian' is not one of"),
        (lambda g: g.update(sevenths="yes"), "sevenths", "must be true or false"),
        (lambda g: g.update(tempi=[1, 2]), "tempi", "unknown field"),
        (lambda g: g.pop("name"), "name", "is missing"),
    ],
)
def test_a_malformed_recipe_is_one_line_naming_file_genre_and_field(
    tmp_path, change, field, reason
):
    data = _recipes()
    change(data["genres"][2])
    path = _write(tmp_path, data)
    with pytest.raises(synth.SynthError) as caught:
        load_recipes(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: genre 3")
    assert f"field {field!r}" in message and reason in message
    if field != "name":
        assert f"genre 3 {data['genres'][2]['name']!r}" in message


def test_duplicate_genres_and_broken_files_are_refused(tmp_path):
    data = _recipes()
    data["genres"].append(dict(data["genres"][0]))
    with pytest.raises(synth.SynthError, match=r"genre 54 'rock': field 'name': duplicate"):
        load_recipes(_write(tmp_path, data))
    bad = tmp_path / "broken.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(synth.SynthError, match="broken.json: not valid JSON"):
        load_recipes(bad)
    with pytest.raises(synth.SynthError, match='non-empty "genres" list'):
        load_recipes(_write(tmp_path, {"genres": []}))
    with pytest.raises(synth.SynthError, match="cannot read recipes"):
        load_recipes(tmp_path / "missing.json")
