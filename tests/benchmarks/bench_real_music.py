"""Benchmark: tag and search quality on real music (Debian game soundtracks) and synthesised speech.

21 packages, 305 music tracks at --per-package 25 (marsshooter 10, wizznic 9, fillets-ng 14,
openclonk 8, davegnukem 13, naev 25, supertux 25, unknown-horizons 15, warmux 13, freedroidrpg 16,
megaglest 9, starfighter 11, widelands 25, freedink 5, supertuxkart 25, 0ad 25, trackballs 9,
berusky2 7, krank 4, plee-the-bear 3; gcompris-qt-data: 9 world-music clips and 25 instrument
samples, labelled from the activities' own texts) + 14 speech clips; about 4.4 GB of cache (0ad-data
alone is a 1.4 GB download). Debian's game-music packages rarely state a style: apart from
marsshooter (metal), wizznic (electronica), fillets-ng (quiet) and the soundtrack tags, the words
come from single files' GENRE tags, titles and names and the packages' own notes (outside gcompris:
calm 20 tracks, ambient 15, rock 15 of which metal 13, orchestral 7, classical 5, folk 5 of which
celtic 4, 8-bit 3, piano 2, guitar 2, sad 2, and single tracks), so queries under --min-class
(default 5) positives or negatives are listed as skipped, not scored.

Not part of the test run (pytest collects test_*.py only). What it does:

1. Fetches real music at benchmark time: `apt-get download PKG` + `dpkg-deb -x` into a cache
   folder (default /tmp/zsl-real-music, `--cache DIR`), reused on the next run (0ad-data: 1.4 GB
   to download, 3.2 GB unpacked for a moment, its music then copied out of public.zip and the
   zip deleted: about 250 MB kept). Nothing of it is committed. Plus 14 spoken clips (8 English voices/speeds, German, French, Spanish, Italian,
   Dutch, Portuguese) synthesised with espeak-ng (sox for trimming and ogg), also cached.
2. Labels every track only from its source: one record per package below (PACKAGES: why,
   quoting `apt-cache show` or the files' own tags; the words that are correct for its tracks;
   the words that are clearly wrong), plus per-file words where the file's own GENRE tag, title,
   album, artist or file name states a style (GENRE_TAG_WORDS, NAME_RULES). At most `--per-package`
   tracks per package (default 25), files under 20 s skipped (jingles, stingers).
3. Runs the app's real path: a throw-away `app.library.Library`, `lib.scan([folder])` of a folder
   of symlinks to the chosen tracks, then the two calls in the ADAPTER section below.
4. Reports per query word ROC-AUC and average precision (positives: tracks labelled with the
   word or a synonym; negatives: tracks for which the word is declared clearly wrong; tracks
   with no verdict are left out; a query needs `--min-class` of each; the `*_all` variants count them as negatives), means over
   seen and unseen words, what the app would show for the query (its default hit list), and for
   the top-5 proposals: share of music tracks with a correct word, share of proposed words that
   are clearly wrong, the most proposed word, how many speech clips got a genre and how many
   music tracks got a speech word.

    python tests/benchmarks/bench_real_music.py [--cache DIR] [--per-package 25] [--min-class 5]
                                                [--out FILE] [--db FILE] [--keep] [--only-fetch]
                                                [--windows N]

Needs: apt-get (and a package list: `apt-get update`), dpkg-deb, espeak-ng, sox
(`apt-get install espeak-ng sox`). The app code is whatever `import app` finds: run it with
PYTHONPATH pointing at a checkout to measure that checkout.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import inspect
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zsl_core.errors import ZslError

# ---------------------------------------------------------------------------------------------
# ADAPTER: the only calls into the app's API (update these when the API changes).
# ---------------------------------------------------------------------------------------------


def track_scores(lib: Any, query: str) -> dict[int, float]:
    """Every track's relevance to `query` as the app's search ranks it; tracks the search does
    not return are missing (scored -inf by the caller). Empty: the query could not be used."""
    n = max(len(lib.tracks()), 1)
    kwargs = {}
    if "floor" in inspect.signature(lib.search).parameters:
        kwargs["floor"] = float("-inf")  # the whole ranking, not only the tracks shown
    try:
        result = lib.search(query, top_k=n, **kwargs)
    except (ZslError, ValueError) as exc:  # e.g. a query with no word the model can use
        print(f"  search {query!r}: {exc}", file=sys.stderr)
        return {}
    return {int(hit.track_id): float(hit.score) for hit in result.hits}


def shown_hits(lib: Any, query: str, k: int = 20) -> list[int]:
    """The tracks the app shows for `query` (its own defaults: top k, and its floor if any)."""
    try:
        return [int(hit.track_id) for hit in lib.search(query, top_k=k).hits]
    except (ZslError, ValueError):
        return []


def proposals(lib: Any, track_id: int, k: int = 5) -> list[str]:
    """The k tags the app proposes for a track, best first."""
    if hasattr(lib, "proposals"):  # the tag-concept API: one rule, Prediction.pick
        return [tag.tag for tag in lib.proposals(track_id, top_k=k)]
    # Before it: app.journal.propose's rule: best seen, best unseen, next seen, ... no repeats.
    prediction = lib.prediction(track_id, top_k=k)
    if prediction is None:
        return []
    lists = [list(prediction.seen), list(prediction.unseen)]
    chosen: list[str] = []
    keys: set[str] = set()
    for rank in range(max(len(s) for s in lists)):
        for scores in lists:
            if rank < len(scores) and len(chosen) < k and scores[rank].tag.casefold() not in keys:
                keys.add(scores[rank].tag.casefold())
                chosen.append(scores[rank].tag)
    return chosen


def ranked_words(lib: Any, track_id: int) -> list[str]:
    """Every word the model scores for a track (seen labels and vocabulary), most confident first,
    with no proposal rule applied: what bounds any rule that picks from them."""
    from app.library import EVERY_TAG

    prediction = lib.prediction(track_id, top_k=EVERY_TAG)
    if prediction is None:
        return []
    tags = sorted([*prediction.seen, *prediction.unseen], key=lambda t: -(t.confidence or 0.0))
    return [t.tag for t in tags]


def written(lib: Any, track_id: int) -> dict[str, dict[str, list[str]]]:
    """What lands in the files' fields with the default routes (genres to GENRE, moods to MOOD):
    `cli`, what `zsl-tagger write` adds (`journal.propose`, its default values per field), and
    `gui`, what the window ticks by default (`Library.proposals` with the default routes and its
    default number per field, `TOP_WRITE`: the "Predicted tags"). One rule with one budget since
    the seventh version, so the two agree; both are kept to show it."""
    from app import journal
    from app.options import TOP_WRITE
    from app.routing import DEFAULT_ROUTES, route_tags

    ticked = lib.proposals(track_id, top_k=TOP_WRITE.default, routes=DEFAULT_ROUTES)
    return {"cli": journal.propose(lib, track_id), "gui": route_tags(ticked, DEFAULT_ROUTES)}


# ---------------------------------------------------------------------------------------------
# Words: synonyms, what a genre makes clearly wrong, what counts as a genre.
# ---------------------------------------------------------------------------------------------

# A query word matches a label when both are in one group (or are the same word).
SYNONYMS = [
    {"metal", "heavy metal"},
    {"electronic", "electronica"},
    {"orchestral", "orchestra", "symphonic"},
    {"8-bit", "chiptune"},
    {"speech", "spoken word", "spoken", "narration"},
    {"drums", "drum kit"},
    {"rock and roll", "rock n roll", "rock 'n' roll", "rock'n'roll"},
    {"french horn", "horn"},
]

# Words a label implies (added to the track's correct words).
IMPLIES = {
    "heavy metal": ["metal"],
    "metal": ["rock"],
    "electronica": ["electronic"],
    "house": ["electronic", "dance"],
    "techno": ["electronic", "dance"],
    "drum and bass": ["electronic"],
    "chiptune": ["8-bit"],
    "8-bit": ["chiptune"],
    "orchestral": ["orchestra"],
    "speech": ["spoken word", "spoken", "narration"],
    "celtic": ["folk"],
    "rock and roll": ["rock"],
}

SPEECH_WORDS = ["speech", "spoken word", "spoken", "narration"]
MUSIC_WRONG = SPEECH_WORDS  # clearly wrong for every music track

_CALM = ["calm", "quiet", "soothing", "relaxing", "meditative", "lullaby"]
_HEAVY = ["metal", "heavy metal", "hard rock", "punk"]
# For a track of this genre (the key), the words that are clearly wrong.
GENRE_WRONG = {
    "metal": _CALM
    + [
        "classical",
        "ambient",
        "new age",
        "easy listening",
        "jazz",
        "country",
        "reggae",
        "hip-hop",
        "electronic",
        "house",
        "techno",
        "trance",
        "8-bit",
        "chiptune",
    ],
    "rock": [
        "classical",
        "ambient",
        "new age",
        "reggae",
        "hip-hop",
        "electronic",
        "house",
        "techno",
        "trance",
        "opera",
        "8-bit",
        "chiptune",
    ],
    "electronic": _HEAVY
    + [
        "country",
        "folk",
        "bluegrass",
        "classical",
        "orchestral",
        "opera",
        "choir",
        "acoustic",
        "blues",
    ],
    "house": _HEAVY
    + [
        "country",
        "folk",
        "classical",
        "orchestral",
        "opera",
        "choir",
        "acoustic",
        "ambient",
        "calm",
        "quiet",
    ],
    "techno": _HEAVY
    + [
        "country",
        "folk",
        "classical",
        "orchestral",
        "opera",
        "choir",
        "acoustic",
        "calm",
        "quiet",
        "soothing",
    ],
    "ambient": _HEAVY + ["rock", "hip-hop", "aggressive", "loud", "dance", "house", "techno"],
    "orchestral": _HEAVY
    + ["rock", "hip-hop", "house", "techno", "trance", "reggae", "8-bit", "chiptune"],
    "classical": _HEAVY
    + ["rock", "hip-hop", "house", "techno", "trance", "reggae", "8-bit", "chiptune"],
    "reggae": _HEAVY + ["classical", "orchestral", "opera", "techno", "house", "ambient"],
    "jazz": _HEAVY + ["techno", "house", "trance", "8-bit", "chiptune"],
    "blues": ["techno", "house", "trance", "8-bit", "chiptune", "opera", "choir"],
    "8-bit": ["orchestral", "classical", "opera", "choir", "acoustic", "country", "folk"],
    "calm": _HEAVY + ["aggressive", "loud", "hip-hop"],
}

# Words that are genres (a speech clip must get none of them; every one is wrong for speech).
GENRE_WORDS = sorted(
    {
        "rock",
        "pop",
        "alternative rock",
        "indie",
        "electronic",
        "dance",
        "jazz",
        "metal",
        "heavy metal",
        "classic rock",
        "soul",
        "indie rock",
        "folk",
        "punk",
        "blues",
        "hard rock",
        "ambient",
        "experimental",
        "hip-hop",
        "hip hop",
        "country",
        "funk",
        "electro",
        "progressive rock",
        "r&b",
        "indie pop",
        "house",
        "classical",
        "techno",
        "new age",
        "easy listening",
        "opera",
        "reggae",
        "trance",
        "drum and bass",
        "dubstep",
        "disco",
        "electronica",
        "orchestral",
        "symphonic",
        "symphony",
        "soundtrack",
        "film score",
        "8-bit",
        "chiptune",
        "synthwave",
        "synthpop",
        "industrial",
        "grunge",
        "ska",
        "latin",
        "salsa",
        "gospel",
        "rap",
        "trap",
        "edm",
        "lounge",
        "downtempo",
        "trip hop",
        "trip-hop",
        "idm",
        "breakbeat",
        "jungle",
        "garage",
        "emo",
        "hardcore",
        "death metal",
        "black metal",
        "thrash metal",
        "power metal",
        "symphonic metal",
        "gothic metal",
        "doom metal",
        "nu metal",
        "metalcore",
        "bluegrass",
        "swing",
        "bossa nova",
        "world",
        "world music",
        "celtic",
        "flamenco",
        "baroque",
        "chamber music",
        "post-rock",
        "shoegaze",
        "new wave",
        "k-pop",
        "j-pop",
        "motown",
        "soft rock",
        "psychedelic rock",
        "garage rock",
        "surf rock",
        "rockabilly",
        "big band",
        "bebop",
        "smooth jazz",
        "fusion",
        "acid jazz",
        "lo-fi hip hop",
        "chillout",
        "chillwave",
        "vaporwave",
        "ambient techno",
        "minimal techno",
        "deep house",
        "tech house",
        "progressive house",
        "electro house",
        "eurodance",
        "hardstyle",
        "grime",
        "afrobeat",
        "dancehall",
        "dub",
        "zydeco",
        "polka",
        "tango",
        "cumbia",
        "reggaeton",
        "bachata",
        "merengue",
        "samba",
        "qawwali",
        "bhangra",
        "madchester",
        "britpop",
        "krautrock",
        "stoner rock",
        "sludge metal",
        "post-punk",
        "hardcore punk",
        "pop punk",
        "singer-songwriter",
        "americana",
        "alt-country",
        "honky tonk",
        "western swing",
        "gregorian chant",
        "romantic",
        "impressionist",
        "minimalism",
        "contemporary classical",
        "avant-garde",
        "noise",
        "musical",
        "show tunes",
        "christmas",
        "children's music",
        "lullaby",
        "march",
        "marching band",
        "military",
        "national anthem",
        "anime",
        "video game music",
        "electropop",
        "dream pop",
    }
)
INSTRUMENT_WORDS = [
    "piano",
    "guitar",
    "drums",
    "strings",
    "violin",
    "synth",
    "bass",
    "beats",
    "cello",
    "flute",
    "harp",
    "sitar",
    "harpsichord",
    "saxophone",
    "orchestra",
    "choir",
    "trumpet",
    "organ",
    "electric guitar",
    "acoustic guitar",
    "bass guitar",
]
SPEECH_WRONG = sorted(set(GENRE_WORDS) | set(INSTRUMENT_WORDS) | {"instrumental"})

# A file's own GENRE tag (lower case) -> the words it states.
GENRE_TAG_WORDS = {
    "female fronted metal": ["metal", "heavy metal", "female vocals"],
    "thrash metal": ["metal", "heavy metal"],
    "electronica": ["electronica", "electronic"],
    "electronic": ["electronic"],
    "house": ["house"],
    "rock": ["rock"],
    "reggae": ["reggae"],
    "ambient": ["ambient"],
    "orchestral": ["orchestral"],
    "classical": ["classical"],
    "classique": ["classical"],
    "ambiance": ["ambient"],  # warmux: GENRE=Ambiance, "Musique ambiance" (French: ambient music)
    "dnb": ["drum and bass"],
    "blues": ["blues"],
    "soundtrack": ["soundtrack"],
    "game soundtrack": ["soundtrack"],
    "game music": ["soundtrack"],
    "trash metal": ["metal", "heavy metal"],  # widelands: MiddleFinger's "Thrash Metal", misspelt
    "folk": ["folk"],
}

# A style the file's own name, TITLE, ALBUM or ARTIST states
# (regex on "file-stem | title | album | artist").
NAME_RULES = [
    (r"\bambient", ["ambient"]),  # naev: ambient1.ogg ...; album "Ambient Pills"
    (r"orchestra", ["orchestral"]),  # pirates_orchestra.ogg; "Airship Song Orchestral Mix"
    (
        r"8-bit|chiptune|chipdisko",
        ["8-bit", "chiptune"],
    ),  # 8-Bit-Mayhem.ogg; "Mortimer's Chipdisko"
    (r"techno", ["techno"]),  # Techno-Caper.ogg, Techno-Gameplay_Looping.ogg
    (r"\bjazz", ["jazz"]),
    (r"symphon", ["orchestral"]),  # ARTIST=Czech National Symphony Orchestra
    (r"\bflute", ["flute"]),  # warmux: "Divertissement pour flute"
    (r"medieval", ["medieval"]),  # megaglest: manolo_camp-medieval.ogg
    (r"\bblues\b", ["blues"]),
    (r"\bsorrow", ["sad"]),  # trackballs: tb_sorrow.ogg, TITLE=Sorrow
]


@dataclass
class Package:
    """One Debian package of music and what its source says about it."""

    name: str
    globs: list[str]  # the music files, relative to the extracted package
    why: str  # the evidence, quoted from apt-cache show / the files' tags
    correct: list[str]  # style words correct for every track of the package
    wrong: list[str]  # words clearly wrong for every track of the package
    download_mb: float = 0.0  # as apt-cache show says (Size), for the reader
    source: str = ""  # how results name it (default: the package name)
    min_seconds: float | None = None  # files shorter than this are skipped (default MIN_SECONDS)
    # file stem -> (the words the package's own text states for that file, the quote)
    file_words: dict[str, tuple[list[str], str]] = field(default_factory=dict)
    file_wrong: dict[str, list[str]] = field(default_factory=dict)  # file stem -> wrong words
    qt_resources: list[str] = field(default_factory=list)  # .rcc bundles to unpack (see below)
    # (zip archive relative to the package root, member folder): its audio is copied out to
    # root/zip/<member path> once and the archive deleted (see unpack_zip_audio)
    zip_audio: list[tuple[str, str]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.source or self.name


# GCompris ships its sounds inside Qt resource bundles (.rcc); `unpack_qt_resources` copies the
# audio out once. Its texts are the labels: explore_world_music's board1.qml describes each
# region's clip, instruments.js asks the child to "Find the <instrument>" for each sample.
GCOMPRIS_RCC = "usr/share/gcompris-qt/rcc"
GCOMPRIS_MUSIC = "qrc/gcompris/src/activities/explore_world_music/resource/music"
GCOMPRIS_INSTRUMENTS = "qrc/gcompris/src/activities/instruments/resource"
WORLD_MUSIC = {
    "australia": (
        ["didgeridoo"],
        "Aboriginals ... sing and play instruments, like the didgeridoo.",
    ),
    "africa": (["african", "drums"], "African music features a great variety of drums"),
    "middleeast": (["middle eastern", "lute"], "The lute is an instrument invented ..."),
    "japan": (["taiko", "drums", "loud"], "Taiko drumming comes from Japan ... It is very loud"),
    "ireland": (["celtic", "folk"], "Folk music of this region is called celtic music."),
    "italy": (["opera"], "Italy is famous for its Opera ... Opera singers"),
    "beethoven": (["classical"], "European Classical Music ... Bach, Beethoven, and Mozart"),
    "mexico": (["mariachi"], "Mariachi is a famous type of Mexican music."),
    "america": (
        ["rock and roll", "rock"],
        "most famous for rock n' roll music. This music features vocalists, guitars, and drums.",
    ),
}
# instruments.js: "Find the <name>" for each sample (flute_traversiere: "the transverse flute").
# Families: a sample is clearly not an instrument of another family (a solo violin is not a
# piano), but within a family the names overlap (a drum kit has cymbals; a guitar may be a banjo).
INSTRUMENT_FAMILIES = {
    "percussion": {
        "tambourine": ["tambourine", "percussion"],
        "snare_drum": ["snare drum", "drums", "percussion"],
        "bongo": ["bongos", "percussion"],
        "triangle": ["triangle", "percussion"],
        "cymbal": ["cymbal", "percussion"],
        "timpani": ["timpani", "percussion"],
        "maracas": ["maracas", "percussion"],
        "drum_kit": ["drums", "drum kit", "percussion"],
        "castanets": ["castanets", "percussion"],
    },
    "strings": {
        "violin": ["violin", "strings"],
        "cello": ["cello", "strings"],
    },
    "plucked": {
        "guitar": ["guitar", "acoustic guitar"],
        "electric_guitar": ["electric guitar", "guitar"],
        "banjo": ["banjo"],
        "harp": ["harp"],
    },
    "brass": {
        "trumpet": ["trumpet", "brass"],
        "horn": ["french horn", "brass"],
        "trombone": ["trombone", "brass"],
        "tuba": ["tuba", "brass"],
    },
    "woodwind": {
        "clarinet": ["clarinet"],
        "saxophone": ["saxophone"],
        "flute_traversiere": ["flute"],
    },
    "keys": {"piano": ["piano"], "organ": ["organ"]},
    "reeds": {"harmonica": ["harmonica"], "accordion": ["accordion"]},
}
# Clearly wrong for a solo acoustic sample whatever the instrument: singing, beat-driven
# electronic genres (the samples are a few seconds of one instrument, played by hand).
SOLO_WRONG = [
    "vocals",
    "singing",
    "female vocals",
    "male vocals",
    "choir",
    "techno",
    "house",
    "trance",
    "hip-hop",
    "8-bit",
    "chiptune",
    "drum and bass",
    "electronic",
    "metal",
]


def instrument_labels() -> tuple[dict[str, tuple[list[str], str]], dict[str, list[str]]]:
    """Per sample: its words (from its "Find the ..." line) and the other families' words."""
    words: dict[str, tuple[list[str], str]] = {}
    wrong: dict[str, list[str]] = {}
    for family, members in INSTRUMENT_FAMILIES.items():
        others = sorted(
            {
                w
                for f, m in INSTRUMENT_FAMILIES.items()
                if f != family
                for ws in m.values()
                for w in ws
            }
        )
        for stem, ws in members.items():
            name = "transverse flute" if stem == "flute_traversiere" else stem.replace("_", " ")
            words[stem] = (ws, f'instruments.js: "Find the {name}"')
            wrong[stem] = [*others, *SOLO_WRONG]
    for stem in INSTRUMENT_FAMILIES["plucked"]:  # a guitar or harp has strings too
        wrong[stem] = [w for w in wrong[stem] if w != "strings"]
    # an electric guitar may well be played as metal
    wrong["electric_guitar"] = [w for w in wrong["electric_guitar"] if w != "metal"]
    return words, wrong


