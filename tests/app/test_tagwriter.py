"""The tag writer's contract across formats: plan/apply/restore semantics, refusals (changed
since, read-only, locked), damaged inputs left byte-identical, the payload guard, temp files."""

from __future__ import annotations

import fcntl
import os
import stat
import time
from pathlib import Path

import audio_factory
import pytest
from test_id3 import tagged_mp3, tagged_wave
from test_mp4 import tagged_m4a
from test_vorbis import tagged_vorbis

from app.options import WriteMode
from app.tagformats import TagError, WriteOptions, open_tags
from app.tagformats.vorbis import VorbisFormat
from app.tagwriter import (
    TEMP_SUFFIX,
    Change,
    apply_change,
    cleanup_temp_files,
    is_temp_file,
    merge_values,
    plan_write,
    read_field,
    read_fields,
    restore,
)

FIELDS = ("genre", "mood", "grouping", "comment", "custom:Energy")


def make(tmp_path: Path, kind: str) -> Path:
    """One richly tagged file of each kind the writer supports."""
    builders = {
        "mp3": lambda: tagged_mp3(tmp_path / "a.mp3"),
        "mp3v23": lambda: tagged_mp3(tmp_path / "b.mp3", version=3),
        "flac": lambda: tagged_vorbis(tmp_path / "a.flac", "flac"),
        "ogg": lambda: tagged_vorbis(tmp_path / "a.ogg", "ogg"),
        "opus": lambda: tagged_vorbis(tmp_path / "a.opus", "opus"),
        "wav": lambda: tagged_wave(tmp_path / "a.wav"),
        "aiff": lambda: tagged_wave(tmp_path / "a.aiff"),
        "m4a": lambda: tagged_m4a(tmp_path / "a.m4a"),
        "alac": lambda: tagged_m4a(tmp_path / "b.m4a", "alac"),
    }
    return builders[kind]()


KINDS = ("mp3", "mp3v23", "flac", "ogg", "opus", "wav", "aiff", "m4a", "alac")


def options_for(kind: str) -> WriteOptions:
    return WriteOptions(id3_version=3 if kind == "mp3v23" else 4)


def everything(path: Path) -> list:
    """All tags of a file as mutagen sees them, order-insensitive."""
    tags = open_tags(path).audio.tags
    assert tags is not None, f"{path} has no tags"
    return sorted(repr(item) for item in tags.items())


def test_merge_values() -> None:
    assert merge_values(["Rock", "jazz"], ["JAZZ", "Blues", "blues"]) == ["Rock", "jazz", "Blues"]
    assert merge_values([], []) == []


def test_plan_reads_only(tmp_path: Path) -> None:
    path = make(tmp_path, "flac")
    before = path.read_bytes()
    merged = plan_write(path, "genre", [" Blues ", "", "jazz\x00"], "merge")
    assert merged == Change(path, "genre", ["Jazz"], ["Jazz", "Blues"])
    replaced = plan_write(path, "genre", ["Blues", "blues"], "replace")
    assert replaced.new == ["Blues"] and replaced.changed
    assert path.read_bytes() == before
    with pytest.raises(ValueError):
        plan_write(path, "genre", ["x"], "append")  # type: ignore[arg-type]  # refused at run time
    with pytest.raises(ValueError):
        plan_write(path, "title", ["x"])


def test_read_fields(tmp_path: Path) -> None:
    path = make(tmp_path, "mp3")
    assert read_fields(path) == {
        "genre": ["Jazz"],
        "mood": ["mellow"],
        "grouping": [],
        "comment": ["old comment"],
    }


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_every_field(tmp_path: Path, kind: str) -> None:
    path = make(tmp_path, kind)
    options = options_for(kind)
    original = everything(path)
    results = []
    modes: list[WriteMode] = ["merge", "replace"] * 3
    for mode, field in zip(modes, FIELDS, strict=False):
        change = plan_write(path, field, ["Sad Piano", "rainy"], mode, options)
        results.append(apply_change(change, options))
        assert results[-1].written, results[-1].message
        assert read_field(path, field, options) == change.new
    for result in reversed(results):
        undo = restore(path, result.field, result.old, result.new, options)
        assert undo.ok and undo.written, undo.message
    assert everything(path) == original


def test_unchanged_write_leaves_file_alone(tmp_path: Path) -> None:
    path = make(tmp_path, "ogg")
    before, mtime = path.read_bytes(), path.stat().st_mtime_ns
    result = apply_change(plan_write(path, "genre", ["jazz"], "merge"))
    assert result.ok and not result.written and "unchanged" in result.message
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime


