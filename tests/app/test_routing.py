"""Routing tags to fields by kind: the defaults (genre -> genre, mood -> mood, nothing else),
a user's table, one forced field, listeners' spellings, and `zsl-tagger write` doing it per
format (ID3, Vorbis comments, MP4) without --field."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_id3 import tagged_mp3
from test_journal import IndexOnly
from test_mp4 import tagged_m4a
from test_vorbis import tagged_vorbis

from app import journal
from app.routing import (
    DEFAULT_ROUTES,
    parse_routes,
    per_field,
    pick_routed,
    route_tags,
    routes_to_text,
)
from app.tagwriter import read_field
from zsl_core.tagger import Prediction
from zsl_core.tags import TagKind, TagScore

G, M, INS, E, C = TagKind.GENRE, TagKind.MOOD, TagKind.INSTRUMENT, TagKind.ERA, TagKind.CHARACTER
TAGS = [
    TagScore("classic rock", 0.8, True, G),
    TagScore("cello", 0.7, True, INS),
    TagScore("sad", 0.6, True, M),
    TagScore("80s", 0.5, True, E),
    TagScore("fast", 0.4, True, C),
    TagScore("hip hop", 0.3, False, G),
    TagScore("Classic-Rock", 0.2, False, G),
]


def test_defaults_send_genres_and_moods_only():
    assert route_tags(TAGS, DEFAULT_ROUTES) == {
        "genre": ["Classic Rock", "Hip-Hop"],
        "mood": ["Sad"],
    }
    assert route_tags(TAGS, DEFAULT_ROUTES, limit=1) == {
        "genre": ["Classic Rock"],
        "mood": ["Sad"],
    }


def test_a_users_table_and_a_forced_field():
    routes = parse_routes(
        ["instrument=grouping", "era=custom:ERA", "mood=none", "CHARACTER=comment"]
    )
    assert route_tags(TAGS, routes) == {
        "genre": ["Classic Rock", "Hip-Hop"],
        "grouping": ["cello"],
        "custom:ERA": ["1980s"],
        "comment": ["fast"],
    }
    assert route_tags(TAGS, routes, field="comment", limit=3) == {
        "comment": ["Classic Rock", "cello", "Sad"]
    }
    assert parse_routes(routes_to_text(routes)) == routes


@pytest.mark.parametrize("spec", ["instrument", "instrument=", "colour=genre", "mood=title"])
def test_bad_routes_are_one_line_errors(spec):
    with pytest.raises(ValueError) as exc:
        parse_routes([spec])
    assert "\n" not in str(exc.value)


@pytest.fixture
def lib(tmp_path: Path) -> Iterator[IndexOnly]:
    library = IndexOnly(tmp_path / "index.sqlite3")
    yield library
    library.conn.close()


@pytest.mark.parametrize(
    "make",
    [
        lambda d: tagged_mp3(d / "a.mp3"),
        lambda d: tagged_vorbis(d / "b.flac", "flac"),
        lambda d: tagged_vorbis(d / "c.ogg", "ogg"),
        lambda d: tagged_m4a(d / "d.m4a"),
    ],
    ids=["id3", "flac", "ogg", "mp4"],
)
def test_routed_write_puts_each_kind_in_its_field_and_undo_restores(lib, tmp_path, make):
    path = make(tmp_path)
    before = {f: read_field(path, f) for f in ("genre", "mood", "grouping")}
    tid = lib.add(path)
    lib.predictions[tid] = Prediction(str(path), seen=TAGS[:5], unseen=TAGS[5:])
    proposals = {tid: journal.propose(lib, tid, top_k=3)}
    planned = journal.plan_routed(lib, proposals)
    assert {p.field for p in planned} == {"genre", "mood"}
    result = journal.write_batch(lib, planned, "routed")
    assert result.written == 2 and not result.failed
    assert read_field(path, "genre")[-2:] == ["Classic Rock", "Hip-Hop"]
    assert read_field(path, "mood")[-1] == "Sad"
    assert (
        read_field(path, "grouping") == before["grouping"]
    )  # instruments are not written by default
    journal.undo(lib, result.batch_id)
    assert {f: read_field(path, f) for f in before} == before


def test_each_field_has_its_own_budget():
    """Five genres above the only mood: a top 5 over every kind would leave Mood empty; per
    field, Genre gets its 2 and Mood its 1 (the window's ticks and `zsl-tagger write` alike)."""
    genres = [TagScore(g, 0.9 - i / 100, True, G) for i, g in enumerate(("rock", "pop", "jazz"))]
    crowded = Prediction(
        "x",
        seen=[*genres, TagScore("cello", 0.8, True, INS), TagScore("sad", 0.5, True, M)],
        unseen=[TagScore("soul", 0.85, False, G)],
    )
    picked = pick_routed(crowded, 2, DEFAULT_ROUTES)
    assert [t.tag for t in picked] == ["rock", "pop", "sad"]  # no cello: instruments not routed
    routed = pick_routed(crowded, 2, parse_routes(["instrument=grouping"]))
    assert [t.tag for t in routed] == ["rock", "pop", "cello", "sad"]
    forced = pick_routed(crowded, 2, DEFAULT_ROUTES, field="comment")
    assert [t.tag for t in forced] == ["rock", "pop"]  # one field: 2 of every kind together
    assert per_field(picked, DEFAULT_ROUTES, limit=1) == [picked[0], picked[2]]


def test_the_window_and_write_propose_the_same(lib, tmp_path):
    """`journal.propose` (what `zsl-tagger write` adds) and the routed pick the window ticks and
    its Predicted tags column shows are one rule with one budget."""
    path = tagged_mp3(tmp_path / "a.mp3")
    tid = lib.add(path)
    lib.predictions[tid] = Prediction(str(path), seen=TAGS[:5], unseen=TAGS[5:])
    for routes in (DEFAULT_ROUTES, parse_routes(["instrument=grouping", "mood=none"])):
        ticked = pick_routed(lib.prediction(tid, 40), 1, routes, prior=lib.tag_prior())
        assert journal.propose(lib, tid, top_k=1, routes=routes) == route_tags(ticked, routes)