_INSTRUMENT_WORDS, _INSTRUMENT_WRONG = instrument_labels()


PACKAGES = [
    Package(
        "marsshooter-data",
        ["usr/share/games/marsshooter/audio/music/*.ogg"],
        "apt-cache show: 'M.A.R.S is a two-dimensional space shooter game ... includes all graphics "
        "and sounds'. The files' own tags: ARTIST=Obsidian Shell on all 10 music files (albums "
        "'Elysia', 'Angelic Asylum'), GENRE=Female Fronted Metal on the four 'Elysia' tracks "
        "(Ezer Ev, Elveszett Lelkek, Vermocsar, Misanthropia): songs of one metal band.",
        ["metal", "heavy metal", "rock", "female vocals"],
        GENRE_WRONG["metal"],
        68,
    ),
    Package(
        "wizznic-data",
        [
            "usr/share/games/wizznic/data/menu-music.ogg",
            "usr/share/games/wizznic/packs/*/music/*.ogg",
        ],
        "The files' own tags: GENRE=Electronica, ARTIST=Sean Hawk on all 9 music files "
        "('7 Nights', 'Imperia', 'In Rome', 'Mysteria', 'Sexaine', 'Smash It', 'Wizz 2', 'Wizz 3', "
        "menu). apt-cache show: 'implementation of the arcade classic Puzznic (data)'.",
        ["electronica", "electronic"],
        GENRE_WRONG["electronic"],
        17,
    ),
    Package(
        "fillets-ng-data",
        ["usr/share/games/fillets-ng/music/*.ogg"],
        "apt-cache show fillets-ng and fillets-ng-data: 'Fish Fillets is strictly a puzzle game "
        "... The whole game is accompanied by quiet, comforting music.'",
        ["quiet", "calm", "soothing", "relaxing"],
        GENRE_WRONG["calm"],
        71,
    ),
    Package(
        "openclonk-data",
        ["usr/share/games/openclonk/Music.ocg/*.ogg"],
        "apt-cache show: 'multiplayer game of strategy, action and skill - data'. All 8 music files "
        "by ARTIST=Martin Strohmeier (K-Pone); their GENRE tags name one style each: House "
        "(Crushed Ice Cocktail), Reggae (Island Dreams), Ambient (Lucid Dream), Rock (Motorway, "
        "The Skylands), Orchestral (Urban Bolero); Cavern and Offshore have none. No package-wide "
        "style: the words come from each file's tag.",
        [],
        [],
        112,
    ),
    Package(
        "davegnukem-data",
        ["usr/share/games/davegnukem/music/*/*.ogg", "usr/share/games/davegnukem/music/*.ogg"],
        "The files' own tags: GENRE=Soundtrack, ARTIST=Eric Matyas on all 13 music files; the file "
        "names state a style for some: '8-Bit-Mayhem', 'Techno-Caper', 'Techno-Gameplay_Looping'. "
        "apt-cache show: 'Data files for davegnukem' (a retro platform game).",
        ["soundtrack"],
        [],
        20,
    ),
    Package(
        "naev-data",
        ["usr/share/naev/dat/snd/music/*.ogg"],
        "apt-cache show: '2D space trading and combat game, in a similar vein to Escape Velocity'. "
        "The files' own tags: ALBUM=Vega Strike Soundtrack / Naev Soundtrack on many; GENRE=Electronic "
        "on Eureka and Terminal (Askyel); ALBUM='Ambient Pills' (Zeropage: Ambiphonic, Void Sensor); "
        "file names ambient1, ambient2, ambient2_5, ambient3, ambient4; pirates_orchestra.",
        ["soundtrack"],
        [],
        350,
    ),
    Package(
        "supertux-data",
        ["usr/share/games/supertux2/music/*/*.ogg"],
        "apt-cache show: 'Classic 2D jump 'n run sidescroller with Tux (data files)'. The files' "
        "own tags: GENRE=Soundtrack / Game Soundtrack / Game music on most (ALBUM=SuperTux "
        "Soundtrack); TITLE='Airship Song Orchestral Mix', \"Mortimer's Chipdisko\".",
        ["soundtrack"],
        [],
        162,
    ),
    Package(
        "unknown-horizons",
        [
            "usr/share/unknown-horizons/content/audio/music/*.ogg",
            "usr/share/unknown-horizons/content/audio/music/menu/*.ogg",
        ],
        "apt-cache show: '2D realtime strategy simulation ... with an emphasis on economy and city "
        "building'. The files' own tags: 'Peer Gynt Suite No. 1, Op. 46 - I. Morning' has "
        "GENRE=Classical, ARTIST=Czech National Symphony Orchestra, ALBUM=Musopen Kickstarter "
        "Project; Tobias Escher's tracks (Main Theme, Gameplay 3/4, Beware the Ship's Kobold) have "
        "GENRE=Game, the rest no style. No package-wide style.",
        [],
        [],
        248,
    ),
    Package(
        "warmux-data",
        ["usr/share/games/warmux/music/ingame/*.ogg", "usr/share/games/warmux/music/menu/*.ogg"],
        "apt-cache show: 'data files for the WarMUX game ... turn-based artillery games'. The "
        "files' own tags: menu/Divertissement_pour_flute.ogg GENRE=Classique, TITLE='Divertissement "
        "pour flute' (Azzoug Lawrence); ingame/construction.ogg GENRE=Ambiance, track title "
        "'Musique ambiance No.1 Wormux', album 'Musique ambiance' (French: ambient music); "
        "diabolicux GENRE=Other; the rest (Olivier Militon, Mike Errecart, ...) no style.",
        [],
        [],
        98,
    ),
    Package(
        "freedroidrpg-data",
        ["usr/share/freedroidrpg/data/sound/music/*.ogg"],
        "apt-cache show: 'Freedroid RPG is an RPG with isometric graphics'. The files' own tags: "
        "TheBeginning.ogg GENRE=ambient (4T Thieves, ALBUM=http://www.kahvi.org); temple.ogg "
        "GENRE=dnb (Arvid Picciani); file name AmbientBattle.ogg. The rest no style.",
        [],
        [],
        228,
    ),
    Package(
        "megaglest-data",
        [
            "usr/share/games/megaglest/data/core/menu/music/*.ogg",
            "usr/share/games/megaglest/techs/megapack/factions/*/music/*.ogg",
        ],
        "apt-cache show: 'data files for MegaGlest ... many factions'. The files' own tags: "
        "factions/romans/music/romans.ogg GENRE=Classical (ARTIST=Eliminator; docs/AUTHORS.data.txt: "
        "'The Romans faction uses music tracks from Mattias Westlund's album \"Chronicles III\"'); "
        "file name factions/norsemen/music/manolo_camp-medieval.ogg. The rest no style.",
        [],
        [],
        242,
    ),
    Package(
        "starfighter-data",
        ["usr/share/starfighter/music/*.ogg"],
        "apt-cache show: '2D scrolling shooter game -- data files'. The files' own tags: "
        "frozen_jam.ogg GENRE=Blues, TITLE='Frozen Jam Seamless Loop' (tgfcoder); the rest no "
        "genre (FL Studio / LMMS encoders).",
        [],
        [],
        46,
    ),
    Package(
        "widelands-data",
        ["usr/share/games/widelands/data/music/*.ogg"],
        "apt-cache show: 'fantasy real-time strategy game (data files)'. The files' own tags: "
        "ingame_15 and ingame_17 GENRE=Trash Metal, ingame_16 GENRE=Thrash Metal (ARTIST="
        "MiddleFinger, TITLE=Widelands_01/02/03); ingame_28 GENRE=folk (Klaus Halfmann, 'The "
        "beauty of the flat lands'); ingame_18 TITLE=orchestralsample and ingame_03 "
        "TITLE=Tranquilforest (Nikola Whallon). The rest GENRE=Game / Soundtrack / Widelands or none.",
        [],
        [],
        381,
        file_words={"ingame_03": (["calm"], "TITLE=Tranquilforest (tranquil: calm)")},
    ),
    Package(
        "freedink-data",
        ["usr/share/games/dink/dink/Sound/*.ogg"],
        "apt-cache show: 'adventure and role-playing game (assets) ... free sound and music "
        "replacements'. README-REPLACEMENTS.txt: 1.ogg '\"Ave Maria\" composed by Charles Gounod', "
        "'Artist: John Michel (Cello)' (tags GENRE=Classical, ARTIST=JOHN MICHEL, CELLO); 106.ogg "
        "'Violinkonzert [Violin Concerto] e-moll, op. 64 by Felix Mendelssohn', 'Ensemble: Fulda "
        "Symphonic Orchestra', 'Violinist: Franziska Früh'; denube.ogg 'Johann Strauss II: Blue "
        "Danube. Played by Finnish orchestra Rytmi-Pojat'. 5.ogg (Ofir Mo, FluidSynth from MIDI) "
        "and lovin.ogg (Gachopin) state no style.",
        [],
        [],
        29,
        file_words={
            "1": (["cello", "strings"], "README-REPLACEMENTS.txt: 'Artist: John Michel (Cello)'"),
            "106": (
                ["classical", "violin", "strings"],
                "README-REPLACEMENTS.txt: 'Violinkonzert [Violin Concerto] e-moll, op. 64 by Felix "
                "Mendelssohn', 'Violinist: Franziska Früh'",
            ),
            "denube": (
                ["orchestral"],
                "README-REPLACEMENTS.txt: 'Blue Danube. Played by Finnish orchestra Rytmi-Pojat'",
            ),
        },
    ),
    Package(
        "supertuxkart-data",
        ["usr/share/games/supertuxkart/data/music/*.ogg"],
        "apt-cache show: '3D arcade racer ... (data)'. The files' own tags: valley.ogg "
        "GENRE=Electronic (DJ Helium, TITLE=White Valley); SkyVibe-HighFrequency GENRE=Psychedelic "
        "(not used: no clear style); klabauter_dance GENRE=Soundtrack. music/celtic.music: "
        '\'<music title = "Scottish bagpipes" ... file = "celtic.ogg" fast = "true" '
        'fast-filename = "celtic_fast.ogg"\'. The rest no style. A large download (628 MB) for '
        "three labelled tracks.",
        [],
        [],
        628,
        file_words={
            stem: (
                ["celtic", "bagpipes"],
                f'music/celtic.music: title "Scottish bagpipes", {stem}.ogg',
            )
            for stem in ("celtic", "celtic_fast")
        },
    ),
    Package(
        "0ad-data",
        ["zip/audio/music/*.ogg"],
        "apt-cache show: 'Real-time strategy game of ancient warfare (data files)'. The music is in "
        "usr/share/games/0ad/mods/public/public.zip, audio/music/; the file names are the titles, "
        "some of which state a style, an instrument or a mood: Celtic_Pride.ogg, Celtica.ogg; "
        "Taiko_1.ogg, Taiko_2.ogg (taiko: Japanese drums; gui/common/music.js: "
        "DEFAULT_BATTLE_TRACKS); 0_8Bit_Bonus_Track.ogg; Hill_of_Sorrows.ogg (TITLE='Hill of "
        "Sorrows', Omri Lahav). No "
        "genre tags. gui/credits/texts/audio.json credits many instruments (cello, celtic harp, "
        "didgeridoo, djembe, ...) but not per track, so they are not used.",
        [],
        [],
        1378,
        file_words={
            "Celtic_Pride": (["celtic"], "file name Celtic_Pride.ogg"),
            "Celtica": (["celtic"], "file name Celtica.ogg"),
            "Taiko_1": (["taiko", "drums"], "file name Taiko_1.ogg"),
            "Taiko_2": (["taiko", "drums"], "file name Taiko_2.ogg"),
            "0_8Bit_Bonus_Track": (["8-bit", "chiptune"], "file name 0_8Bit_Bonus_Track.ogg"),
        },
        zip_audio=[("usr/share/games/0ad/mods/public/public.zip", "audio/music")],
    ),
    Package(
        "trackballs-data",
        ["usr/share/games/trackballs/music/*.ogg"],
        "apt-cache show: 'data files for trackballs' (a marble game). The files' own tags: TITLE only "
        "(C64 Revival, Crazy, Eurovision Winner, Schizophrenia, Sorrow); no genre. The one mood a "
        "name states: tb_sorrow.ogg, TITLE=Sorrow (sad).",
        [],
        [],
        31,
    ),
    Package(
        "gcompris-qt-data",
        [f"{GCOMPRIS_MUSIC}/*.ogg"],
        "apt-cache show: 'data files for gcompris-qt' (educational software suite). Activity "
        "explore_world_music, resource/board/board1.qml: one clip per region with a text that "
        "states its style: australia (didgeridoo), africa (drums), middleeast (lute), japan "
        "(taiko drumming, 'very loud'), ireland ('called celtic music', folk), italy (opera), "
        "beethoven ('European Classical Music'), mexico (mariachi), america (rock n' roll). The "
        "words are the texts' own; the instruments a text calls 'typical' are not used.",
        [],
        ["speech", "spoken word"],
        72,
        source="gcompris-world-music",
        min_seconds=10.0,
        file_words=WORLD_MUSIC,
        qt_resources=["explore_world_music.rcc"],
    ),
    Package(
        "gcompris-qt-data",
        [f"{GCOMPRIS_INSTRUMENTS}/*.ogg"],
        "Activity instruments, resource/instruments.js: 27 short samples of one instrument each "
        "('Find the piano', 'Find the transverse flute', ...). Real recordings, 4-12 s: shorter "
        "than songs (the 20 s rule is lowered to 3 s here, the networks' window), so they are "
        "reported apart as well (proposals per source).",
        [],
        [],
        0,
        source="gcompris-instruments",
        min_seconds=3.0,
        file_words=_INSTRUMENT_WORDS,
        file_wrong=_INSTRUMENT_WRONG,
        qt_resources=["instruments.rcc"],
    ),
    Package(
        "berusky2-data",
        [
            "usr/share/games/berusky2/music/Piano*.ogg",
            "usr/share/games/berusky2/music/Relax*.ogg",
        ],
        "apt-cache show: 'logic game Bugs Escape 3D -- data files'. The files' own tags: "
        "GENRE=SoundTrack, ALBUM='Berušky II', ARTIST=Martin Linda (twice 'Matrin') on all 23 "
        "music files; TITLE='Piano' (Piano.ogg) and 'Piano 1' (Piano1.ogg) name the instrument, "
        "TITLE='Relax 3' ... 'Relax 7' (Relax3.ogg ... Relax7.ogg) the mood (relaxing, calm). "
        "Only these seven are "
        "used: the other 16 ('Break', 'Cool 12', 'Emotion', 'Free Mind', 'Space', 'Trip 12', "
        "'Comix 1' ... 'Comix 10') state no style beyond the soundtrack tag. A large download "
        "(560 MB, most of it not music) for seven labelled tracks.",
        [],
        [],
        560,
        file_words={
            **{
                stem: (["piano"], f"TITLE={title}")
                for stem, title in (("Piano", "Piano"), ("Piano1", "Piano 1"))
            },
            **{f"Relax{n}": (["relaxing", "calm"], f"TITLE=Relax {n}") for n in range(3, 8)},
        },
    ),
    Package(
        "krank",
        ["usr/share/games/krank/sounds/*/atmo.ogg"],
        "apt-cache show: 'game of dexterity where you match stones together'. The files' own "
        "tags: sounds/{industry,space,summer,water}/atmo.ogg GENRE=Ambient, DESCRIPTION=Ambient, "
        "TITLE=Industrie-Atmo / Space-Atmo / Summer-Atmo / Water-Atmo, ARTIST=Legoluft, "
        "ALBUM=Krank. Only these four are used: the menu loops (sounds/menu/*.ogg) have no tags.",
        [],
        [],
        58,
    ),
    Package(
        "plee-the-bear-data",
        [
            "usr/share/games/plee-the-bear/music/sequencer/*/guitar.ogg",
            "usr/share/games/plee-the-bear/music/sequencer/*/bass.ogg",
        ],
        "apt-cache show: 'data for Plee the Bear' (a platform game). music/sequencer/ holds the "
        "parts of its play-along mini-game, each with its notes beside it: bonus/guitar.ogg and "
        "title-screen/guitar.ogg (sequencer-guitar-track.txt), title-screen/bass.ogg "
        "(sequencer-bass-track.txt), the backing tracks back.ogg / atmosphere.ogg state no "
        "instrument and are not used. No tags.",
        [],
        [],
        32,
        file_words={
            "guitar": (["guitar"], "music/sequencer/*/guitar.ogg, sequencer-guitar-track.txt"),
            "bass": (["bass"], "music/sequencer/title-screen/bass.ogg, sequencer-bass-track.txt"),
        },
    ),
]

