"""Screenshots of the real window for the README: docs/screenshots/{main,search,tagging,
write_preview,albums}.png.

    xvfb-run -a python packaging/screenshots.py          # a virtual X display
    python packaging/screenshots.py                      # no display: Qt's offscreen platform

A folder of music is scanned with the built-in model, searched, a value of one's own typed for
a few selected tracks, and the write previewed with one row unticked (and cancelled: nothing is
written); then the Library tab is switched to the album view with an album selected (its
proposals in the panel, and a value typed for the album). Each view is grabbed with
QWidget.grab().

The music: `--folder DIR` is copied into a temporary folder and that copy is scanned (nothing in
DIR is written to); without it, a small folder of tagged synthetic tracks (tones, chords, noise;
titles, artists, a cover) is generated. `--select`, `--tag` and `--album` pick the rows shown by
their title (default: the first ones), `--own` and `--album-own` the values typed.

The README's images show real music: the folder `tests/benchmarks/make_demo_library.py` builds
from the real-music benchmark's cache (game music from Debian packages, two spoken texts, three
damaged files; never committed). They were made with

    python tests/benchmarks/bench_real_music.py --only-fetch
    python tests/benchmarks/make_demo_library.py /tmp/demo/Music
    xvfb-run -a -s "-screen 0 1400x900x24" python packaging/screenshots.py \\
        --folder /tmp/demo/Music --query "heavy metal" --select Orphanage \\
        --tag Imperia --tag "In Rome" --tag "7 Days" --own Soundtrack \\
        --album "Angelic Asylum" --album-own "Female Fronted Metal"

When the scan has failures, main.png shows the log (View > Log) with their reasons.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MAX_BYTES = 300_000
SR = 22050

# title, artist, album, genre, kind of sound
TRACKS = [
    ("Morning Light", "The Quiet Rooms", "Still Water", "ambient", "pad"),
    ("Glass Bells", "The Quiet Rooms", "Still Water", "", "bells"),
    ("Engine Room", "Rust Belt", "Heavy Industry", "rock", "noise"),
    ("Low Tide", "Marina Vale", "Coastlines", "", "bass"),
    ("Pulse Train", "Circuit Lab", "Signals", "electronic", "pulse"),
    ("Slow Waltz", "Marina Vale", "Coastlines", "", "chord"),
    ("Night Drive", "Circuit Lab", "Signals", "", "sweep"),
    ("Static Garden", "Rust Belt", "Heavy Industry", "", "crackle"),
]


def synth(kind: str, seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    if kind == "pad":
        x = sum(np.sin(2 * np.pi * f * t) for f in (220, 277.2, 329.6)) * (
            0.6 + 0.4 * np.sin(2 * np.pi * 0.2 * t)
        )
    elif kind == "bells":
        x = np.zeros_like(t)
        for start in np.arange(0, seconds, 0.5):
            env = np.where(t >= start, np.exp(-(t - start) * 4), 0)
            x += env * np.sin(2 * np.pi * rng.choice([880, 1175, 1318]) * t)
    elif kind == "noise":
        x = rng.standard_normal(t.size) * (0.5 + 0.5 * (np.sin(2 * np.pi * 2 * t) > 0))
    elif kind == "bass":
        x = np.sin(2 * np.pi * 55 * t) + 0.5 * np.sin(2 * np.pi * 110 * t)
    elif kind == "pulse":
        x = np.sign(np.sin(2 * np.pi * 4 * t)) * np.sin(
            2 * np.pi * 440 * t
        ) + 0.3 * rng.standard_normal(t.size)
    elif kind == "chord":
        x = sum(np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0)) * np.exp(-(t % 1.5) * 2)
    elif kind == "sweep":
        x = np.sin(2 * np.pi * (100 + 900 * t / seconds) * t)
    else:
        x = (rng.random(t.size) < 0.01) * rng.standard_normal(t.size) * 3
    x = np.asarray(x, dtype=np.float32)
    return 0.5 * x / max(float(np.abs(x).max()), 1e-6)


def cover_png(color: str) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QColor, QImage, QPainter

    image = QImage(300, 300, QImage.Format.Format_RGB32)
    image.fill(QColor(color))
    painter = QPainter(image)
    painter.setPen(QColor("white"))
    font = painter.font()
    font.setPointSize(40)
    painter.setFont(font)
    painter.drawText(image.rect(), Qt.AlignmentFlag.AlignCenter, "♪")
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # PySide6 wants str here; its stub says bytes (bytes raises ValueError)
    return bytes(data.data())


def make_library_folder(folder: Path, seconds: float) -> None:
    import soundfile as sf
    from mutagen.flac import FLAC, Picture

    folder.mkdir(parents=True, exist_ok=True)
    colors = {
        "Still Water": "#4a6fa5",
        "Heavy Industry": "#8c3b2e",
        "Coastlines": "#2e7d6b",
        "Signals": "#6b3fa0",
    }
    covers = {album: cover_png(color) for album, color in colors.items()}
    for i, (title, artist, album, genre, kind) in enumerate(TRACKS):
        path = folder / f"{i + 1:02d} {title}.flac"
        sf.write(str(path), synth(kind, seconds, i), SR, format="FLAC", subtype="PCM_16")
        tags = FLAC(str(path))
        tags["title"], tags["artist"], tags["album"] = title, artist, album
        tags["tracknumber"] = str(i + 1)
        if genre:
            tags["genre"] = genre
        picture = Picture()
        picture.type, picture.mime, picture.data = 3, "image/png", covers[album]
        tags.add_picture(picture)
        tags.save()


def spin_until(app, condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshots: timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.02)


def settle(app, seconds: float = 0.5) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def save(widget, path: Path) -> None:
    pixmap = widget.grab()
    pixmap.save(str(path), "PNG")
    width = pixmap.width()
    while path.stat().st_size > MAX_BYTES and width > 600:
        width = int(width * 0.85)
        pixmap.scaledToWidth(width).save(str(path), "PNG")
    print(f"{path}: {pixmap.width()}x{pixmap.height()}, {path.stat().st_size // 1024} KB")


def copy_folder(folder: Path, into: Path) -> None:
    """A copy of the music to scan: the scan reads it and the cancelled write preview never
    touches it, but nothing in `folder` is ever opened for writing either way. Links are
    followed (their files copied), dangling ones left out."""
    if not folder.is_dir():
        raise SystemExit(f"screenshots: {folder}: not a folder")
    shutil.copytree(folder, into, copy_function=shutil.copyfile, ignore_dangling_symlinks=True)


def row_of(view, title: str | None, default: int = 0) -> int:
    """The view's row whose first column (Title) reads `title` (case-insensitive); `default`
    without a title."""
    model = view.model()
    if title is None:
        return default
    titles = [str(model.index(r, 0).data() or "") for r in range(model.rowCount())]
    for row, text in enumerate(titles):
        if text.casefold() == title.casefold():
            return row
    raise SystemExit(f"screenshots: no track titled {title!r}; the titles: {', '.join(titles)}")


def shoot(app, window, args: argparse.Namespace, music: Path, out: Path) -> None:
    """Scan `music` in `window`, then grab each view into `out`."""
    from PySide6.QtCore import QItemSelectionModel, Qt

    window.resize(1360, 820)
    window.show()
    spin_until(app, lambda: window.loaded, 60, "the library")
    window.add_folder(str(music))
    spin_until(
        app, lambda: window.last_scan is not None and not window.is_scanning(), 1800, "the scan"
    )
    summary = window.last_scan
    n = summary.scanned + summary.unchanged + len(summary.failed)  # failed files have rows
    if n == 0:
        raise SystemExit(f"screenshots: no music found in {args.folder or music}")
    spin_until(
        app,
        lambda: (
            # every row's proposals read (a row a default write adds nothing to stays empty)
            window.track_model.rowCount() == n and len(window.lib.proposed) >= n
        ),
        300,
        "the predicted tags",
    )

    def select(view, rows: list[int]) -> None:
        selection = view.selectionModel()
        selection.clearSelection()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        selection.setCurrentIndex(
            view.model().index(rows[0], 0), flags | QItemSelectionModel.SelectionFlag.Current
        )
        for row in rows[1:]:
            selection.select(view.model().index(row, 0), flags)
        view.scrollTo(view.model().index(rows[0], 0))

    window.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    select(window.table, [row_of(window.table, args.select)])
    spin_until(app, lambda: window.panel.tag_items(), 60, "the track panel")
    if summary.failed:  # the status bar sends the reader to View > Log: open it, as they would
        window.log_view.show()
        window.resizeDocks([window.log_view], [110], Qt.Orientation.Vertical)
    settle(app, 1.0)  # the cover arrives from its own worker
    save(window, out / "main.png")
    window.log_view.hide()

    window.search_edit.setText(args.query)
    spin_until(
        app,
        lambda: window.last_search is not None and window.last_search[0] == args.query,
        60,
        "search",
    )
    if window.search_view.model().rowCount():
        select(window.search_view, [0])
        spin_until(app, lambda: window.panel.tag_items(), 60, "the track panel")
    settle(app, 1.0)
    save(window, out / "search.png")

    window.search_edit.clear()
    tagged = (
        [row_of(window.table, title) for title in args.tag]
        if args.tag
        else list(range(min(4, window.table.model().rowCount())))
    )
    select(window.table, tagged)
    window.panel.set_field("")  # each kind to its own field (the default)
    spin_until(app, lambda: window.panel.tag_items(), 60, "the track panel")
    window.panel.add_value("genre", args.own)  # a value of one's own...
    window.panel.all_selected.setChecked(True)  # ...into every selected track
    settle(app, 0.5)
    save(window, out / "tagging.png")
    window.write_selected()
    spin_until(
        app,
        lambda: window.preview_dialog is not None and window.preview_dialog.isVisible(),
        60,
        "the write preview",
    )
    preview = window.preview_dialog
    assert preview is not None  # waited for just above
    preview.resize(980, 360)
    rows = preview.table.rowCount()
    if rows > 1:  # the preview can be changed before writing: a row left alone
        preview.set_row_checked(rows - 1, False)
    settle(app, 0.5)
    save(preview, out / "write_preview.png")
    preview.reject()  # nothing is written
    settle(app, 0.3)

    albums = window.albums
    albums.show_view("albums")
    spin_until(app, lambda: albums.model.rowCount() > 0, 60, "the albums")
    records = [a for a in albums.album_rows() if a.is_album]  # not an artist's singles
    if not records:
        raise SystemExit("screenshots: no track has an album tag")
    spin_until(
        app,
        lambda: len(window.album_library.proposed) >= len(records),  # each one's proposals
        300,
        "the album tags",
    )
    albums.view.expandAll()
    album = records[0]
    if args.album is not None:
        named = [a for a in records if a.display_title.casefold() == args.album.casefold()]
        if not named:
            titles = ", ".join(a.display_title for a in records)
            raise SystemExit(f"screenshots: no album {args.album!r}; the albums: {titles}")
        album = named[0]
    albums.select_album(album.key)
    albums.view.scrollTo(albums.view.currentIndex())
    spin_until(app, lambda: window.panel.tag_items(), 60, "the album in the panel")
    window.panel.add_value("genre", args.album_own)  # a value typed for the whole record
    settle(app, 1.0)  # its cover
    save(window, out / "albums.png")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument(
        "--folder", type=Path, help="a folder of music to show (copied first; default: synthetic)"
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each generated track")
    parser.add_argument("--query", default="electronic")
    parser.add_argument("--select", metavar="TITLE", help="the track shown in main.png")
    parser.add_argument(
        "--tag",
        metavar="TITLE",
        action="append",
        help="a track selected in tagging.png (repeat; the first is the one in the panel; "
        "default: the first four)",
    )
    parser.add_argument("--own", default="Shoegaze", help="the genre typed in tagging.png")
    parser.add_argument("--album", metavar="TITLE", help="the album selected in albums.png")
    parser.add_argument("--album-own", default="Dream pop", help="the genre typed for the album")
    args = parser.parse_args(argv)
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from app.gui import create_app
    from app.gui.main_window import MainWindow
    from app.gui.settings import Settings

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    app = create_app()
    with tempfile.TemporaryDirectory(prefix="zsl-shots-") as tmp:
        work = Path(tmp)
        music = work / "Music"
        if args.folder is not None:
            copy_folder(args.folder, music)
        else:
            make_library_folder(music, args.seconds)
        window = MainWindow(Settings(work / "settings.ini"), db_path=work / "library.sqlite3")
        try:
            shoot(app, window, args, music, out)
        finally:
            window.close()  # its threads stopped, also when a wait timed out
    return 0


if __name__ == "__main__":
    sys.exit(main())