def test_apply_refuses_when_changed_since_plan(tmp_path: Path) -> None:
    path = make(tmp_path, "m4a")
    change = plan_write(path, "genre", ["Ambient"], "replace")
    assert restore(path, "genre", ["Someone Else"], None).written
    before = path.read_bytes()
    result = apply_change(change)
    assert not result.ok and "changed by someone else" in (result.error or "")
    assert path.read_bytes() == before


def test_undo_refuses_when_changed_since(tmp_path: Path) -> None:
    path = make(tmp_path, "mp3")
    done = apply_change(plan_write(path, "mood", ["calm"], "replace"))
    assert restore(path, "mood", ["edited by hand"], None).written
    before = path.read_bytes()
    undo = restore(path, "mood", done.old, done.new)
    assert not undo.ok and "changed by someone else" in (undo.error or "")
    assert path.read_bytes() == before
    assert read_field(path, "mood") == ["edited by hand"]


def test_keeps_mode_and_updates_mtime(tmp_path: Path) -> None:
    path = make(tmp_path, "flac")
    os.chmod(path, 0o640)
    old = time.time() - 3600
    os.utime(path, (old, old))
    assert restore(path, "genre", ["x"], None).written
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.stat().st_mtime > old + 1800


def test_symlink_is_followed_and_kept(tmp_path: Path) -> None:
    target = make(tmp_path, "ogg")
    link = tmp_path / "link.ogg"
    link.symlink_to(target)
    assert restore(link, "genre", ["x"], None).written
    assert link.is_symlink() and read_field(target, "genre") == ["x"]


def test_read_only_file_is_reported_not_forced(tmp_path: Path) -> None:
    path = make(tmp_path, "mp3")
    before = path.read_bytes()
    os.chmod(path, 0o444)
    result = restore(path, "genre", ["x"], None)
    assert not result.ok and "read-only" in (result.error or "")
    assert path.read_bytes() == before and list(tmp_path.iterdir()) == [path]


def test_read_only_folder_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    path = tagged_vorbis(folder / "a.flac", "flac")
    before = path.read_bytes()
    os.chmod(folder, 0o555)
    try:
        result = restore(path, "genre", ["x"], None)
    finally:
        os.chmod(folder, 0o755)
    assert not result.ok and "folder is read-only" in (result.error or "")
    assert path.read_bytes() == before


def test_locked_file_is_reported(tmp_path: Path) -> None:
    path = make(tmp_path, "wav")
    before = path.read_bytes()
    with open(path, "rb") as other_program:
        fcntl.flock(other_program, fcntl.LOCK_EX)
        result = restore(path, "genre", ["x"], None)
    assert not result.ok and "locked" in (result.error or "")
    assert path.read_bytes() == before