SPEECH_CORRECT = ["speech", "spoken word", "spoken", "narration"]
DEEPER_K = (10, 20)  # proposal list lengths also reported (evaluate_proposals)
CEILING_K = (5, 20, 100)  # the model's own top words, no rule: where its correct words rank
NO_AUDIO_CUE = ["soundtrack"]  # what a piece was written for, not a sound (see evaluate_proposals)

# (voice, words per minute, pitch, text): texts written for this benchmark.
SPEECH_CLIPS = [
    (
        "en-us",
        165,
        50,
        "The river begins as a thin thread of water high in the hills, where the snow lingers long "
        "after spring has reached the valleys. It gathers strength as it falls, joined by streams "
        "from every side, until it becomes wide and slow enough to carry boats. Farmers along its "
        "banks have measured the seasons by its moods for centuries, watching it swell in the autumn "
        "rains and shrink to a quiet murmur in the heat of late summer.",
    ),
    (
        "en-gb-x-rp",
        150,
        40,
        "The lighthouse on the northern cape was built in the year the old harbour closed. For more "
        "than a hundred years a keeper climbed its narrow stairs every evening to trim the wick and "
        "polish the great lens. Ships passing in the night saw its beam sweep across the water once "
        "every twelve seconds, and sailors learned to count the interval as carefully as they counted "
        "the stars. Today the light is automatic, and the cottage has become a small museum.",
    ),
    (
        "en-us+f3",
        185,
        60,
        "Good morning. Here is the forecast for the coming week. Tomorrow will begin cloudy with "
        "patches of fog along the coast, clearing by midday to leave a bright and mild afternoon. On "
        "Wednesday a band of rain moves in from the west, heavy at times in the hills, with winds "
        "strengthening overnight. Thursday and Friday look cooler and showery, and the weekend should "
        "be mostly dry, with temperatures close to the seasonal average and a light northerly breeze.",
    ),
    (
        "en-gb-scotland",
        155,
        45,
        "To make the bread, mix the flour and salt in a large bowl and make a well in the centre. "
        "Dissolve the yeast in warm water with a spoonful of honey, pour it into the flour, and stir "
        "until a rough dough forms. Knead it on a floured table for ten minutes, until it feels smooth "
        "and springy. Leave it covered in a warm place for an hour, shape it into a loaf, let it rise "
        "again, and bake it in a hot oven for about forty minutes.",
    ),
    (
        "en-us+m3",
        140,
        35,
        "When the last train had gone, the station master locked the ticket office and sat down on "
        "the bench beneath the clock. It was a still night, and he could hear the wind moving through "
        "the fields beyond the tracks. He thought about the letter in his pocket, the one he had "
        "carried unopened for three days. At last he took it out, turned it over twice in his hands, "
        "and read the name written on the back.",
    ),
    (
        "en-029",
        130,
        50,
        "In today's lecture we will look at how bees find their way home. A worker bee may fly several "
        "kilometres from the hive in search of flowers, yet she returns with remarkable precision. She "
        "uses the position of the sun as a compass, correcting for its movement across the sky, and "
        "she remembers landmarks such as trees and hedges.",
    ),
    (
        "en-gb+f2",
        175,
        65,
        "The town council met on Tuesday evening to discuss plans for the new library. Members agreed "
        "that the present building, which dates from the nineteen fifties, is too small for the "
        "growing number of visitors and too costly to heat. Two sites are under consideration, one "
        "near the market square and one beside the park. A public meeting will be held next month, and "
        "residents are invited to send their comments to the council offices before the end of the year.",
    ),
    (
        "en-us-nyc",
        200,
        50,
        "Leave the car park by the gate at the far end and follow the path along the stream. After "
        "about half a mile you will come to a wooden bridge. Do not cross it, but turn left and climb "
        "the steps up through the woods. At the top, where the trees open out, you will see a stone "
        "wall with a stile. Cross the stile and keep the wall on your right until you reach the farm, "
        "where the path joins the lane that leads back down to the village and the old church.",
    ),
    (
        "de+m2",
        150,
        45,
        "Am Rande des Dorfes stand eine alte Mühle, deren Rad sich seit vielen Jahren nicht mehr "
        "drehte. Im Sommer spielten die Kinder dort am Bach, fingen kleine Fische und bauten Dämme aus "
        "Steinen und Zweigen. Der Müller war längst fortgezogen, doch die Leute erzählten noch immer "
        "Geschichten von ihm, von seinem freundlichen Lachen und von dem Brot, das er jeden Sonntag an "
        "die Nachbarn verteilte.",
    ),
    (
        "fr-fr+f4",
        160,
        55,
        "Chaque matin, le boulanger ouvrait sa boutique avant le lever du soleil. L'odeur du pain chaud "
        "se répandait dans la rue étroite, et les premiers passants s'arrêtaient devant la vitrine pour "
        "regarder les croissants dorés. Il connaissait tous ses clients par leur nom et savait ce que "
        "chacun allait demander. Le dimanche, il préparait aussi des tartes aux pommes, que les enfants "
        "du quartier attendaient toute la semaine avec impatience.",
    ),
    (
        "es",
        165,
        50,
        "El pequeño puerto despertaba muy temprano. Los pescadores preparaban sus redes mientras las "
        "gaviotas volaban en círculos sobre los barcos. Cuando el sol asomaba por encima de las "
        "colinas, las primeras embarcaciones ya se alejaban de la costa. Por la tarde regresaban "
        "cargadas de peces, y las familias esperaban en el muelle para ayudar a descargar. Después, "
        "todos se reunían en la plaza para conversar hasta la llegada de la noche.",
    ),
    (
        "it+f1",
        155,
        60,
        "Nel centro della vecchia città c'è una piazza circondata da case colorate e da un antico "
        "campanile. Ogni mattina il mercato riempie la piazza di voci, di frutta fresca e di fiori. Gli "
        "anziani siedono all'ombra degli alberi e parlano del tempo e dei raccolti, mentre i bambini "
        "corrono tra le bancarelle. Verso mezzogiorno i venditori cominciano a chiudere, e la piazza "
        "torna lentamente tranquilla.",
    ),
    (
        "nl",
        160,
        40,
        "Langs het kanaal staan rijen hoge, smalle huizen met grote ramen. In de zomer varen er kleine "
        "bootjes onder de bruggen door, en op de kades zitten mensen in de zon te praten. In de winter, "
        "als het hard vriest, schaatsen kinderen soms over het ijs, en ruikt het in de straten naar "
        "warme chocolademelk. De stad is oud, maar elke generatie heeft er iets nieuws aan toegevoegd.",
    ),
    (
        "pt+m7",
        150,
        45,
        "A pequena aldeia fica no alto da serra, onde o vento sopra quase todos os dias. As casas são "
        "de pedra e os telhados de ardósia escura. Na primavera, os campos enchem-se de flores amarelas "
        "e as ovelhas pastam nas encostas. Os moradores conhecem bem o caminho até ao rio, e no verão "
        "descem até lá para se refrescarem na água fria. À noite, reúnem-se junto à lareira.",
    ),
]

