"""Vorbis comments in FLAC, Ogg Vorbis and Ogg Opus: repeated fields, every other comment and
picture kept in order, the audio decodes to exactly the same samples.

`tagged_vorbis` is reused by the other tag tests.
"""

from __future__ import annotations

import base64
from pathlib import Path

import audio_factory
import numpy as np
import pytest
import soundfile as sf
from mutagen import FileType
from mutagen._vorbis import VCommentDict
from mutagen.flac import FLAC, Picture
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

from app.tagformats import open_tags
from app.tagwriter import apply_change, plan_write, read_field, restore

PICTURE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
KINDS: dict[str, type[FLAC | OggVorbis | OggOpus]] = {
    "flac": FLAC,
    "ogg": OggVorbis,
    "opus": OggOpus,
}
# Many comments, a long one (so the Ogg comment header spans pages), mixed-case keys.
COMMENTS = [
    ("TITLE", "Tone"),
    ("ARTIST", "Ann"),
    ("ARTIST", "Bob"),
    ("ALBUM", "Album"),
    ("Genre", "Jazz"),
    ("DATE", "2001"),
    ("TRACKNUMBER", "3"),
    ("MOOD", "mellow"),
    ("COMMENT", "old comment"),
    ("ENERGY", "low"),
    ("LYRICS", "la " * 30000),
]


def picture() -> Picture:
    pic = Picture()
    pic.type, pic.mime, pic.desc, pic.data = 3, "image/png", "cover", PICTURE
    pic.width, pic.height, pic.depth = 16, 16, 24
    return pic


def tagged_vorbis(path: Path, fmt: str) -> Path:
    """A FLAC / Ogg Vorbis / Opus file with many comments and a cover picture."""
    audio_factory.write_tone(path, 1.5, fmt=fmt, freqs=(330.0, 550.0))
    audio = KINDS[fmt](path)
    if audio.tags is None:
        audio.add_tags()
    for key, value in COMMENTS:
        comments(audio).append((key, value))
    if isinstance(audio, FLAC):
        audio.add_picture(picture())
    else:  # Ogg carries pictures as a base64 FLAC picture block in a comment
        block = base64.b64encode(picture().write()).decode("ascii")
        comments(audio).append(("METADATA_BLOCK_PICTURE", block))
    audio.save()
    return path


def comments(audio: FileType) -> VCommentDict:
    """A FLAC/Ogg file's Vorbis comments (mutagen types `tags` optional; these files have them)."""
    tags = audio.tags
    assert tags is not None, "no Vorbis comments"
    return tags


def comments_except(path: Path, key: str) -> list[tuple[str, str]]:
    audio = open_tags(path).audio
    return [(k, v) for k, v in comments(audio) if k.upper() != key]


def pictures(path: Path) -> list[bytes]:
    audio = open_tags(path).audio
    if isinstance(audio, FLAC):
        return [p.write() for p in audio.pictures]
    return comments(audio).get("METADATA_BLOCK_PICTURE", [])


FIELD_KEYS = {
    "genre": "GENRE",
    "mood": "MOOD",
    "grouping": "GROUPING",
    "comment": "COMMENT",
    "custom:energy": "ENERGY",
}


@pytest.mark.parametrize("fmt", list(KINDS))
@pytest.mark.parametrize("field", list(FIELD_KEYS))
def test_write_field_keeps_everything_else(tmp_path: Path, fmt: str, field: str) -> None:
    path = tagged_vorbis(tmp_path / f"a{audio_factory.suffix_for(fmt)}", fmt)
    key = FIELD_KEYS[field]
    others = comments_except(path, key)
    pics = pictures(path)
    samples, rate = sf.read(path, dtype="float32")
    vendor = comments(open_tags(path).audio).vendor
    result = apply_change(plan_write(path, field, ["Sad Piano", "Rock"], "replace"))
    assert result.ok and result.written, result.message
    audio = open_tags(path).audio
    assert [v for k, v in comments(audio) if k == key] == ["Sad Piano", "Rock"]  # repeated field
    assert read_field(path, field) == ["Sad Piano", "Rock"]
    assert comments_except(path, key) == others  # same comments, same order
    assert pictures(path) == pics and comments(audio).vendor == vendor
    samples_after, rate_after = sf.read(path, dtype="float32")
    assert rate_after == rate and np.array_equal(samples_after, samples)


