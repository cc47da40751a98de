"""The `zsl-core` command line with the built-in default model: predict, embed, search, errors."""

import json

import numpy as np
import pytest
import soundfile as sf

from zsl_core.cli import build_parser, main


def write_song(path, freq, seconds=6.0, sr=22050, noise=0.0):
    t = np.arange(int(sr * seconds)) / sr
    rng = np.random.default_rng(int(freq))
    signal = 0.3 * np.sin(2 * np.pi * freq * t) * np.exp(
        -(t % 0.5) * 4
    ) + noise * rng.standard_normal(len(t))
    sf.write(path, signal.astype(np.float32), sr)
    return path


@pytest.fixture
def songs(tmp_path):
    return [
        write_song(tmp_path / "tone.wav", 440),
        write_song(tmp_path / "noisy.flac", 110, noise=0.3),
        write_song(tmp_path / "high.ogg", 1760),
    ]


def test_predict_prints_seen_and_unseen_tags(songs, capsys):
    assert main(["predict", str(songs[0]), "--top", "5"]) == 0
    out = capsys.readouterr().out
    assert "seen:" in out and "new:" in out and "proposed:" in out


def test_predict_json_and_windows(songs, capsys):
    assert main(["predict", *map(str, songs), "--json", "--top", "3", "--windows", "2"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert len(results) == 3
    for r in results:
        assert len(r["seen"]) == 3 and len(r["unseen"]) == 3
        assert not {t["tag"] for t in r["seen"]} & {t["tag"] for t in r["unseen"]}


def test_predict_keeps_the_vocabularys_kinds(songs, tmp_path, capsys):
    """New words keep the kind their vocabulary gives them (the shipped one's files, a user
    file's `# kind:` lines); a plain list of words made every one of them "other"."""
    words = tmp_path / "words.txt"
    words.write_text("# kind: mood\nmelancholic\ndreamy\n# kind: genre\nshoegaze\n", "utf-8")
    assert main(["predict", str(songs[0]), "--json", "--top", "3", "--vocab", str(words)]) == 0
    kinds = {t["tag"]: t["kind"] for t in json.loads(capsys.readouterr().out)[0]["unseen"]}
    expected = {"melancholic": "mood", "dreamy": "mood", "shoegaze": "genre"}
    assert kinds == expected
    assert main(["predict", str(songs[0]), "--json", "--top", "10"]) == 0
    unseen = json.loads(capsys.readouterr().out)[0]["unseen"]
    assert {t["kind"] for t in unseen} - {"other"}


def test_bad_files_are_skipped_with_one_line(songs, tmp_path, capsys):
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"\x00not audio" * 100)
    assert main(["predict", str(songs[0]), str(junk)]) == 1  # partial: one file failed
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "junk.mp3" in err[0]
    assert main(["predict", str(tmp_path / "missing.wav")]) == 2


def test_embed_then_search(songs, tmp_path, capsys):
    index = tmp_path / "ix.npz"
    assert main(["embed", *map(str, songs), "--out", str(index), "--quiet"]) == 0
    assert index.exists()
    capsys.readouterr()
    assert (
        main(
            ["search", "calm piano", "--index", str(index), "--json", "--top", "3", "--floor", "0"]
        )
        == 0
    )
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 3
    assert sorted(h["path"] for h in hits) == sorted(map(str, songs))
    assert hits[0]["score"] >= hits[1]["score"] >= hits[2]["score"]


def test_search_unknown_words_is_a_one_line_error(songs, tmp_path, capsys):
    index = tmp_path / "ix.npz"
    main(["embed", str(songs[0]), "--out", str(index), "--quiet"])
    capsys.readouterr()
    assert main(["search", "qwxzv", "--index", str(index)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_shards_cover_the_manifest_once(songs, tmp_path):
    from zsl_core.index import TrackIndex

    files = list(map(str, songs))
    for i in range(2):
        main(
            ["embed", *files, "--out", str(tmp_path / f"s{i}.npz"), "--shard", f"{i}/2", "--quiet"]
        )
    merged = TrackIndex.merge([TrackIndex.load(tmp_path / f"s{i}.npz") for i in range(2)])
    assert sorted(merged.paths) == sorted(files)


def test_embed_takes_folders_and_path_lists_and_shards_them_without_overlap(
    songs, tmp_path, capsys
):
    from zsl_core.index import TrackIndex

    nested = tmp_path / "deeper" / "more"
    nested.mkdir(parents=True)
    extra = write_song(nested / "extra.wav", 220)
    (tmp_path / "notes.txt").write_text("not audio")
    for i in range(2):
        assert (
            main(
                [
                    "embed",
                    str(tmp_path),
                    "--out",
                    str(tmp_path / f"f{i}.npz"),
                    "--shard",
                    f"{i}/2",
                    "--windows",
                    "1",
                    "--quiet",
                ]
            )
            == 0
        )
    parts = [TrackIndex.load(tmp_path / f"f{i}.npz") for i in range(2)]
    assert not set(parts[0].paths) & set(parts[1].paths)
    assert sorted(parts[0].paths + parts[1].paths) == sorted(map(str, [*songs, extra]))
    listing = tmp_path / "list.txt"
    listing.write_text(f"# from find\n{songs[0].name}\n\n{extra}\n")
    assert (
        main(
            [
                "embed",
                "--list",
                str(listing),
                "--out",
                str(tmp_path / "l.npz"),
                "--windows",
                "1",
                "--quiet",
            ]
        )
        == 0
    )
    assert TrackIndex.load(tmp_path / "l.npz").paths == [str(songs[0]), str(extra)]
    capsys.readouterr()
    assert (
        main(["embed", "--list", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "x.npz")]) == 2
    )
    assert "cannot read the file list" in capsys.readouterr().err


def test_every_subcommand_has_help(capsys):
    parser = build_parser()
    for command in [
        "import",
        "features",
        "split",
        "train",
        "evaluate",
        "predict",
        "embed",
        "search",
    ]:
        with pytest.raises(SystemExit) as exit_info:
            parser.parse_args([command, "--help"])
        assert exit_info.value.code == 0
        assert "usage:" in capsys.readouterr().out


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a GPU")
@pytest.mark.parametrize("command", [["predict", "x.wav"], ["embed", "x.wav", "--out", "x.npz"]])
def test_device_cuda_without_a_gpu_is_one_line(command, capsys):
    assert main([*command, "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no CUDA GPU" in err