# Query words: seen ones are labels of the built-in model (SEEN_LABELS), unseen ones are not.
SEEN_QUERIES = [
    "metal",
    "rock",
    "electronic",
    "dance",
    "techno",
    "house",
    "ambient",
    "quiet",
    "classical",
    "blues",
    "flute",
    "folk",
    "opera",
    "piano",
    "guitar",
    "violin",
    "strings",
    "drums",
    "sad",
]
UNSEEN_QUERIES = [
    "heavy metal",
    "electronica",
    "orchestral",
    "symphonic",
    "soundtrack",
    "chiptune",
    "8-bit",
    "calm",
    "soothing",
    "relaxing",
    "drum and bass",
    "medieval",
    "percussion",
    "brass",
    "trumpet",
    "saxophone",
    "accordion",
    "organ",
    "celtic",
    "speech",
    "spoken word",
    "narration",
]

# Words a listener types (moods above all) whose reach is reported without labels: how many tracks
# the search shows (above its relevance floor) and the highest relevance any track gets.
REACH_WORDS = [
    "sad",
    "happy",
    "beautiful",
    "mellow",
    "chill",
    "party",
    "sexy",
    "catchy",
    "calm",
    "relaxing",
    "aggressive",
    "energetic",
    "epic",
    "dark",
    "romantic",
    "melancholic",
    "uplifting",
]

