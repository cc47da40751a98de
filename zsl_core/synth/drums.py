"""Drum grooves: which General MIDI percussion note plays on which step of a bar."""

from __future__ import annotations

# Drum grooves: one character per step (16ths in 3/4 and 4/4, eighths in 6/8): X accent,
# x normal, o ghost. Pieces: kick snare rim clap tom hat ohat ride crash shaker clave conga cowbell.
DRUM_NOTES = {
    "kick": 36,
    "snare": 38,
    "rim": 37,
    "clap": 39,
    "tom": 45,
    "hat": 42,
    "ohat": 46,
    "ride": 51,
    "crash": 49,
    "shaker": 70,
    "clave": 75,
    "conga": 63,
    "cowbell": 56,
    "pedal": 44,
}
CYMBAL_PIECES = frozenset({"hat", "ohat", "ride", "crash", "pedal"})
GROOVES: dict[str, dict[str, str]] = {
    "rock": {"kick": "X.......x.x.....", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.x."},
    "pop": {"kick": "X.....x.x.......", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.x."},
    "punk": {"kick": "X.x.x.x.X.x.x.x.", "snare": "....X.......X...", "ohat": "x.x.x.x.x.x.x.x."},
    "metal": {
        "kick": "xxxxxxxxxxxxxxxx",
        "snare": "....X.......X...",
        "ride": "x.x.x.x.x.x.x.x.",
        "crash": "X.......X.......",
    },
    "four": {
        "kick": "X...x...X...x...",
        "clap": "....x.......x...",
        "ohat": "..x...x...x...x.",
        "hat": "x.x.x.x.x.x.x.x.",
    },
    "techno": {
        "kick": "X...X...X...X...",
        "clap": "....x.......x...",
        "ohat": "..x...x...x...x.",
        "hat": "xxxxxxxxxxxxxxxx",
    },
    "funk": {"kick": "X..x..x...x..x..", "snare": "....X..o.o..X..o", "hat": "xxxxxxxxxxxxxxxx"},
    "hiphop": {"kick": "X......x.xx.....", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.x."},
    "halftime": {
        "kick": "X.........x.....",
        "snare": "........X.......",
        "hat": "x.xxx.x.x.xxx.x.",
    },
    "onedrop": {"kick": "........X.......", "rim": "........x.......", "hat": "..x...x...x...x."},
    "ska": {"kick": "X.......x.......", "snare": "....X.......X...", "hat": "..x...x...x...x."},
    "swing": {
        "ride": "x...x.xxx...x.xx",
        "pedal": "....x.......x...",
        "kick": "o...o...o...o...",
        "snare": "..........o.....",
    },
    "shuffle": {"kick": "X.......x.......", "snare": "....X.......X...", "hat": "x.xxx.xxx.xxx.xx"},
    "train": {"kick": "X.......x.......", "snare": "o.x.o.X.o.x.o.X.", "hat": "x.x.x.x.x.x.x.x."},
    "march": {"kick": "X.......x.......", "snare": "x.xxx.x.x.xxx.x.", "crash": "x..............."},
    "polka": {"kick": "X.......X.......", "snare": "....x.......x...", "hat": "..x...x...x...x."},
    "bossa": {"kick": "X..xx..xX..xx..x", "rim": "x..x..x...x..x..", "hat": "x.x.x.x.x.x.x.x."},
    "salsa": {
        "clave": "x..x..x...x.x...",
        "conga": "...x..xx...x..xx",
        "cowbell": "x.x.x.x.x.x.x.x.",
        "kick": "...x.......x....",
    },
    "latin": {
        "kick": "X.......x.......",
        "rim": "..x...x...x...x.",
        "shaker": "xxxxxxxxxxxxxxxx",
        "conga": "x..x..x.x..x..x.",
    },
    "habanera": {
        "kick": "X..xx...X..xx...",
        "snare": "....x.......x...",
        "hat": "x...x...x...x...",
    },
    "soul": {"kick": "X......xx.......", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.x."},
    "ballad": {"kick": "X.......x.......", "rim": "....x.......x...", "hat": "x...x...x...x..."},
    "samba": {
        "kick": "X..xX..xX..xX..x",
        "rim": "x.x..x.x.x..x.x.",
        "shaker": "xxxxxxxxxxxxxxxx",
        "hat": "..x...x...x...x.",
    },
    "waltz": {"kick": "X...........", "snare": "....x...x...", "hat": "x...x...x..."},
    "sixeight": {"kick": "X.....", "snare": "...x..", "hat": "xxxxxx"},
    "jig": {"kick": "X..x..", "tom": "x.xx.x", "hat": "x..x.."},
}
METRE_GROOVE = {"3/4": "waltz", "6/8": "sixeight"}
DANCE_GROOVES = frozenset(
    {"four", "techno", "funk", "hiphop", "soul", "samba", "salsa", "latin", "bossa"}
)