def test_flac_frames_are_byte_identical(tmp_path: Path) -> None:
    path = tagged_vorbis(tmp_path / "a.flac", "flac")
    size_before = path.stat().st_size
    frames = path.read_bytes()[-(size_before - _metadata_end(path)) :]
    restore(path, "genre", ["x" * 20000], None)  # outgrows the padding: frames move
    assert path.stat().st_size != size_before
    assert path.read_bytes().endswith(frames)


def _metadata_end(path: Path) -> int:
    from app.tagformats import id3v2_size

    data = path.read_bytes()
    pos = id3v2_size(data[:10]) + 4  # after "fLaC" (and an ID3v2 tag some taggers put first)
    while True:
        last, length = data[pos] & 0x80, int.from_bytes(data[pos + 1 : pos + 4], "big")
        pos += 4 + length
        if last:
            return pos


def test_merge_is_case_insensitive(tmp_path: Path) -> None:
    path = tagged_vorbis(tmp_path / "a.ogg", "ogg")
    change = plan_write(path, "genre", ["JAZZ", "Blues", "blues"])
    assert change.old == ["Jazz"] and change.new == ["Jazz", "Blues"]
    assert apply_change(change).written


@pytest.mark.parametrize("fmt", list(KINDS))
def test_round_trip_restores_every_comment(tmp_path: Path, fmt: str) -> None:
    path = tagged_vorbis(tmp_path / f"a{audio_factory.suffix_for(fmt)}", fmt)
    upper = sorted((k.upper(), v) for k, v in comments(open_tags(path).audio))
    results = [apply_change(plan_write(path, field, ["new", "tags"])) for field in FIELD_KEYS]
    assert all(result.written for result in results)
    for result in reversed(results):
        assert restore(path, result.field, result.old, result.new).ok
    # Values and their order per key are back; a restored key sits at the end of the list.
    assert sorted((k.upper(), v) for k, v in comments(open_tags(path).audio)) == upper
    for key in ("ARTIST", "GENRE", "MOOD", "LYRICS"):
        assert comments(open_tags(path).audio).get(key) == [
            v for k, v in COMMENTS if k.upper() == key
        ]


def test_fingerprint_sees_a_changed_audio_packet(tmp_path: Path) -> None:
    """The safety net itself: one flipped byte in the audio changes the fingerprint."""
    for fmt in KINDS:
        path = tagged_vorbis(tmp_path / f"a{audio_factory.suffix_for(fmt)}", fmt)
        before = open_tags(path).audio_digest()
        data = bytearray(path.read_bytes())
        data[-40] ^= 0x01
        path.write_bytes(bytes(data))
        if fmt != "flac":  # fix the Ogg page CRC so the change is a valid, different stream
            _fix_last_ogg_page_crc(path)
        assert open_tags(path).audio_digest() != before


def _fix_last_ogg_page_crc(path: Path) -> None:
    from mutagen.ogg import OggPage

    with open(path, "rb") as f:
        pages = []
        while True:
            offset = f.tell()
            try:
                pages.append((offset, OggPage(f)))
            except EOFError:
                break
    offset, page = pages[-1]
    data = bytearray(path.read_bytes())
    data[offset:] = page.write()
    path.write_bytes(bytes(data))


# -- Ogg audio on the header page, FLAC behind an ID3v2 tag (issue 13) -----------------------

N_HEADERS = {"ogg": 3, "opus": 2}


def ogg_pages(path: Path) -> list:
    from mutagen.ogg import OggPage

    pages = []
    with open(path, "rb") as f:
        while True:
            try:
                pages.append(OggPage(f))
            except EOFError:
                return pages