MIN_SECONDS = 20.0
MAX_SPEECH_SECONDS = 38.0
MIN_CLASS = 5  # a query needs at least this many positives and negatives to be scored (--min-class)
AUDIO_SUFFIXES = {".ogg", ".mp3", ".flac", ".opus", ".wav"}
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "real_music.json"


# ---------------------------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------------------------


def key(word: str) -> str:
    return " ".join(word.casefold().replace("_", " ").split())


def group(word: str) -> set[str]:
    """The word and its synonyms."""
    w = key(word)
    for g in SYNONYMS:
        if w in g:
            return set(g)
    return {w}


def closure(words: Iterable[str]) -> set[str]:
    """The words, what they imply, and their synonyms."""
    todo = [key(w) for w in words]
    out: set[str] = set()
    while todo:
        w = todo.pop()
        if w in out:
            continue
        out.add(w)
        todo.extend(key(x) for x in IMPLIES.get(w, []))
        todo.extend(group(w) - out)
    return out


@dataclass
class Track:
    path: Path
    source: str  # package name, or "speech"
    duration: float
    correct: set[str]
    wrong: set[str]
    evidence: list[str] = field(default_factory=list)
    link: Path | None = None
    track_id: int | None = None

    @property
    def is_speech(self) -> bool:
        return self.source == "speech"

    @property
    def id(self) -> int:
        """`track_id` of a track in the library (those the scan missed are dropped after it)."""
        assert self.track_id is not None, self.path
        return self.track_id


def file_tags(path: Path) -> tuple[float, dict[str, str]]:
    import mutagen

    try:
        audio = mutagen.File(str(path), easy=True)
    except Exception:  # an unreadable file is skipped by the caller
        return 0.0, {}
    if audio is None:
        return 0.0, {}
    tags = {}
    for name in ("genre", "title", "album", "artist"):
        try:
            values = audio.tags.get(name) if audio.tags else None
        except (KeyError, ValueError):
            values = None
        if values:
            tags[name] = str(values[0]).strip()
    return float(getattr(audio.info, "length", 0.0) or 0.0), tags


def per_file_words(path: Path, tags: dict[str, str]) -> tuple[list[str], list[str]]:
    """Style words the file's own tags or name state, and the evidence for each."""
    words, evidence = [], []
    genre = key(tags.get("genre", ""))
    if genre in GENRE_TAG_WORDS:
        words += GENRE_TAG_WORDS[genre]
        evidence.append(f"GENRE={tags['genre']}")
    text = " | ".join(
        [path.stem, tags.get("title", ""), tags.get("album", ""), tags.get("artist", "")]
    ).casefold()
    for pattern, rule_words in NAME_RULES:
        if re.search(pattern, text):
            words += rule_words
            evidence.append(f"name/title/album matches {pattern!r}")
    return words, evidence


def synonyms(words: Iterable[str]) -> set[str]:
    """The words and their synonyms (not what they imply: "metal" wrong is not "rock" wrong)."""
    out: set[str] = set()
    for w in words:
        out |= group(w)
    return out


def wrong_for(words: Iterable[str]) -> set[str]:
    """What GENRE_WRONG makes clearly wrong for a track labelled with these words."""
    out: set[str] = set()
    for w in closure(words):
        out |= {key(x) for x in GENRE_WRONG.get(w, [])}
    return out


def label_music(
    package: Package, path: Path, tags: dict[str, str]
) -> tuple[set[str], set[str], list[str]]:
    """A music file's correct words, clearly wrong words, and the evidence of its own words."""
    extra, evidence = per_file_words(path, tags)
    stated, quote = package.file_words.get(path.stem, ([], ""))
    if stated:
        extra = [*extra, *stated]
        evidence.append(quote)
    correct = closure(package.correct + extra)
    wrong = synonyms(
        [
            *package.wrong,
            *MUSIC_WRONG,
            *wrong_for(package.correct + extra),
            *package.file_wrong.get(path.stem, []),
        ]
    )
    return correct, wrong - correct, evidence


# ---------------------------------------------------------------------------------------------
# Fetching
# ---------------------------------------------------------------------------------------------


