"""app.playlists: M3U8 and XSPF written, parsed back (by our readers and by a plain XML parser),
checked against the files; instant playlists with variety (a stand-in library: no model)."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import unquote_to_bytes, urlsplit

import pytest

from app import playlists
from app.playlists import PlaylistEntry


@pytest.fixture
def files(tmp_path: Path) -> list[PlaylistEntry]:
    music = tmp_path / "Music" / "Ärtist & Co" / "Album #1"
    music.mkdir(parents=True)
    names = ["01 Intro.mp3", "02 Sad, slow; song.flac", "03 100% [live].ogg", "04 日本語 ?.m4a"]
    entries = []
    for i, name in enumerate(names):
        path = music / name
        path.write_bytes(b"audio %d" % i)
        entries.append(
            PlaylistEntry(
                path,
                title=f"Title {i} – “quoted” <&>",
                artist="Ärtist & Co",
                album="Album #1",
                duration=61.6 + i,
            )
        )
    entries[0].artist = None  # no artist: EXTINF is the title alone
    return entries


def test_m3u8_absolute_is_utf8_extm3u_and_reads_back(tmp_path: Path, files) -> None:
    out = tmp_path / "lists" / "calm.m3u8"
    out.parent.mkdir()
    assert playlists.write_m3u8(out, files) == 4
    text = out.read_bytes().decode("utf-8")  # strict UTF-8
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    assert lines[1] == "#EXTINF:62,Title 0 – “quoted” <&>"
    assert lines[2] == str(files[0].path)
    assert lines[3] == "#EXTINF:63,Ärtist & Co - Title 1 – “quoted” <&>"
    assert len(lines) == 1 + 2 * 4
    back = playlists.read_m3u8(out)
    assert [e.path for e in back] == [f.path for f in files]
    assert all(e.path.is_file() for e in back)
    assert back[1].artist == "Ärtist & Co" and back[1].title == files[1].title
    assert back[2].duration == 64


def test_m3u8_relative_paths_resolve_from_the_playlist_folder(tmp_path: Path, files) -> None:
    out = tmp_path / "lists" / "rel.m3u8"
    out.parent.mkdir()
    playlists.write_m3u8(out, files, relative=True)
    paths = [line for line in out.read_text("utf-8").splitlines() if not line.startswith("#")]
    assert paths[0] == os.path.join("..", "Music", "Ärtist & Co", "Album #1", "01 Intro.mp3")
    assert not any(os.path.isabs(p) for p in paths)
    for line, entry in zip(paths, files, strict=True):
        assert (out.parent / line).resolve() == entry.path.resolve()
    assert [e.path for e in playlists.read_m3u8(out)] == [f.path for f in files]


def test_m3u8_non_utf8_name_round_trips_as_raw_bytes(tmp_path: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/caf\xe9.mp3"
    with open(raw, "wb") as f:
        f.write(b"x")
    entry = PlaylistEntry(Path(os.fsdecode(raw)), title="Café")
    out = tmp_path / "odd.m3u8"
    playlists.write_m3u8(out, [entry])
    assert raw in out.read_bytes()
    back = playlists.read_m3u8(out)
    assert os.fsencode(back[0].path) == raw and os.path.exists(os.fsencode(back[0].path))


def test_xspf_is_valid_xml_with_percent_encoded_file_uris(tmp_path: Path, files) -> None:
    out = tmp_path / "calm.xspf"
    assert playlists.write_xspf(out, files, title="calm piano") == 4
    root = ET.parse(out).getroot()  # well-formed XML
    ns = {"x": playlists.XSPF_NS}
    assert root.tag == f"{{{playlists.XSPF_NS}}}playlist" and root.get("version") == "1"
    assert root.findtext("x:title", namespaces=ns) == "calm piano"
    tracks = root.findall("x:trackList/x:track", ns)
    assert len(tracks) == 4
    for track, entry in zip(tracks, files, strict=True):
        location = track.findtext("x:location", namespaces=ns)
        assert location is not None and location.startswith("file:///")
        assert " " not in location and "#" not in location[7:] and "%" in location
        assert all(ord(c) < 128 for c in location)  # every non-ASCII byte percent-encoded
        path = Path(os.fsdecode(unquote_to_bytes(urlsplit(location).path)))
        assert path == entry.path and path.is_file()
        assert track.findtext("x:title", namespaces=ns) == entry.title
        assert track.findtext("x:album", namespaces=ns) == "Album #1"
        duration = track.findtext("x:duration", namespaces=ns)
        assert duration is not None and int(duration) == round(entry.duration * 1000)
    assert (
        tracks[0].find("x:creator", ns) is None
        and tracks[1].findtext("x:creator", namespaces=ns) == "Ärtist & Co"
    )
    back = playlists.read_xspf(out)
    assert [(e.path, e.title, e.artist, e.album) for e in back] == [
        (f.path, f.title, f.artist, f.album) for f in files
    ]


def test_xspf_relative_locations(tmp_path: Path, files) -> None:
    out = tmp_path / "lists" / "rel.xspf"
    out.parent.mkdir()
    playlists.write_playlist(out, files, relative=True)  # .xspf chosen by the suffix
    root = ET.parse(out).getroot()
    locations = [t.text for t in root.iter(f"{{{playlists.XSPF_NS}}}location")]
    assert all(loc is not None and loc.startswith("../Music/") for loc in locations)
    assert [e.path for e in playlists.read_playlist(out)] == [f.path for f in files]


def test_xspf_keeps_xml_valid_with_control_characters(tmp_path: Path) -> None:
    path = tmp_path / "a.mp3"
    path.write_bytes(b"x")
    out = tmp_path / "x.xspf"
    playlists.write_xspf(out, [PlaylistEntry(path, title="bad\x01title\x1f")])
    ET.parse(out)
    assert playlists.read_xspf(out)[0].title == "bad\ufffdtitle\ufffd"


def test_writes_are_atomic_and_leave_no_temp_files(tmp_path: Path, files) -> None:
    out = tmp_path / "p.m3u8"
    out.write_text("old")
    playlists.write_playlist(out, files)
    assert out.read_text("utf-8").startswith("#EXTM3U")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Music", "p.m3u8"]


# --- instant playlists on a stand-in library ----------------------------------------------------


class FakeLibrary:
    """search() returns every track best first; track() the rows; no copies (what
    instant_playlist reads)."""

    def __init__(self, rows):
        self.rows = {r.id: r for r in rows}

    def search(self, phrase, top_k=20, floor=None):
        hits = [SimpleNamespace(track_id=r.id, score=1.0 - r.id / 100) for r in self.rows.values()][
            :top_k
        ]
        return SimpleNamespace(hits=hits, missing_words=[])

    def track(self, track_id):
        return self.rows[track_id]

    def copies(self, track_ids):
        return {}  # every track its own recording


def _rows(tmp_path: Path):
    rows = []
    for i in range(12):
        album = "Big Album" if i < 8 else None  # 8 tracks of one album first, then 4 loose files
        folder = tmp_path / ("big" if album else f"folder{i % 2}")
        rows.append(
            SimpleNamespace(
                id=i,
                path=folder / f"{i}.mp3",
                title=f"T{i}",
                artist="A",
                album=album,
                duration=100.0,
            )
        )
    return rows


def test_instant_playlist_limits_tracks_per_album_and_folder(tmp_path: Path) -> None:
    library = FakeLibrary(_rows(tmp_path))
    entries, _ = playlists.instant_playlist(library, "calm piano", count=30, per_album=2)
    names = [e.path.name for e in entries]
    assert names == [
        "0.mp3",
        "1.mp3",
        "8.mp3",
        "9.mp3",
        "10.mp3",
        "11.mp3",
    ]  # 2 of the album, 2 per folder
    entries, _ = playlists.instant_playlist(library, "calm piano", count=5, per_album=None)
    assert [e.path.name for e in entries] == ["0.mp3", "1.mp3", "2.mp3", "3.mp3", "4.mp3"]
