"""One search box for text and sound (`app.query` + `Library.search`): field filters, quoted
phrases, exclusions, names the model does not know found as text, sound words ranked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from libfixtures import write_track

from app.library import Library
from app.query import TEXT_COLUMNS, Filter, QueryError, split_query

WINDOWS = 2


def test_split_query_separates_filters_phrases_and_exclusions():
    q = split_query('artist:Muldjord "Sigur Rós" -live genre:"hard rock" fast calm')
    assert q.free == "fast calm"
    assert q.filters == [
        Filter(("artist",), "Muldjord"),
        Filter(TEXT_COLUMNS, "Sigur Rós"),
        Filter(TEXT_COLUMNS, "live", negated=True),
        Filter(("genre",), "hard rock"),
    ]
    assert (
        split_query("ambient").filters == []
        and split_query('unbalanced "quote').free == "unbalanced quote"
    )
    with pytest.raises(QueryError, match="bpm"):
        split_query("bpm:120")  # a field the index does not hold


@pytest.fixture(scope="module")
def lib(tmp_path_factory) -> Iterator[Library]:
    music = tmp_path_factory.mktemp("music")
    write_track(
        music / "a.flac",
        6.0,
        kind="noise",
        seed=1,
        title="Night Drive",
        artist="Muldjord",
        genre=["Techno"],
    )
    write_track(
        music / "b.ogg",
        6.0,
        kind="tone",
        title="Live at Home",
        artist="Muldjord",
        genre=["Ambient"],
    )
    write_track(
        music / "c.mp3", 6.0, kind="chirp", title="Storm", artist="Someone Else", genre=["Noise"]
    )
    set_date(music / "a.flac", "1994-03-01")
    set_date(music / "b.ogg", "1999")  # c.mp3 has no date
    library = Library(tmp_path_factory.mktemp("db") / "lib.sqlite3", device="cpu")
    library.scan([music], n_windows=WINDOWS, workers=0)
    yield library
    library.close()


def set_date(path: Path, value: str) -> None:
    """The date tag in the file's own format (Vorbis DATE, ID3 TDRC, MP4 \xa9day)."""
    import mutagen
    from mutagen.id3 import TDRC

    audio = mutagen.File(str(path))
    name = type(audio).__name__
    if name in ("MP3", "WAVE", "AIFF"):
        audio.tags.add(TDRC(encoding=3, text=[value]))
    elif name == "MP4":
        audio.tags["\xa9day"] = [value]
    else:
        audio["DATE"] = [value]
    audio.save()


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
    assert (
        set(names(ranked)) == {"a.flac", "b.ogg"} and ranked.hits[0].matched[0][0] == "electronic"
    )
    assert names(lib.search("genre:ambient electronic", floor=0)) == ["b.ogg"]


def test_a_word_in_no_text_and_unknown_to_the_model_is_named(lib):
    result = lib.search("qqzzxv electronic", floor=0)
    assert result.missing_words == ["qqzzxv"] and len(result.hits) == 3
    nothing = lib.search("artist:nobody")
    assert nothing.hits == [] and nothing.message == "no good match"


def test_an_artist_named_with_common_words_is_text(lib, tmp_path):
    # "Someone Else": two words the model knows, together the name of an artist
    assert names(lib.search("someone else")) == ["c.mp3"]
    assert (
        names(lib.search("night drive")) == []
    )  # a title is not taken as a name without quotes...
    assert names(lib.search('"night drive"')) == ["a.flac"]  # ...with them it is


def test_split_query_reads_years_and_ranges_as_numbers():
    q = split_query("year:1990-1999 calm -year:1995")
    assert q.free == "calm"
    assert q.filters == [
        Filter(("year",), "1990-1999", low=1990, high=1999),
        Filter(("year",), "1995", negated=True, low=1995, high=1995),
    ]
    assert split_query("year:1999").filters[0].numeric
    assert [
        (f.low, f.high) for f in split_query("year:2001-1995 year:1990.. year:-1980").filters
    ] == [(1995, 2001), (1990, None), (None, 1980)]
    for bad in ("year:nineties", "year:1990-1999-2000", "year:19901"):
        with pytest.raises(QueryError, match="year:1990-1999"):
            split_query(bad)


def test_the_index_keeps_each_tracks_year(lib):
    years = {Path(t.display_path).name: t.year for t in lib.tracks()}
    assert years == {"a.flac": 1994, "b.ogg": 1999, "c.mp3": None}


