"""zsl_core.synth.midi: our Standard MIDI File writer, checked by an independent reader."""

from __future__ import annotations

import pytest
from smf_reader import parse_smf, read_vlq

from zsl_core.synth import midi


@pytest.mark.parametrize(
    "value, encoded",
    [
        (0, b"\x00"),
        (0x40, b"\x40"),
        (0x7F, b"\x7f"),
        (0x80, b"\x81\x00"),
        (0x2000, b"\xc0\x00"),
        (0x3FFF, b"\xff\x7f"),
        (0x4000, b"\x81\x80\x00"),
        (0x0FFFFFFF, b"\xff\xff\xff\x7f"),
    ],
)
def test_variable_length_quantities_match_the_smf_specification(value, encoded):
    assert midi._vlq(value) == encoded
    assert read_vlq(encoded, 0) == (value, len(encoded))


def test_midi_writer_writes_a_valid_format_1_file():
    conductor = midi.MidiTrack(name="tempo")
    conductor.tempo(0, 500_000)
    conductor.time_signature(0, 3, 4)
    piano = midi.MidiTrack(name="piano")
    piano.program(0, 0, 0)
    piano.note(0, 0, 60, 100, 480)
    piano.note(480, 0, 60, 80, 480)  # same pitch again: the off must come before the on
    drums = midi.MidiTrack()
    drums.note(240, 9, 36, 127, 120)
    uke = midi.MidiTrack()
    uke.program(0, 1, 24, bank=8)
    uke.note(0, 1, 67, 200, 100)  # velocity clipped to 127
    data = midi.write_midi([conductor, piano, drums, uke], 480, end_tick=1920)
    fmt, division, tracks = parse_smf(data)
    assert (fmt, division, len(tracks)) == (1, 480, 4)
    assert (0, b"\xff\x51\x03\x07\xa1\x20") in tracks[0]  # 500,000 us per quarter
    assert any(e[:3] == b"\xff\x58\x04" and e[3] == 3 and e[4] == 2 for _, e in tracks[0])
    assert all(track[-1][0] == 1920 for track in tracks), "end-of-track at the song's end"
    notes = [(t, e) for t, e in tracks[1] if e[0] & 0xF0 in (0x80, 0x90)]
    assert [(t, e[0] & 0xF0) for t, e in notes] == [
        (0, 0x90),
        (480, 0x80),
        (480, 0x90),
        (960, 0x80),
    ]
    assert (240, b"\x99\x24\x7f") in tracks[2], "drums on channel 10"
    assert (0, b"\xb1\x00\x08") in tracks[3] and (0, b"\xc1\x18") in tracks[3], (
        "bank select then program"
    )
    assert (0, b"\x91\x43\x7f") in tracks[3]


def test_one_track_is_format_0_and_no_track_is_refused():
    track = midi.MidiTrack()
    track.note(0, 0, 60, 90, 10)
    fmt, _, tracks = parse_smf(midi.write_midi([track]))
    assert fmt == 0 and len(tracks) == 1
    with pytest.raises(ValueError):
        midi.write_midi([])