def ogg_packets(path: Path) -> tuple[list[bytes], list[tuple[int, int]]]:
    """Every packet of the stream, and (granule, packets completed) for each page that
    completes one: what the sound is made of, whatever the pagination."""
    from mutagen.ogg import OggPage

    pages = ogg_pages(path)
    packets = OggPage.to_packets(pages, strict=False)
    granules, done = [], 0
    for page in pages:
        done += len(page.packets) - (0 if page.complete else 1)
        if page.position != -1:
            granules.append((page.position, done))
    return packets, granules


def audio_on_header_page(path: Path, fmt: str) -> Path:
    """Rewrite an Ogg file so that its first audio page is merged into the page where the
    headers end (what older FFmpeg muxers write): the first audio packets share that page."""
    from mutagen.ogg import OggPage

    pages = ogg_pages(path)
    ended, at = 0, None
    for i, page in enumerate(pages):
        ended += len(page.packets) - (0 if page.complete else 1)
        if ended >= N_HEADERS[fmt]:
            at = i
            break
    assert at is not None, "the headers never end"
    head, audio = pages[at], pages[at + 1]
    assert head.complete and not audio.continued
    merged = OggPage()
    merged.serial, merged.sequence, merged.first = head.serial, head.sequence, head.first
    merged.continued, merged.complete, merged.last = head.continued, audio.complete, audio.last
    merged.position = audio.position
    merged.packets = head.packets + audio.packets
    with open(path, "r+b") as f:
        OggPage.replace(f, [head, audio], [merged])
    return path


@pytest.mark.parametrize("fmt", ["ogg", "opus"])
def test_ogg_audio_sharing_the_header_page_is_written_with_packets_unchanged(
    tmp_path: Path, fmt: str
) -> None:
    path = audio_factory.write_tone(tmp_path / f"a.{fmt}", 2.0, fmt=fmt, freqs=(330.0, 550.0))
    audio = KINDS[fmt](path)
    comments(audio)["ARTIST"] = ["Ann"]
    comments(audio)["LYRICS"] = ["la " * 3000]
    audio.save()
    samples_before, _ = sf.read(path, dtype="float32")  # libsndfile reads only the good layout
    audio_on_header_page(path, fmt)
    packets_before, granules_before = ogg_packets(path)
    header_page = next(
        p for p in ogg_pages(path) if len(p.packets) > 1 and p.position > 0
    )  # really mixed
    assert header_page is not None
    n = N_HEADERS[fmt]
    comments_before = comments_except(path, "GENRE")

    result = apply_change(plan_write(path, "genre", ["Drone", "Ambient"], "replace"))
    assert result.ok and result.written, result.message
    assert read_field(path, "genre") == ["Drone", "Ambient"]
    assert comments_except(path, "GENRE") == comments_before
    packets_after, granules_after = ogg_packets(path)
    assert packets_after[:1] == packets_before[:1]  # identification header
    if n == 3:
        assert packets_after[2] == packets_before[2]  # Vorbis setup header
    assert packets_after[n:] == packets_before[n:]  # every audio packet, byte for byte
    assert [g for g in granules_after if g[1] > n] == [g for g in granules_before if g[1] > n]
    pages = ogg_pages(path)
    assert [p.sequence for p in pages] == list(range(len(pages)))  # renumbered, CRCs valid
    samples_after, _ = sf.read(path, dtype="float32")
    assert len(samples_after) and np.array_equal(samples_after, samples_before)

    undo = restore(path, "genre", result.old, result.new)
    assert undo.ok and undo.written, undo.message
    assert ogg_packets(path)[0][n:] == packets_before[n:]


def test_ogg_fingerprint_ignores_pagination_but_sees_a_changed_granule(tmp_path: Path) -> None:
    from app.tagformats.vorbis import _ogg_payload_digest, split_header_page

    path = tagged_vorbis(tmp_path / "a.ogg", "ogg")
    digest = _ogg_payload_digest(path, 3)
    audio_on_header_page(path, "ogg")
    assert _ogg_payload_digest(path, 3) == digest
    assert split_header_page(path, 3) is True
    assert split_header_page(path, 3) is False  # nothing more to split
    assert _ogg_payload_digest(path, 3) == digest
    last = ogg_pages(path)[-1]  # the same page with another granule position
    with open(path, "r+b") as f:
        f.seek(last.offset)
        last.position += 1
        f.write(last.write())
    assert _ogg_payload_digest(path, 3) != digest


