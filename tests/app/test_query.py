"""One search box for text and sound (`app.query` + `Library.search`): field filters, quoted
phrases, exclusions, names the model does not know found as text, sound words ranked."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.library import Library
from app.query import TEXT_COLUMNS, Filter, QueryError, split_query
from libfixtures import write_track

WINDOWS = 2


def test_split_query_separates_filters_phrases_and_exclusions():
    q = split_query('artist:Muldjord "Sigur Rós" -live genre:"hard rock" fast calm')
    assert q.free == "fast calm"
    assert q.filters == [Filter(("artist",), "Muldjord"), Filter(TEXT_COLUMNS, "Sigur Rós"),
                         Filter(TEXT_COLUMNS, "live", negated=True), Filter(("genre",), "hard rock")]
    assert split_query("ambient").filters == [] and split_query('unbalanced "quote').free == "unbalanced quote"
    with pytest.raises(QueryError, match="year"):
        split_query("year:1999")


@pytest.fixture(scope="module")
def lib(tmp_path_factory) -> Library:
    music = tmp_path_factory.mktemp("music")
    write_track(music / "a.flac", 6.0, kind="noise", seed=1, title="Night Drive", artist="Muldjord", genre=["Techno"])
    write_track(music / "b.ogg", 6.0, kind="tone", title="Live at Home", artist="Muldjord", genre=["Ambient"])
    write_track(music / "c.mp3", 6.0, kind="chirp", title="Storm", artist="Someone Else", genre=["Noise"])
    library = Library(tmp_path_factory.mktemp("db") / "lib.sqlite3", device="cpu")
    library.scan([music], n_windows=WINDOWS, workers=0)
    yield library
    library.close()


def names(result) -> list[str]:
    return [Path(h.display_path).name for h in result.hits]


def test_an_artists_name_is_found_as_text(lib):
    result = lib.search("muldjord")
    assert names(result) == ["b.ogg", "a.flac"] or names(result) == ["a.flac", "b.ogg"]
    assert result.missing_words == [] and all(h.score == 1.0 for h in result.hits)
    assert names(lib.search("artist:muldjord -live")) == ["a.flac"]
    assert names(lib.search('"someone else"')) == ["c.mp3"]


def test_filters_restrict_what_sound_words_rank(lib):
    ranked = lib.search("artist:muldjord electronic", floor=0)
    assert set(names(ranked)) == {"a.flac", "b.ogg"} and ranked.hits[0].matched[0][0] == "electronic"
    assert names(lib.search("genre:ambient electronic", floor=0)) == ["b.ogg"]


def test_a_word_in_no_text_and_unknown_to_the_model_is_named(lib):
    result = lib.search("qqzzxv electronic", floor=0)
    assert result.missing_words == ["qqzzxv"] and len(result.hits) == 3
    nothing = lib.search("artist:nobody")
    assert nothing.hits == [] and nothing.message == "no good match"


def test_an_artist_named_with_common_words_is_text(lib, tmp_path):
    # "Someone Else": two words the model knows, together the name of an artist
    assert names(lib.search("someone else")) == ["c.mp3"]
    assert names(lib.search("night drive")) == []  # a title is not taken as a name without quotes...
    assert names(lib.search('"night drive"')) == ["a.flac"]  # ...with them it is
