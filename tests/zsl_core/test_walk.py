"""The one audio-folder walker (the scan and `zsl-core embed`): bytes paths, each folder and
file once, depth first in name order, unreadable folders recorded and skipped."""

from __future__ import annotations

import os

from zsl_core.inference import expand_audio_paths
from zsl_core.walk import is_audio_name, walk_audio


def _touch(path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")


def test_walk_lists_audio_once_in_name_order_through_links(tmp_path):
    root = tmp_path / "music"
    for name in ("b.mp3", "a/z.flac", "a/y.txt", "c.MP3", "._c.mp3", "a/deep/x.ogg"):
        _touch(root / name)
    os.symlink(root / "a", root / "link")  # a second way into a/: entered once
    os.symlink(root / "b.mp3", root / "d-again.mp3")  # the same file twice: listed once
    os.symlink(root / "nowhere.mp3", root / "broken.mp3")
    raw = os.fsencode(root)
    found = walk_audio([raw, os.fsencode(tmp_path / "missing")], keep_other=lambda n: n == b"y.txt")
    names = [os.path.relpath(f.path, raw) for f in found.files]
    assert names == [b"b.mp3", b"c.MP3", b"a/z.flac", b"a/deep/x.ogg"]  # files, then folders
    assert found.roots == [raw] and found.others == [os.path.join(raw, b"a", b"y.txt")]
    reasons = dict(found.skipped)
    assert reasons[os.fsencode(tmp_path / "missing")] == "not found"
    assert "another link" in reasons[os.path.join(raw, b"link")]
    assert not is_audio_name(b"._c.mp3") and is_audio_name(b"x.Opus")


def test_embed_lists_folders_sorted_by_the_same_walker(tmp_path):
    root = tmp_path / "music"
    for name in ("b.mp3", "a/z.flac", "a/deep/x.ogg", "._a.mp3"):
        _touch(root / name)
    listed = expand_audio_paths([root, tmp_path / "gone.wav"])
    assert listed == [
        str(root / "a" / "deep" / "x.ogg"),
        str(root / "a" / "z.flac"),
        str(root / "b.mp3"),
        str(tmp_path / "gone.wav"),  # a missing path stays: it fails later with its reason
    ]