def flac_behind_id3(path: Path) -> tuple[Path, bytes]:
    from mutagen.id3 import ID3, TIT2

    tagged_vorbis(path, "flac")
    tags = ID3()
    tags.add(TIT2(encoding=3, text=["ID3 title"]))
    tags.save(path.with_suffix(".id3tmp"))  # a bare ID3 tag file
    id3_block = path.with_suffix(".id3tmp").read_bytes()
    path.with_suffix(".id3tmp").unlink()
    path.write_bytes(id3_block + path.read_bytes())
    return path, id3_block


@pytest.mark.parametrize("name", ["a.flac", "a.mp3", "noext"])
def test_flac_with_a_leading_id3_tag_is_written_and_keeps_it(tmp_path: Path, name: str) -> None:
    path, id3_block = flac_behind_id3(tmp_path / name)
    frames_before = path.read_bytes()[_metadata_end(path) :]
    samples_before, _ = sf.read(path, dtype="int16")
    assert type(open_tags(path).audio) is FLAC
    result = apply_change(plan_write(path, "genre", ["Drone"], "replace"))
    assert result.ok and result.written, result.message
    data = path.read_bytes()
    assert data.startswith(id3_block) and data[len(id3_block) : len(id3_block) + 4] == b"fLaC"
    assert read_field(path, "genre") == ["Drone"]
    assert path.read_bytes()[_metadata_end(path) :] == frames_before
    assert np.array_equal(sf.read(path, dtype="int16")[0], samples_before)
    assert pictures(path) == [picture().write()]


def test_flac_leading_id3_dropped_on_request(tmp_path: Path) -> None:
    from app.tagformats import WriteOptions

    path, _ = flac_behind_id3(tmp_path / "a.flac")
    frames_before = path.read_bytes()[_metadata_end(path) :]
    options = WriteOptions(flac_id3="drop")
    result = apply_change(plan_write(path, "genre", ["Drone"], "replace", options), options)
    assert result.ok and result.written, result.message
    assert path.read_bytes()[:4] == b"fLaC"
    assert path.read_bytes()[_metadata_end(path) :] == frames_before


def test_a_cut_ogg_is_refused_by_the_preview_check_as_by_the_write(tmp_path):
    from app.tagwriter import check_write

    whole = tagged_vorbis(tmp_path / "whole.ogg", "ogg")
    cut = tmp_path / "cut.ogg"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    assert check_write(whole, "genre") is None
    problem = check_write(cut, "genre")
    assert problem is not None and ("Ogg" in problem or "full data" in problem)


# -- comments mutagen cannot re-encode unchanged (found on Debian's warmux-data music) ---------
#
# An Ogg Vorbis file there holds "ALBUM=Apn\xe9e" (Latin-1, not UTF-8) and an entry without '='
# ("encoded by samplitude"). mutagen reads them as "Apn\ufffde" and "unknown0=..." and writes
# them back so; these files are built with such raw entries and every entry but the written
# field must come back byte for byte.

RAW_VENDOR = b"Xiph.Org libVorbis I 20020717 \xa9"  # not UTF-8 either
RAW_ENTRIES = [
    b"encoded by samplitude",  # no '='
    b"TITLE=Tone",
    b"ALBUM=Apn\xe9e",  # Latin-1
    b"genre=Jazz",
    b"ARTIST=Bj\xc3\xb6rk",  # valid UTF-8
    b"BAD~KEY=x",  # '~' is not allowed in a key: mutagen drops the entry
    b"GENRE=Chanson fran\xe7aise",  # the written field's own Latin-1 value
    b"COMMENT=caf\xe9",
    b"=no name",
]


def _raw_comment(framing: bool) -> bytes:
    parts = [len(RAW_VENDOR).to_bytes(4, "little"), RAW_VENDOR]
    parts.append(len(RAW_ENTRIES).to_bytes(4, "little"))
    for entry in RAW_ENTRIES:
        parts += [len(entry).to_bytes(4, "little"), entry]
    return b"".join(parts) + (b"\x01" if framing else b"")