def test_year_filters_compare_numbers_and_combine_with_sound_words(lib):
    assert names(lib.search("year:1999")) == ["b.ogg"]
    assert sorted(names(lib.search("year:1990-1999"))) == ["a.flac", "b.ogg"]
    assert names(lib.search("year:1995-2005")) == ["b.ogg"]
    assert names(lib.search("year:2000-")) == [] and names(lib.search("year:-1994")) == ["a.flac"]
    # not text: "199" is inside both years' text, but no track is from the year 199
    assert names(lib.search("year:199")) == []
    # a track without a year is in no range: kept by an exclusion
    assert sorted(names(lib.search("-year:1999"))) == ["a.flac", "c.mp3"]
    ranked = lib.search("year:1990-1999 electronic", floor=0)
    assert (
        sorted(names(ranked)) == ["a.flac", "b.ogg"]
        and ranked.hits[0].matched[0][0] == "electronic"
    )
    assert names(lib.search("year:1990-1999 artist:muldjord -live")) == ["a.flac"]


def test_cli_search_with_a_year_range(lib, capsys):
    from app.cli import main

    assert (
        main(
            [
                "--db",
                str(lib.conn.where),
                "--device",
                "cpu",
                "search",
                "year:1990-1999 calm",
                "--top",
                "5",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    shown = {Path(line.split()[-1]).name for line in out.splitlines() if line.strip()[:1].isdigit()}
    # the generated clips may not sound calm enough to pass the floor; whatever is shown is from the 1990s
    assert shown <= {"a.flac", "b.ogg"} and (shown or "no good match for calm" in out)
    assert main(["--db", str(lib.conn.where), "--device", "cpu", "search", "year:1994"]) == 0
    out = capsys.readouterr().out
    assert "a.flac" in out and "b.ogg" not in out and "c.mp3" not in out


def test_a_library_from_before_years_gets_them_on_the_next_scan_without_decoding(tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    write_track(music / "old.flac", 4.0, kind="tone", title="Old")
    set_date(music / "old.flac", "1977")
    db_path = tmp_path / "lib.sqlite3"
    with Library(db_path, device="cpu") as library:
        library.scan([music], n_windows=WINDOWS, workers=0)
        # what schema 3 had: no year column (nor the album columns of schema 5)
        for column in ("year", "album_artist", "track_no", "disc_no"):
            library.conn.execute(f"ALTER TABLE tracks DROP COLUMN {column}")
        library.conn.execute("PRAGMA user_version = 3")
    with Library(db_path, device="cpu") as library:  # migrates to 4, then 5
        assert library.tracks()[0].year is None
        summary = library.scan(n_windows=WINDOWS, workers=0)
        assert (summary.scanned, summary.updated, summary.unchanged) == (0, 1, 0)
        assert library.tracks()[0].year == 1977 and names(library.search("year:1977")) == [
            "old.flac"
        ]
        again = library.scan(n_windows=WINDOWS, workers=0)
        assert (again.scanned, again.updated, again.unchanged) == (0, 0, 1)


def test_no_match_still_names_the_closest_as_weak(lib):
    """Nothing clears the floor: no hits, but the best of the rest, best first, as weak."""
    ranked = lib.search("sad", floor=float("-inf"))  # the whole ranking, for reference
    floor_above_all = ranked.hits[0].score + 1.0
    result = lib.search("sad", floor=floor_above_all)
    assert result.hits == [] and result.message == "no good match"
    assert [h.track_id for h in result.closest] == [h.track_id for h in ranked.hits]
    assert all(h.score < floor_above_all for h in result.closest)
    assert lib.search("sad", top_k=1, floor=floor_above_all).closest[:1] == result.closest[:1]
    assert ranked.closest == []  # with hits there is no "closest" list
    assert lib.search("artist:nobody").closest == []  # text alone: nothing ranked, nothing weak


def test_cli_search_with_no_match_lists_the_closest_as_weak(lib, capsys, monkeypatch):
    import zsl_core.search
    from app.cli import main

    monkeypatch.setattr(zsl_core.search, "RELEVANCE_FLOOR", 2.0)  # no probability reaches it
    args = ["--db", str(lib.conn.where), "--device", "cpu", "search", "electronic"]
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "no good match for electronic"
    assert lines[1].startswith("closest, but weak")
    listed = [Path(line.split()[-1]).name for line in lines[2:]]
    assert sorted(listed) == ["a.flac", "b.ogg", "c.mp3"]