def run(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def fetch_package(name: str, cache: Path) -> tuple[Path | None, str | None, str]:
    """Extracted root of the package (downloaded and unpacked once), its version, and a note."""
    root = cache / "pkg" / name
    done = root / ".extracted"
    if done.exists():
        return root, done.read_text().strip() or None, "cached"
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{name}_*.deb"))
    if not found:
        if shutil.which("apt-get") is None:
            return None, None, "no apt-get on this machine"
        proc = run(["apt-get", "download", name], cwd=debs)
        found = sorted(debs.glob(f"{name}_*.deb"))
        if proc.returncode != 0 or not found:
            tail = (proc.stdout or "").strip().splitlines()[-1:] or [""]
            return None, None, f"apt-get download failed ({tail[0]}; run 'apt-get update'?)"
    deb = found[-1]
    version = run(["dpkg-deb", "-f", str(deb), "Version"]).stdout.strip()
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    proc = run(["dpkg-deb", "-x", str(deb), str(root)])
    if proc.returncode != 0:
        return None, None, f"dpkg-deb -x failed: {proc.stdout.strip()[-200:]}"
    done.write_text(version + "\n")
    deb.unlink()  # the extracted tree is the cache; the .deb is not needed again
    return root, version, f"downloaded {deb.name}"


def unpack_qt_resources(root: Path, bundles: list[str]) -> str:
    """Copy the audio inside Qt resource bundles (`root/GCOMPRIS_RCC/<bundle>`) to `root/qrc/`,
    once per bundle. Reads them with QtCore's QResource (PySide6 is an app dependency)."""
    from PySide6.QtCore import QDirIterator, QFile, QIODevice, QResource

    copied = 0
    for bundle in bundles:
        done = root / "qrc" / f".{bundle}.unpacked"
        if done.exists():
            continue
        rcc = root / GCOMPRIS_RCC / bundle
        if not QResource.registerResource(str(rcc)):
            return f"cannot read {rcc}"
        walk = QDirIterator(":/", QDirIterator.IteratorFlag.Subdirectories)
        while walk.hasNext():
            name = walk.next()
            if Path(name).suffix.lower() not in AUDIO_SUFFIXES:
                continue
            source = QFile(name)
            if not source.open(QIODevice.OpenModeFlag.ReadOnly):
                continue
            target = root / "qrc" / name.lstrip(":/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(bytes(source.readAll().data()))
            copied += 1
        QResource.unregisterResource(str(rcc))
        done.parent.mkdir(parents=True, exist_ok=True)
        done.write_text("")
    return f"unpacked {copied} files" if copied else "unpacked (cached)"


def unpack_zip_audio(root: Path, archives: list[tuple[str, str]]) -> str:
    """Copy the audio files under `folder` inside each zip archive (`root/<archive>`) to
    `root/zip/<member path>`, once per archive; then delete the archive (0 A.D.'s public.zip is
    3.2 GB, of which the music is 0.2 GB; the copied files and a marker are the cache)."""
    import zipfile

    copied = 0
    for archive, folder in archives:
        done = root / "zip" / f".{Path(archive).name}.unpacked"
        if done.exists():
            continue
        path = root / archive
        if not path.exists():
            return f"no {archive} in the package"
        with zipfile.ZipFile(path) as bundle:
            for member in bundle.infolist():
                name = member.filename
                if not name.startswith(folder.rstrip("/") + "/") or member.is_dir():
                    continue
                if Path(name).suffix.lower() not in AUDIO_SUFFIXES or ".." in Path(name).parts:
                    continue
                target = root / "zip" / name
                target.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(member) as source, target.open("wb") as out:
                    shutil.copyfileobj(source, out)
                copied += 1
        done.parent.mkdir(parents=True, exist_ok=True)
        done.write_text("")
        path.unlink()
    return f"unzipped {copied} files" if copied else "unzipped (cached)"


def choose(candidates: list[Track], cap: int, package: Package) -> list[Track]:
    """Deterministic: files whose own tags/name add a style word beyond the package's first
    (sorted by path), then evenly spaced picks over the rest of the sorted list."""
    candidates = sorted(candidates, key=lambda t: str(t.path))
    if len(candidates) <= cap:
        return candidates
    base = closure(package.correct)
    special = [t for t in candidates if t.correct - base][:cap]
    rest = [t for t in candidates if t not in special]
    need = cap - len(special)
    picks = [rest[int(i * len(rest) / need)] for i in range(need)] if need > 0 else []
    return sorted(special + picks, key=lambda t: str(t.path))


def collect_music(cache: Path, per_package: int, log: list[dict]) -> list[Track]:
    tracks: list[Track] = []
    for package in PACKAGES:
        t0 = time.perf_counter()
        root, version, note = fetch_package(package.name, cache)
        if root is not None and package.qt_resources:
            note += "; " + unpack_qt_resources(root, package.qt_resources)
        if root is not None and package.zip_audio:
            note += "; " + unpack_zip_audio(root, package.zip_audio)
        entry: dict[str, Any] = {
            "package": package.name,
            "source": package.label,
            "version": version,
            "fetch": note,
            "download_mb_approx": package.download_mb,
            "why": package.why,
            "correct": sorted(closure(package.correct)),
            "wrong": sorted(
                synonyms([*package.wrong, *MUSIC_WRONG, *wrong_for(package.correct)])
                - closure(package.correct)
            ),
        }
        if root is None:
            print(f"  {package.label}: SKIPPED, {note}", file=sys.stderr)
            entry.update(candidates=0, chosen=0, short=0)
            log.append(entry)
            continue
        files = sorted(
            {
                Path(p)
                for g in package.globs
                for p in glob.glob(str(root / g))
                if Path(p).suffix.lower() in AUDIO_SUFFIXES and Path(p).is_file()
            }
        )
        candidates, short = [], 0
        min_seconds = MIN_SECONDS if package.min_seconds is None else package.min_seconds
        for path in files:
            duration, tags = file_tags(path)
            if duration < min_seconds:
                short += 1
                continue
            correct, wrong, evidence = label_music(package, path, tags)
            candidates.append(Track(path, package.label, duration, correct, wrong, evidence))
        chosen = choose(candidates, per_package, package)
        entry.update(
            candidates=len(candidates),
            chosen=len(chosen),
            short=short,
            seconds=round(time.perf_counter() - t0, 1),
        )
        log.append(entry)
        print(
            f"  {package.label} {version or ''}: {len(files)} files, {short} under {min_seconds:.0f} s, "
            f"{len(chosen)} chosen ({note})"
        )
        tracks += chosen
    return tracks


def make_speech(cache: Path, log: dict) -> list[Track]:
    folder = cache / "speech"
    folder.mkdir(parents=True, exist_ok=True)
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        log["error"] = "espeak-ng or sox missing (apt-get install espeak-ng sox): no speech clips"
        print(f"  {log['error']}", file=sys.stderr)
        return []
    tracks = []
    for n, (voice, wpm, pitch, text) in enumerate(SPEECH_CLIPS):
        digest = hashlib.sha1(f"{voice}|{wpm}|{pitch}|{text}".encode()).hexdigest()[:10]
        suffix = ".ogg" if n % 2 else ".wav"
        target = (
            folder / f"speech_{n:02d}_{re.sub(r'[^a-z0-9]+', '-', voice.lower())}_{digest}{suffix}"
        )
        if not target.exists():
            raw = folder / f".raw_{digest}.wav"
            proc = run(
                ["espeak-ng", "-v", voice, "-s", str(wpm), "-p", str(pitch), "-w", str(raw), text]
            )
            if proc.returncode != 0 or not raw.exists():
                print(f"  espeak-ng {voice}: {proc.stdout.strip()[-200:]}", file=sys.stderr)
                continue
            tmp = target.with_name(".tmp_" + target.name)
            proc = run(["sox", str(raw), str(tmp), "trim", "0", str(MAX_SPEECH_SECONDS)])
            raw.unlink(missing_ok=True)
            if proc.returncode != 0:
                print(f"  sox {voice}: {proc.stdout.strip()[-200:]}", file=sys.stderr)
                continue
            tmp.rename(target)
        duration, _ = file_tags(target)
        tracks.append(
            Track(
                target,
                "speech",
                duration,
                closure(SPEECH_CORRECT),
                synonyms(SPEECH_WRONG) - closure(SPEECH_CORRECT),
                [f"espeak-ng -v {voice} -s {wpm} -p {pitch}"],
            )
        )
    log.update(
        clips=len(tracks),
        durations=[round(t.duration, 1) for t in tracks],
        voices=[c[0] for c in SPEECH_CLIPS],
    )
    short = [t.path.name for t in tracks if t.duration < MIN_SECONDS]
    if short:
        print(f"  warning: speech clips under {MIN_SECONDS:.0f} s: {short}", file=sys.stderr)
    return tracks


# ---------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------


def roc_auc(pos: list[float], neg: list[float]) -> float:
    """P(score of a random positive > a random negative), ties counting one half."""
    values = sorted([(s, 1) for s in pos] + [(s, 0) for s in neg], key=lambda x: x[0])
    ranks: list[float] = [0.0] * len(values)
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1][0] == values[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        i = j + 1
    rank_sum = sum(r for r, (_, label) in zip(ranks, values, strict=True) if label)
    n_pos, n_neg = len(pos), len(neg)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def average_precision(pos: list[float], neg: list[float]) -> float:
    """AP of the ranking by score, ties broken against the positives (pessimistic)."""
    ranked = sorted([(s, 1) for s in pos] + [(s, 0) for s in neg], key=lambda x: (-x[0], x[1]))
    hits, total = 0, 0.0
    for rank, (_, label) in enumerate(ranked, 1):
        if label:
            hits += 1
            total += hits / rank
    return total / max(len(pos), 1)


def matches(word: str, labels: set[str]) -> bool:
    return bool(group(word) & labels)


def evaluate_query(
    lib: Any,
    word: str,
    kind: str,
    tracks: list[Track],
    seen_labels: set[str],
    min_class: int = MIN_CLASS,
) -> dict:
    pos_t = [t for t in tracks if matches(word, t.correct)]
    neg_t = [t for t in tracks if not matches(word, t.correct) and matches(word, t.wrong)]
    other_t = [t for t in tracks if t not in pos_t and t not in neg_t]
    row: dict[str, Any] = {
        "word": word,
        "kind": kind,
        "model_seen": key(word) in seen_labels,
        "positives": len(pos_t),
        "negatives": len(neg_t),
        "unlabelled": len(other_t),
        "positive_sources": dict(Counter(t.source for t in pos_t)),
    }
    if len(pos_t) < min_class or len(neg_t) < min_class:
        row["skipped"] = f"needs >= {min_class} positives and negatives"
        if pos_t:  # too few to score, but where they land is still worth seeing
            scores = track_scores(lib, word)
            order = sorted(tracks, key=lambda t: -scores.get(t.id, -math.inf))
            shown = set(shown_hits(lib, word))
            row["positive_ranks"] = [
                {
                    "source": t.source,
                    "file": t.path.name,
                    "rank": order.index(t) + 1,
                    "of": len(tracks),
                    "shown": t.track_id in shown,
                }
                for t in pos_t
            ]
        return row
    scores = track_scores(lib, word)
    row["word_unknown"] = not scores
    s = {t.id: scores.get(t.id, -math.inf) for t in tracks}
    pos, neg, other = ([s[t.id] for t in group_] for group_ in (pos_t, neg_t, other_t))
    row.update(
        auc=round(roc_auc(pos, neg), 4),
        ap=round(average_precision(pos, neg), 4),
        auc_all=round(roc_auc(pos, neg + other), 4),
        ap_all=round(average_precision(pos, neg + other), 4),
        ap_random=round(len(pos) / (len(pos) + len(neg)), 4),
    )
    ranked = sorted(tracks, key=lambda t: -s[t.id])[:5]
    row["top5"] = [
        {
            "source": t.source,
            "file": t.path.name,
            "verdict": "correct" if t in pos_t else "wrong" if t in neg_t else "-",
        }
        for t in ranked
    ]
    shown_ids = shown_hits(lib, word)
    by_id = {t.track_id: t for t in tracks}
    shown_t = [by_id[i] for i in shown_ids if i in by_id]
    n_pos = sum(t in pos_t for t in shown_t)
    n_neg = sum(t in neg_t for t in shown_t)
    row.update(
        shown=len(shown_t),
        shown_correct=n_pos,
        shown_wrong=n_neg,
        shown_precision=round(n_pos / (n_pos + n_neg), 4) if n_pos + n_neg else None,
    )
    return row


def reach(lib: Any, word: str, n_tracks: int) -> dict:
    """How many tracks the search shows for `word` (above its floor) and the best relevance."""
    ranked = track_scores(lib, word)
    try:
        shown = len(lib.search(word, top_k=n_tracks).hits)
    except (ZslError, ValueError):
        shown = 0
    best = max(ranked.values()) if ranked else None
    return {"word": word, "shown": shown, "of": n_tracks, "best": round(best, 4) if best else best}


def mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def evaluate_written(lib: Any, tracks: list[Track]) -> dict:
    """Per way of writing (cli, gui) and field: how many music tracks get a value, how many of the
    values the sources can judge are correct, how many are clearly wrong, the commonest values;
    and how many speech clips get a mood."""
    music = [t for t in tracks if not t.is_speech]
    speech = [t for t in tracks if t.is_speech]
    per_track = {t.id: written(lib, t.id) for t in tracks}
    report: dict[str, Any] = {}
    for way in ("cli", "gui"):
        fields = sorted({f for t in music for f in per_track[t.id][way]})
        out: dict[str, Any] = {}
        for name in fields:
            values = [(t, [key(v) for v in per_track[t.id][way].get(name, [])]) for t in music]
            right = sum(1 for t, vs in values for v in vs if matches(v, t.correct))
            wrong = sum(
                1
                for t, vs in values
                for v in vs
                if matches(v, t.wrong) and not matches(v, t.correct)
            )
            counts = Counter(v for _, vs in values for v in vs)
            out[name] = {
                "music_tracks_with_a_value": sum(1 for _, vs in values if vs),
                "values": sum(len(vs) for _, vs in values),
                "judged": right + wrong,
                "judged_correct": round(right / (right + wrong), 4) if right + wrong else None,
                "clearly_wrong": wrong,
                "commonest": counts.most_common(8),
            }
        out["speech_with_a_mood"] = sum(1 for t in speech if per_track[t.id][way].get("mood"))
        report[way] = out
    return report


def evaluate_proposals(lib: Any, tracks: list[Track]) -> dict:
    per_track = []
    for t in tracks:
        props = [key(p) for p in proposals(lib, t.id, 5)]
        per_track.append((t, props))
    music = [(t, p) for t, p in per_track if not t.is_speech]
    speech = [(t, p) for t, p in per_track if t.is_speech]
    genre_set = {key(w) for w in GENRE_WORDS}

    def wrong_share(items: list[tuple[Track, list[str]]]) -> float | None:
        n = sum(len(p) for _, p in items)
        bad = sum(
            1 for t, p in items for w in p if matches(w, t.wrong) and not matches(w, t.correct)
        )
        return round(bad / n, 4) if n else None

    labelled = [(t, p) for t, p in music if t.correct]
    with_correct = sum(1 for t, p in labelled if any(matches(w, t.correct) for w in p))
    # How far down the proposals' own order the correct words are: what no reordering of the top
    # 5 can reach (the list ends where the proposal floor does).
    longer = {t.id: [key(w) for w in proposals(lib, t.id, max(DEEPER_K))] for t, _ in labelled}
    deeper = {
        k: round(
            sum(1 for t, _ in labelled if any(matches(w, t.correct) for w in longer[t.id][:k]))
            / len(labelled),
            4,
        )
        for k in DEEPER_K
        if labelled
    }
    # Tracks whose source states something a listener can hear: "soundtrack" says what a piece
    # was written for, not how it sounds, so a track labelled only that is reported apart too.
    audible = [(t, p) for t, p in labelled if closure(t.correct) - closure(NO_AUDIO_CUE)]
    audible_correct = sum(1 for t, p in audible if any(matches(w, t.correct) for w in p))
    # The model's ceiling: a correct word among its K most confident words of all it scores (about
    # 1,200), before any proposal rule; no rule that picks 5 of them does better than K=5 ... 100.
    ranked = {
        t.id: [key(w) for w in ranked_words(lib, t.id)[: max(CEILING_K)]] for t, _ in labelled
    }

    def ceiling(items: list[tuple[Track, list[str]]]) -> dict[str, float]:
        return {
            str(k): round(
                sum(1 for t, _ in items if any(matches(w, t.correct) for w in ranked[t.id][:k]))
                / len(items),
                4,
            )
            for k in CEILING_K
            if items
        }

    # Of the proposed words the sources can judge (correct or clearly wrong), the share correct:
    # most proposals are neither (the sources say little), which the top-5 figure hides.
    judged_right = sum(1 for t, p in music for w in p if matches(w, t.correct))
    judged_wrong = sum(
        1 for t, p in music for w in p if matches(w, t.wrong) and not matches(w, t.correct)
    )
    counts = Counter(w for _, p in music for w in set(p))
    top_word, top_n = counts.most_common(1)[0] if counts else (None, 0)
    by_source: dict[str, Counter] = {}
    for t, p in per_track:
        by_source.setdefault(t.source, Counter()).update(set(p))
    correct_by_source: dict[str, list[int]] = {}
    for t, p in labelled:
        hit = correct_by_source.setdefault(t.source, [0, 0])
        hit[0] += any(matches(w, t.correct) for w in p)
        hit[1] += 1
    speech_genre = [t.path.name for t, p in speech if any(w in genre_set for w in p)]
    music_speechy = [
        f"{t.source}/{t.path.name}"
        for t, p in music
        if any(matches(w, closure(SPEECH_CORRECT)) for w in p)
    ]
    speech_non_speech = [
        t.path.name for t, p in speech if any(not matches(w, t.correct) for w in p)
    ]
    return {
        "k": 5,
        "music_tracks": len(music),
        "music_tracks_with_a_label": len(labelled),
        "music_with_correct_in_top5": round(with_correct / len(labelled), 4) if labelled else None,
        "music_with_correct_in_top_k": deeper,
        "music_with_an_audible_label": len(audible),
        "audible_with_correct_in_top5": (
            round(audible_correct / len(audible), 4) if audible else None
        ),
        "model_top_k_labelled": ceiling(labelled),
        "model_top_k_audible": ceiling(audible),
        "proposals_judged": judged_right + judged_wrong,
        "proposals_judged_correct": (
            round(judged_right / (judged_right + judged_wrong), 4)
            if judged_right + judged_wrong
            else None
        ),
        "wrong_share_music": wrong_share(music),
        "wrong_share_speech": wrong_share(speech),
        "wrong_share_all": wrong_share(per_track),
        "most_proposed": top_word,
        "most_proposed_share_of_music_tracks": round(top_n / len(music), 4) if music else None,
        "top10_proposed_music": counts.most_common(10),
        "distinct_words_music": len(counts),
        "music_with_a_speech_word": len(music_speechy),
        "music_with_a_speech_word_files": music_speechy,
        "speech_clips": len(speech),
        "speech_with_genre": len(speech_genre),
        "speech_with_a_non_speech_word": len(speech_non_speech),
        "speech_with_speech_word": sum(
            1 for t, p in speech if any(matches(w, t.correct) for w in p)
        ),
        "top3_per_source": {src: c.most_common(3) for src, c in by_source.items()},
        "correct_in_top5_per_source": {
            src: f"{hit}/{n}" for src, (hit, n) in correct_by_source.items()
        },
        "per_track": [
            {
                "source": t.source,
                "file": t.path.name,
                "proposals": p,
                "correct": [w for w in p if matches(w, t.correct)],
                "wrong": [w for w in p if matches(w, t.wrong) and not matches(w, t.correct)],
            }
            for t, p in per_track
        ],
    }


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def app_identity() -> dict:
    import app

    folder = Path(app.__file__).resolve().parent.parent
    commit = run(["git", "-C", str(folder), "rev-parse", "HEAD"]).stdout.strip() or None
    dirty = run(
        ["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"]
    ).stdout.strip()
    return {"app_file": str(Path(app.__file__).resolve()), "commit": commit, "dirty": bool(dirty)}


def link_tracks(tracks: list[Track], folder: Path) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    for n, t in enumerate(tracks):
        sub = folder / t.source
        sub.mkdir(parents=True, exist_ok=True)
        link = sub / f"{n:03d}_{t.path.name}"
        os.symlink(t.path, link)
        t.link = link


def print_report(result: dict) -> None:
    q = result["queries"]
    print(
        "\nquery                kind    model  pos  neg   AUC     AP    AUC*   AP*  shown ok/wrong"
    )
    for row in q["rows"]:
        if "skipped" in row:
            print(
                f"{row['word']:<20} {row['kind']:<7} {'seen' if row['model_seen'] else 'new':<5} "
                f"{row['positives']:>4} {row['negatives']:>4}   skipped: {row['skipped']}"
            )
            ranks = row.get("positive_ranks", [])
            if 0 < len(ranks) <= 3:
                print(
                    " " * 22
                    + "; ".join(
                        f"{r['file']} ranked {r['rank']} of {r['of']}"
                        + (", shown" if r["shown"] else ", not shown")
                        for r in ranks
                    )
                )
            continue
        flag = "  (word unknown)" if row["word_unknown"] else ""
        print(
            f"{row['word']:<20} {row['kind']:<7} {'seen' if row['model_seen'] else 'new':<5} "
            f"{row['positives']:>4} {row['negatives']:>4} {row['auc']:6.3f} {row['ap']:6.3f} "
            f"{row['auc_all']:6.3f} {row['ap_all']:6.3f} {row['shown']:>4} "
            f"{row['shown_correct']}/{row['shown_wrong']}{flag}"
        )
    m = q["means"]
    print(
        f"\nmean ROC-AUC  seen {m['seen_auc']}  unseen {m['unseen_auc']}   "
        f"mean AP  seen {m['seen_ap']}  unseen {m['unseen_ap']}   (* = unlabelled tracks as negatives)"
    )
    print("worst queries by AUC: " + ", ".join(f"{w} {a}" for w, a in q["worst5"]))
    p = result["proposals"]
    print(
        f"\nproposals (top {p['k']}): music tracks with a correct word {p['music_with_correct_in_top5']} "
        f"(of {p['music_tracks_with_a_label']} labelled); clearly wrong words: music "
        f"{p['wrong_share_music']}, speech {p['wrong_share_speech']}, all {p['wrong_share_all']}"
    )
    print(
        f"  tracks whose source states an audible word (not only {', '.join(NO_AUDIO_CUE)}): "
        f"{p['audible_with_correct_in_top5']} of {p['music_with_an_audible_label']}; proposed "
        f"words the sources judge: {p['proposals_judged']}, of them correct "
        f"{p['proposals_judged_correct']}; a correct word in the top "
        + ", ".join(f"{k}: {v}" for k, v in p.get("music_with_correct_in_top_k", {}).items())
    )
    print(
        "the model's own top words, no rule (labelled; audible): "
        + ", ".join(
            f"top {k} {v} ; {p['model_top_k_audible'].get(k)}"
            for k, v in p.get("model_top_k_labelled", {}).items()
        )
    )
    print(
        f"most proposed: {p['most_proposed']!r} on {p['most_proposed_share_of_music_tracks']} of music "
        f"tracks; {p['distinct_words_music']} distinct words; top: "
        + ", ".join(f"{w} {n}" for w, n in p["top10_proposed_music"])
    )
    print(
        f"speech clips: {p['speech_with_genre']} of {p['speech_clips']} got a genre, "
        f"{p['speech_with_speech_word']} got a speech word; music tracks given a speech word: "
        f"{p['music_with_a_speech_word']}"
    )
    per_source = p.get("correct_in_top5_per_source", {})
    for src, top in p["top3_per_source"].items():
        hit = f"correct {per_source[src]:>5}" if src in per_source else " " * 13
        print(f"  {src:<22} {hit}  " + ", ".join(f"{w} {n}" for w, n in top))
    for way, fields in result.get("written", {}).items():
        print(f"written by default ({way}):")
        for name, f in fields.items():
            if name == "speech_with_a_mood":
                print(f"  speech clips given a mood: {f}")
                continue
            print(
                f"  {name}: {f['music_tracks_with_a_value']} music tracks, {f['values']} values, "
                f"judged {f['judged']} (correct {f['judged_correct']}), clearly wrong "
                f"{f['clearly_wrong']}; " + ", ".join(f"{w} {n}" for w, n in f["commonest"])
            )
    print("\nreach (tracks the search shows above its floor, of all; best relevance):")
    print(
        "  " + ", ".join(f"{r['word']} {r['shown']} ({r['best']})" for r in result.get("reach", []))
    )
    t = result["timings_s"]
    print(
        f"\n{result['counts']['music']} music tracks + {result['counts']['speech']} speech clips; "
        f"fetch {t['fetch']} s, scan {t['scan']} s, scoring {t['score']} s, total {t['total']} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path("/tmp/zsl-real-music"),
        help="where downloaded packages and speech clips are kept (default %(default)s)",
    )
    parser.add_argument("--per-package", type=int, default=25, help="tracks per package at most")
    parser.add_argument(
        "--min-class",
        type=int,
        default=MIN_CLASS,
        help="positives and negatives a query needs to be scored (default %(default)s)",
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="JSON result (default %(default)s)"
    )
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        help="library index to use (default: a temporary one); "
        "an existing one rescans incrementally",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary library and its folder"
    )
    parser.add_argument(
        "--only-fetch", action="store_true", help="fetch packages and make speech, then stop"
    )
    parser.add_argument(
        "--windows",
        type=int,
        default=None,
        help="3-s windows per track (default: the app's; 0: the whole track); "
        "use a fresh --db: an existing library keeps what it analysed",
    )
    args = parser.parse_args(argv)

    t_start = time.perf_counter()
    args.cache.mkdir(parents=True, exist_ok=True)
    print(f"fetching into {args.cache}")
    package_log: list[dict] = []
    speech_log: dict = {}
    music = collect_music(args.cache, args.per_package, package_log)
    speech = make_speech(args.cache, speech_log)
    t_fetch = time.perf_counter() - t_start
    print(f"{len(music)} music tracks, {len(speech)} speech clips ({t_fetch:.0f} s)")
    if args.only_fetch:
        return 0
    tracks = music + speech
    if not music:
        print("no music could be fetched", file=sys.stderr)
        return 2

    identity = app_identity()
    dirty = ", dirty" if identity["dirty"] else ""
    print(f"app code: {identity['app_file']} (commit {identity['commit']}{dirty})")
    from app.library import Library

    work = (
        Path(tempfile.mkdtemp(prefix="zsl-real-music-"))
        if args.db is None
        else args.db.resolve().parent
    )
    db_path = args.db.resolve() if args.db else work / "library.sqlite3"
    folder = work / "tracks"
    link_tracks(tracks, folder)
    t0 = time.perf_counter()
    lib = Library(db_path)
    try:
        summary = lib.scan([folder], n_windows=args.windows)
        t_scan = time.perf_counter() - t0
        print(
            f"scanned in {t_scan:.0f} s: "
            + ", ".join(
                f"{name} {getattr(summary, name)}"
                for name in ("scanned", "unchanged")
                if isinstance(getattr(summary, name, None), int)
            )
        )
        for t in tracks:
            t.track_id = lib.track_id(t.link) if t.link is not None else None
        missing = [t for t in tracks if t.track_id is None]
        failed = [row.display_path for row in lib.tracks() if row.status != "ok"]
        if missing or failed:
            print(f"  not in the library: {len(missing)}; failed: {failed[:5]}", file=sys.stderr)
        tracks = [t for t in tracks if t.track_id is not None]
        music = [t for t in tracks if not t.is_speech]

        t0 = time.perf_counter()
        seen_labels = {key(w) for w in lib.tagger.seen_labels}
        rows = [
            evaluate_query(lib, w, "seen", tracks, seen_labels, args.min_class)
            for w in SEEN_QUERIES
        ]
        rows += [
            evaluate_query(lib, w, "unseen", tracks, seen_labels, args.min_class)
            for w in UNSEEN_QUERIES
        ]
        props = evaluate_proposals(lib, tracks)
        writes = evaluate_written(lib, tracks)
        reaches = [reach(lib, w, len(tracks)) for w in REACH_WORDS]
        t_score = time.perf_counter() - t0
    finally:
        lib.close()
        if args.db is None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    scored = [r for r in rows if "auc" in r]
    means = {
        f"{kind}_{m}": mean([r[m] for r in scored if r["kind"] == kind])
        for kind in ("seen", "unseen")
        for m in ("auc", "ap", "auc_all", "ap_all")
    }
    means["shown_precision"] = mean(
        [r["shown_precision"] for r in scored if r["shown_precision"] is not None]
    )
    means["shown_wrong_total"] = sum(r["shown_wrong"] for r in scored)
    result = {
        "benchmark": "real_music",
        "app": identity,
        "options": {
            "per_package": args.per_package,
            "min_seconds": MIN_SECONDS,
            "min_class": args.min_class,
            "windows": args.windows,
            "cache": str(args.cache),
            "python": sys.version.split()[0],
        },
        "counts": {
            "music": len(music),
            "speech": len(tracks) - len(music),
            "per_source": dict(Counter(t.source for t in tracks)),
        },
        "packages": package_log,
        "speech": speech_log,
        "queries": {
            "rows": rows,
            "means": means,
            "worst5": sorted(((r["word"], r["auc"]) for r in scored), key=lambda x: x[1])[:5],
            "skipped": [r["word"] for r in rows if "skipped" in r],
        },
        "proposals": props,
        "written": writes,
        "reach": reaches,
        "tracks": [
            {
                "source": t.source,
                "file": t.path.name,
                "seconds": round(t.duration, 1),
                "correct": sorted(t.correct),
                "wrong": sorted(t.wrong),
                "evidence": t.evidence,
            }
            for t in tracks
        ],
        "timings_s": {
            "fetch": round(t_fetch, 1),
            "scan": round(t_scan, 1),
            "score": round(t_score, 1),
            "total": round(time.perf_counter() - t_start, 1),
        },
        "work_folder": str(work) if (args.keep or args.db) else None,
    }
    print_report(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