def _flac_blocks(data: bytes) -> tuple[list[tuple[int, bytes]], int]:
    """(code, bytes) of each metadata block of a FLAC file without ID3, and where frames start."""
    assert data[:4] == b"fLaC"
    pos, blocks = 4, []
    while True:
        head = data[pos]
        length = int.from_bytes(data[pos + 1 : pos + 4], "big")
        blocks.append((head & 0x7F, data[pos + 4 : pos + 4 + length]))
        pos += 4 + length
        if head & 0x80:
            return blocks, pos


def raw_comment_of(path: Path) -> bytes:
    """The comment as the file holds it: FLAC block 4, or the Ogg comment packet (no magic)."""
    from mutagen.ogg import OggPage

    data = path.read_bytes()
    if data[:4] == b"fLaC":
        return next(block for code, block in _flac_blocks(data)[0] if code == 4)
    with open(path, "rb") as f:
        first = OggPage(f)
        pages = [p for p in ogg_pages(path)[:8] if p.serial == first.serial]
    packet = OggPage.to_packets(pages)[1]
    return packet[8:] if packet.startswith(b"OpusTags") else packet[7:]


def entries_of(comment: bytes) -> tuple[bytes, list[bytes]]:
    size = int.from_bytes(comment[:4], "little")
    vendor, pos = comment[4 : 4 + size], 4 + size
    count, pos = int.from_bytes(comment[pos : pos + 4], "little"), pos + 4
    entries = []
    for _ in range(count):
        size = int.from_bytes(comment[pos : pos + 4], "little")
        entries.append(comment[pos + 4 : pos + 4 + size])
        pos += 4 + size
    return vendor, entries


def raw_tagged(path: Path, fmt: str) -> Path:
    """A FLAC / Ogg Vorbis / Opus file whose comment is RAW_VENDOR and RAW_ENTRIES as bytes
    (and, in FLAC, a picture whose description is Latin-1)."""
    from mutagen.ogg import OggPage

    audio_factory.write_tone(path, 1.5, fmt=fmt, freqs=(330.0, 550.0))
    if fmt == "flac":
        data = path.read_bytes()
        blocks, start = _flac_blocks(data)
        pic = picture().write()  # type, MIME, then the description: made Latin-1 here
        at = 8 + int.from_bytes(pic[4:8], "big")
        pic = pic[:at] + (6).to_bytes(4, "big") + b"p\xe9ch\xe9s" + pic[at + 4 + len(b"cover") :]
        kept = [(c, b) for c, b in blocks if c not in (1, 4)]  # no padding, no old comment
        kept += [(4, _raw_comment(framing=False)), (6, pic), (1, bytes(64))]
        out = bytearray(b"fLaC")
        for i, (code, block) in enumerate(kept):
            out.append(code | (0x80 if i == len(kept) - 1 else 0))
            out += len(block).to_bytes(3, "big") + block
        path.write_bytes(bytes(out) + data[start:])
        return path
    magic = b"OpusTags" if fmt == "opus" else b"\x03vorbis"
    with open(path, "r+b") as f:
        OggPage(f)  # the identification header's page
        old = [OggPage(f)]
        while not (old[-1].complete or len(old[-1].packets) > 1):
            old.append(OggPage(f))
        packets = OggPage.to_packets(old, strict=False)
        assert packets[0].startswith(magic)
        packets[0] = magic + _raw_comment(framing=fmt == "ogg")
        OggPage.replace(f, old, OggPage.from_packets(packets, old[0].sequence))
    return path