def _damaged(tmp_path: Path) -> dict[str, Path]:
    """Every kind of bad input we promise to survive, as files in tmp_path."""
    bad: dict[str, Path] = {}
    random = os.urandom(20000)
    for suffix in (".mp3", ".flac", ".ogg", ".opus", ".m4a", ".wav", ".aiff"):
        bad[f"random{suffix}"] = tmp_path / f"random{suffix}"
        bad[f"random{suffix}"].write_bytes(random)
        bad[f"empty{suffix}"] = tmp_path / f"empty{suffix}"
        bad[f"empty{suffix}"].write_bytes(b"")
    (tmp_path / "good").mkdir()
    for kind in ("mp3", "flac", "ogg", "opus", "wav", "aiff", "m4a"):
        good = make(tmp_path / "good", kind)
        data = good.read_bytes()
        for cut in (0.3, 0.8):
            path = tmp_path / f"cut{int(cut * 100)}_{kind}{good.suffix}"
            path.write_bytes(data[: int(len(data) * cut)])
            bad[path.name] = path
    text = tmp_path / "notes.mp3"
    text.write_text("not audio at all\n" * 100)
    bad["text.mp3"] = text
    # an ID3 header claiming a tag far longer than the file
    tag_too_long = tmp_path / "tag_too_long.mp3"
    tag_too_long.write_bytes(b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f" + b"\x00" * 500)
    bad["tag_too_long.mp3"] = tag_too_long
    # an FLAC whose metadata block length runs past the end
    flac = tmp_path / "badblock.flac"
    flac.write_bytes(b"fLaC\x00\x00\x00\x22" + b"\x00" * 20)
    bad["badblock.flac"] = flac
    return bad


def test_damaged_files_give_a_one_line_error_and_stay_identical(tmp_path: Path) -> None:
    for name, path in _damaged(tmp_path).items():
        before = path.read_bytes()
        result = restore(path, "genre", ["Rock"], None)
        assert not result.ok, name
        assert "\n" not in (result.error or "") and result.error, name
        try:  # unparseable files fail at planning; truncated audio at the latest when applied
            change = plan_write(path, "genre", ["Rock"])
        except TagError:
            pass
        else:
            assert not apply_change(change).ok, name
        assert path.read_bytes() == before, name
    leftovers = [p for p in tmp_path.rglob("*") if is_temp_file(p)]
    assert leftovers == []


def test_missing_file_and_unsupported_format(tmp_path: Path) -> None:
    result = restore(tmp_path / "nope.mp3", "genre", ["x"], None)
    assert not result.ok
    wma = audio_factory.write_tone(tmp_path / "a.wma", 1.0, fmt="wma")
    with pytest.raises(TagError, match="not supported"):
        read_field(wma, "genre")


def test_payload_guard_refuses_a_save_that_touches_audio(tmp_path: Path, monkeypatch) -> None:
    """If a tag library ever damaged the audio, the copy is rejected and the original kept."""
    path = make(tmp_path, "flac")
    before = path.read_bytes()
    real_save = VorbisFormat.save

    def damaging_save(self: VorbisFormat) -> None:
        real_save(self)
        with open(self.path, "r+b") as f:
            f.seek(-10, 2)
            f.write(b"\x00" * 10)

    monkeypatch.setattr(VorbisFormat, "save", damaging_save)
    result = restore(path, "genre", ["x"], None)
    assert not result.ok and "audio payload" in (result.error or "")
    assert path.read_bytes() == before
    assert [p for p in tmp_path.iterdir() if is_temp_file(p)] == []


def test_guard_refuses_a_save_that_changes_other_tags(tmp_path: Path, monkeypatch) -> None:
    path = make(tmp_path, "ogg")
    before = path.read_bytes()
    real_set = VorbisFormat.set

    def sloppy_set(self: VorbisFormat, field: str, values: list[str]) -> None:
        real_set(self, field, values)
        raw = self._raw  # the comment's entries as bytes: what the save writes
        assert raw is not None
        raw.entries = [e for e in raw.entries if not e.upper().startswith(b"ARTIST=")]

    monkeypatch.setattr(VorbisFormat, "set", sloppy_set)
    result = restore(path, "genre", ["x"], None)
    assert not result.ok and "other tags" in (result.error or "")
    assert path.read_bytes() == before


def test_cleanup_temp_files(tmp_path: Path) -> None:
    audio = make(tmp_path, "ogg")
    old = tmp_path / f".a.ogg.abc123{TEMP_SUFFIX}"
    fresh = tmp_path / f".a.ogg.def456{TEMP_SUFFIX}"
    for p in (old, fresh):
        p.write_bytes(b"partial")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert is_temp_file(old) and not is_temp_file(audio)
    assert cleanup_temp_files(tmp_path) == [old]
    assert fresh.exists() and audio.exists()
    assert cleanup_temp_files(tmp_path, min_age_seconds=0) == [fresh]
    assert sorted(tmp_path.iterdir()) == [audio]


def test_mp3_end_check_keeps_decoder_noise_off_stderr(tmp_path, capfd):
    """libmpg123 complains about the first frame after a seek; a tag write must not print it."""
    from app.tagformats import _native_stderr_silenced

    with _native_stderr_silenced():
        os.write(2, b"native noise\n")
    os.write(2, b"after\n")
    err = capfd.readouterr().err
    assert "native noise" not in err and "after" in err


# -- leftovers, extended attributes, file names (issue 13) ---------------------------------


def _old(path: Path) -> Path:
    os.utime(path, (time.time() - 7200, time.time() - 7200))
    return path


def test_cleanup_takes_folders_files_and_lists_and_only_our_names(tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    audio = make(tmp_path, "ogg")
    ours = [tmp_path / f".a.ogg.0a1b2c3d{TEMP_SUFFIX}", sub / f".b.flac.abcdef12{TEMP_SUFFIX}"]
    for p in ours:
        p.write_bytes(b"partial")
        _old(p)
    not_ours = [
        tmp_path / "a.zsl-tmp",
        tmp_path / f".a{TEMP_SUFFIX}",
        tmp_path / f"a.ogg.0a1b2c3d{TEMP_SUFFIX}",
        tmp_path / ".a.ogg.0a1b2c3d.tmp",
        tmp_path / f".a.ogg.0a1b2c3d{TEMP_SUFFIX}.flac",
        tmp_path / "notes.txt",
    ]
    for p in not_ours:
        p.write_bytes(b"user data")
        _old(p)
    # a symlink with our name pointing at a track, a folder with our name
    link = tmp_path / f".c.mp3.11111111{TEMP_SUFFIX}"
    link.symlink_to(audio)
    folder = tmp_path / f".d.mp3.22222222{TEMP_SUFFIX}"
    folder.mkdir()
    assert cleanup_temp_files(tmp_path) == [ours[0]]  # not recursive by default
    assert cleanup_temp_files([audio, sub / "missing.flac", tmp_path / "gone"]) == []
    ours[0].write_bytes(b"again")
    _old(ours[0])
    assert cleanup_temp_files([audio, sub / "x.flac"]) == [ours[0]]  # files name folders
    assert cleanup_temp_files(tmp_path, recursive=True) == [ours[1]]
    assert all(p.exists() for p in not_ours) and audio.exists()
    assert link.is_symlink() and folder.is_dir()
    assert cleanup_temp_files(tmp_path / "no such folder") == []


def test_cleanup_never_takes_a_copy_a_live_write_holds(tmp_path: Path) -> None:
    temp = tmp_path / f".a.mp3.0a1b2c3d{TEMP_SUFFIX}"
    temp.write_bytes(b"in use")
    _old(temp)
    fd = os.open(temp, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert cleanup_temp_files(tmp_path, min_age_seconds=0) == []
    finally:
        os.close(fd)
    assert cleanup_temp_files(tmp_path, min_age_seconds=0) == [temp]


@pytest.mark.skipif(os.getuid() != 0, reason="giving a file to another user needs root")
def test_cleanup_leaves_other_users_files(tmp_path: Path) -> None:
    temp = tmp_path / f".a.mp3.0a1b2c3d{TEMP_SUFFIX}"
    temp.write_bytes(b"theirs")
    os.chown(temp, 12345, 12345)
    _old(temp)
    assert cleanup_temp_files(tmp_path, min_age_seconds=0) == []
    assert temp.exists()


def test_writes_hold_a_lock_on_their_copy(tmp_path: Path, monkeypatch) -> None:
    """While a write verifies its copy, a cleanup (any process) must not take it."""
    import app.tagwriter as tagwriter

    path = make(tmp_path, "flac")
    seen = []
    real_verify = tagwriter._verify

    def verify_and_clean(temp, *args):
        seen.append(cleanup_temp_files(tmp_path, min_age_seconds=-10))
        assert temp.exists()
        return real_verify(temp, *args)

    monkeypatch.setattr(tagwriter, "_verify", verify_and_clean)
    result = restore(path, "genre", ["Drone"], None)
    assert result.ok and result.written, result.message
    assert seen == [[]]


def _xattrs(path: Path) -> dict[str, bytes]:
    return {n: os.getxattr(path, n) for n in os.listxattr(path) if n.startswith("user.")}


def _xattrs_work(folder: Path) -> bool:
    probe = folder / "xattr-probe"
    probe.write_bytes(b"")
    try:
        os.setxattr(probe, "user.probe", b"1")
        return True
    except OSError:
        return False
    finally:
        probe.unlink()


@pytest.mark.parametrize("kind", ["mp3", "flac", "m4a"])
def test_extended_attributes_survive_write_and_undo(tmp_path: Path, kind: str) -> None:
    if not _xattrs_work(tmp_path):
        pytest.skip("this file system has no user xattrs")
    path = make(tmp_path, kind)
    os.setxattr(path, "user.xdg.origin.url", b"https://example.org/track")
    os.setxattr(path, "user.checksum", bytes(range(256)))
    before = _xattrs(path)
    result = apply_change(plan_write(path, "genre", ["Drone"], "replace"))
    assert result.ok and result.written, result.message
    assert _xattrs(path) == before
    undo = restore(path, "genre", result.old, result.new)
    assert undo.ok and undo.written, undo.message
    assert _xattrs(path) == before


def test_file_system_without_xattrs_is_no_error(tmp_path: Path, monkeypatch) -> None:
    import errno

    path = make(tmp_path, "flac")

    def unsupported(*args, **kwargs):
        raise OSError(errno.ENOTSUP, "Operation not supported")

    monkeypatch.setattr(os, "listxattr", unsupported)
    result = restore(path, "genre", ["Drone"], None)
    assert result.ok and result.written, result.message
    monkeypatch.undo()
    if _xattrs_work(tmp_path):
        os.setxattr(path, "user.kept", b"1")
    monkeypatch.setattr(os, "setxattr", unsupported)  # the copy cannot take it: skipped
    result = restore(path, "genre", ["Ambient"], None)
    assert result.ok and result.written, result.message


NON_UTF8 = os.fsdecode(b"caf\xe9 \xff\xfe live")  # latin-1 bytes: not valid UTF-8
CJK_83 = "音楽の夜明け" * 13 + "東京大阪名古屋札幌福"  # 88 characters, 264 bytes


@pytest.mark.parametrize("kind", ["mp3", "flac", "ogg", "m4a", "wav"])
def test_non_utf8_file_names_are_written(tmp_path: Path, kind: str) -> None:
    source = make(tmp_path, kind)
    path = source.with_name(NON_UTF8 + source.suffix)
    os.rename(source, path)
    assert os.fsencode(path.name).startswith(b"caf\xe9")
    result = apply_change(plan_write(path, "genre", ["Drone"], "replace"))
    assert result.ok and result.written, result.message
    assert read_field(path, "genre") == ["Drone"]
    assert sorted(os.listdir(tmp_path)) == [os.fsdecode(os.fsencode(path.name))]


@pytest.mark.parametrize("kind", ["mp3", "flac", "ogg"])
def test_long_multibyte_file_names_are_written(tmp_path: Path, kind: str) -> None:
    source = make(tmp_path, kind)
    name = CJK_83[:83] + source.suffix  # 249 bytes + suffix: just under NAME_MAX (255)
    assert 250 <= len(name.encode()) <= 255
    path = source.with_name(name)
    os.rename(source, path)
    result = apply_change(plan_write(path, "genre", ["Drone"], "replace"))
    assert result.ok and result.written, result.message
    assert read_field(path, "genre") == ["Drone"]
    assert os.listdir(tmp_path) == [name]


def test_temp_names_are_cut_by_bytes_at_character_boundaries() -> None:
    from app.tagwriter import temp_name_for

    for name in (
        CJK_83 + ".flac",
        "é" * 300,
        "a" * 300,
        "😀" * 100,
        os.fsdecode(b"\xff" * 300),
        "x.mp3",
    ):
        temp = temp_name_for(name, "0a1b2c3d")
        assert len(temp) <= 255 and is_temp_file(temp)
        assert temp.startswith(b".") and temp.endswith(b".0a1b2c3d" + TEMP_SUFFIX.encode())
        body = temp[1 : -len(b".0a1b2c3d" + TEMP_SUFFIX.encode())]
        assert os.fsencode(name).startswith(body)
        if os.fsencode(name).decode("utf-8", "ignore") == name:  # valid UTF-8 stays valid
            body.decode("utf-8")
    assert temp_name_for("x.mp3", "0a1b2c3d") == b".x.mp3.0a1b2c3d" + TEMP_SUFFIX.encode()


def test_undo_delta_rebuilds_the_original_from_shifted_and_scattered_changes(
    tmp_path: Path,
) -> None:
    """A grown tag at the start, a changed tag at the end, 8 bytes changed every 4 KB (Ogg
    page numbers and checksums): small delta, exact rebuild; too large -> no delta."""
    import io
    import random

    from app.tagwriter import _apply_delta, make_undo_data

    rng = random.Random(3)
    original = bytearray(rng.randbytes(300_000))
    written = bytearray(rng.randbytes(1500)) + original[700:]
    for at in range(2000, len(written) - 8, 4096):
        written[at : at + 8] = rng.randbytes(8)
    written[-128:] = rng.randbytes(128)
    (tmp_path / "a").write_bytes(original)
    (tmp_path / "b").write_bytes(written)
    undo = make_undo_data(tmp_path / "a", tmp_path / "b")
    assert undo.delta is not None and len(undo.delta) < 10_000
    out = io.BytesIO()
    assert _apply_delta(undo.delta, bytes(written), out) == undo.before_sha256
    assert out.getvalue() == bytes(original)
    assert make_undo_data(tmp_path / "a", tmp_path / "b", limit=100).delta is None


def test_restore_exact_refuses_a_file_changed_since_and_leaves_it(tmp_path: Path) -> None:
    from app.tagwriter import restore_exact

    path = make(tmp_path, "flac")
    before = path.read_bytes()
    written = apply_change(plan_write(path, "genre", ["Dub"], "replace"), keep_undo=True)
    assert written.written and written.undo is not None
    assert apply_change(plan_write(path, "mood", ["Calm"], "replace")).written  # someone else
    changed = path.read_bytes()
    refused = restore_exact(path, written.undo)
    assert not refused.written and "changed since" in (refused.error or "")
    assert path.read_bytes() == changed
    assert restore_exact(path, written.undo).error  # still refused, nothing left behind
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".zsl-tmp")]
    assert before != changed
