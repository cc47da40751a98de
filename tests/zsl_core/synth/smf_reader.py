"""A tiny independent Standard MIDI File reader for the synth tests (only what they need)."""

from __future__ import annotations

import struct


def read_vlq(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    while True:
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, pos


def parse_smf(data: bytes) -> tuple[int, int, list[list[tuple[int, bytes]]]]:
    """(format, division, tracks as [(absolute tick, event bytes)]); asserts the structure."""
    assert data[:4] == b"MThd"
    length, fmt, ntracks, division = struct.unpack(">IHHH", data[4:14])
    assert length == 6
    pos, tracks = 14, []
    for _ in range(ntracks):
        assert data[pos : pos + 4] == b"MTrk", f"chunk at {pos} is {data[pos : pos + 4]!r}"
        size = struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        body, pos = data[pos + 8 : pos + 8 + size], pos + 8 + size
        assert len(body) == size
        events, p, tick = [], 0, 0
        while p < len(body):
            delta, p = read_vlq(body, p)
            tick += delta
            status = body[p]
            assert status & 0x80, "running status is never written"
            if status == 0xFF:
                length, q = read_vlq(body, p + 2)
                event, p = body[p : q + length], q + length
            else:
                n = 2 if status & 0xF0 in (0xC0, 0xD0) else 3
                event, p = body[p : p + n], p + n
                assert all(b < 0x80 for b in event[1:]), "data bytes are 7-bit"
            events.append((tick, event))
        assert events and events[-1][1] == b"\xff\x2f\x00", "every track ends with end-of-track"
        assert sum(1 for _, e in events if e == b"\xff\x2f\x00") == 1
        tracks.append(events)
    assert pos == len(data), "no bytes after the last chunk"
    return fmt, division, tracks