@pytest.mark.parametrize("fmt", list(KINDS))
def test_a_write_keeps_every_other_comment_entry_byte_for_byte(tmp_path: Path, fmt: str) -> None:
    from app.tagwriter import restore_exact

    path = raw_tagged(tmp_path / f"a{audio_factory.suffix_for(fmt)}", fmt)
    before = path.read_bytes()
    digest = open_tags(path).audio_digest()
    samples, rate = sf.read(path, dtype="float32")
    assert entries_of(raw_comment_of(path)) == (RAW_VENDOR, RAW_ENTRIES)

    change = plan_write(path, "genre", ["Rock"], "replace")
    assert change.old == ["Jazz", "Chanson française"]  # Latin-1 read as Latin-1
    result = apply_change(change, keep_undo=True)
    assert result.ok and result.written, result.message

    vendor, entries = entries_of(raw_comment_of(path))
    assert vendor == RAW_VENDOR
    expected = [e for e in RAW_ENTRIES if not e.upper().startswith(b"GENRE=")]
    expected.insert(3, b"GENRE=Rock")  # where the first GENRE entry was
    assert entries == expected
    assert read_field(path, "genre") == ["Rock"]
    if fmt == "flac":  # the Latin-1 picture description too
        assert [b for c, b in _flac_blocks(path.read_bytes())[0] if c == 6] == [
            b for c, b in _flac_blocks(before)[0] if c == 6
        ]
    assert open_tags(path).audio_digest() == digest
    samples_after, rate_after = sf.read(path, dtype="float32")
    assert rate_after == rate and np.array_equal(samples_after, samples)

    assert result.undo is not None and restore_exact(path, result.undo).ok
    assert path.read_bytes() == before


@pytest.mark.parametrize("fmt", list(KINDS))
def test_merge_re_encodes_only_the_written_field(tmp_path: Path, fmt: str) -> None:
    path = raw_tagged(tmp_path / f"a{audio_factory.suffix_for(fmt)}", fmt)
    result = apply_change(plan_write(path, "genre", ["Rock"]))
    assert result.written, result.message
    entries = entries_of(raw_comment_of(path))[1]
    genres = [b"GENRE=Jazz", "GENRE=Chanson française".encode(), b"GENRE=Rock"]
    assert entries == RAW_ENTRIES[:3] + genres + [
        e for e in RAW_ENTRIES[3:] if not e.upper().startswith(b"GENRE=")
    ]


def test_values_that_are_not_utf8_read_as_latin1(tmp_path: Path) -> None:
    from app.metadata import read_metadata

    path = raw_tagged(tmp_path / "a.ogg", "ogg")
    assert read_field(path, "comment") == ["café"]
    meta = read_metadata(path)
    assert (meta.album, meta.artist, meta.title) == ("Apnée", "Björk", "Tone")
    assert meta.genres == ["Jazz", "Chanson française"] and meta.error is None


@pytest.mark.parametrize("fmt", list(KINDS))
def test_the_check_compares_untouched_entries_as_bytes(tmp_path: Path, fmt: str, monkeypatch):
    """mutagen's own save (every entry decoded with errors='replace' and re-encoded: the
    damage this module prevents) gives the same text when read back, but not the same bytes:
    the write's check sees it and refuses."""
    from app.tagformats.vorbis import VorbisFormat

    path = raw_tagged(tmp_path / f"a{audio_factory.suffix_for(fmt)}", fmt)
    before = path.read_bytes()

    def mutagen_save(self: VorbisFormat) -> None:
        self.audio.save()

    monkeypatch.setattr(VorbisFormat, "save", mutagen_save)
    result = apply_change(plan_write(path, "genre", ["Rock"], "replace"))
    assert not result.ok and "other tags would change" in (result.error or ""), result.message
    assert path.read_bytes() == before


def test_a_comment_block_that_disagrees_with_its_size_is_refused(tmp_path: Path) -> None:
    from app.tagwriter import check_write

    path = raw_tagged(tmp_path / "a.flac", "flac")
    data = bytearray(path.read_bytes())
    at = data.index(_raw_comment(framing=False)) - 3  # the comment block's 24-bit size
    size = int.from_bytes(data[at : at + 3], "big")
    data[at : at + 3] = (size - 2).to_bytes(3, "big")  # mutagen parses the content anyway
    path.write_bytes(bytes(data))
    before = path.read_bytes()
    reason = check_write(path, "genre")
    assert reason and "byte for byte" in reason and "\n" not in reason
    result = apply_change(plan_write(path, "genre", ["Rock"]))
    assert not result.ok and result.error == reason
    assert path.read_bytes() == before
