"""Build the folder the README's command-line example runs on, from the real-music cache.

The README shows real output of `zsl-tagger scan`, `search`, `tags`, `write` and `undo` on a small
folder of real music, and its screenshots are of the same folder (`packaging/screenshots.py
--folder`, the command in its docstring); this script makes that folder again, so both can be
rerun:

* `Obsidian Shell/`: three marsshooter-data songs (the metal band's own files),
* `Sean Hawk/`: three wizznic-data tracks, named "ARTIST - TITLE.ogg" from their own tags,
* `Fish Fillets/`: three fillets-ng-data pieces ("quiet, comforting music"),
* `Naev/`: agriculture.ogg and two more naev-data pieces,
* `Spoken/`: two espeak-ng readings (river.ogg, lighthouse.wav),
* `broken/`: an empty `.mp3`, a text file named `.flac`, the first 20,000 bytes of an `.ogg`.

`--sad` makes the README's second folder instead: trackballs-data's pieces (one is titled
"Sorrow") and marsshooter-data's songs.

The packages come from the benchmark's cache (`bench_real_music.py --only-fetch` fills it; nothing
is downloaded here). Files are copied, not linked: the example writes tags into them.

    python tests/benchmarks/bench_real_music.py --only-fetch
    python tests/benchmarks/make_demo_library.py ~/Music
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import mutagen
import soundfile as sf

CACHE = Path("/tmp/zsl-real-music")
PKG = "pkg"
MARS = "marsshooter-data/usr/share/games/marsshooter/audio/music"
WIZZNIC = "wizznic-data/usr/share/games/wizznic/packs"
FILLETS = "fillets-ng-data/usr/share/games/fillets-ng/music"
NAEV = "naev-data/usr/share/naev/dat/snd/music"
TRACKBALLS = "trackballs-data/usr/share/games/trackballs/music"
SPOKEN = {
    "river.ogg": "The river runs slowly past the old mill. In the evening the water turns grey, and "
    "the people of the village walk along its banks, talking about the day.",
    "lighthouse.wav": "The lighthouse stands on the rocks at the end of the bay. Every night its "
    "keeper climbs the stairs, lights the lamp and writes the weather in a book.",
}


def _files(root: Path, folder: str, pattern: str = "*.ogg") -> list[Path]:
    found = sorted((root / folder).glob(pattern))
    if not found:
        raise SystemExit(
            f"{root / folder}: no {pattern}; fill the cache first: "
            "python tests/benchmarks/bench_real_music.py --only-fetch"
        )
    return found


def _copy(files: list[Path], folder: Path, names: list[str] | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, path in enumerate(files):
        shutil.copyfile(path, folder / (names[i] if names else path.name))


def _tag(path: Path, key: str) -> str:
    audio = mutagen.File(path)
    values = (audio.tags or {}).get(key) if audio is not None else None
    return str(values[0]) if values else path.stem


def _speak(text: str, out: Path) -> None:
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is missing (apt-get install espeak-ng)")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", "en-gb", "-w", str(raw), text], check=True)
        data, rate = sf.read(raw)
        sf.write(out, data, rate)  # the suffix picks the format: .ogg is Vorbis


def make_demo(out: Path, cache: Path) -> None:
    root = cache / PKG
    _copy(_files(root, MARS)[:3], out / "Obsidian Shell")
    songs = _files(root, WIZZNIC, "*/music/*.ogg")[:3]
    _copy(
        songs, out / "Sean Hawk", [f"{_tag(p, 'artist')} - {_tag(p, 'title')}.ogg" for p in songs]
    )
    _copy(_files(root, FILLETS)[:3], out / "Fish Fillets")
    naev = _files(root, NAEV)
    _copy([naev[0], *naev[1:3]], out / "Naev")  # agriculture.ogg sorts first
    (out / "Spoken").mkdir(parents=True, exist_ok=True)
    for name, text in SPOKEN.items():
        _speak(text, out / "Spoken" / name)
    broken = out / "broken"
    broken.mkdir(parents=True, exist_ok=True)
    (broken / "empty.mp3").write_bytes(b"")
    (broken / "notes.flac").write_text("not music, only a note\n", encoding="utf-8")
    (broken / "truncated.ogg").write_bytes(naev[3].read_bytes()[:20_000])


def make_sad(out: Path, cache: Path) -> None:
    root = cache / PKG
    _copy(_files(root, TRACKBALLS), out / "Trackballs")
    _copy(_files(root, MARS), out / "Obsidian Shell")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path, help="the folder to make (must not exist)")
    parser.add_argument("--cache", type=Path, default=CACHE, help="default %(default)s")
    parser.add_argument("--sad", action="store_true", help="the README's 'sad' folder instead")
    args = parser.parse_args(argv)
    if args.out.exists():
        print(f"{args.out}: exists; give a new folder", file=sys.stderr)
        return 2
    (make_sad if args.sad else make_demo)(args.out, args.cache)
    print(f"made {args.out}: {sum(1 for p in args.out.rglob('*') if p.is_file())} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
