"""musicnn port: golden outputs of the original TensorFlow model, front end, loading, checkpoint reader.

The golden files in tests/data/musicnn-golden/ were produced by the original musicnn 0.1.0
(TensorFlow) on four synthetic signals (see /work/shared/reference/README.md). `batch` holds the
input patches the original built, `taggram`/`penultimate`/... its outputs for them; `spec_np1`
and `taggram_np1` are what a float32-log front end must give from the wav file. For loud_tone
the float16 overflow of the original makes `batch`/`taggram` inf/NaN, so only `_np1` is used.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from zsl_core import musicnn
from zsl_core.errors import AudioError, ModelError

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "data" / "musicnn-golden"
PATCH_CASES = [
    ("MSD_musicnn", "noise"),
    ("MSD_musicnn", "synth_mix_quiet"),
    ("MTT_musicnn", "noise"),
    ("MTT_musicnn", "synth_mix_quiet"),
]
MSD_WAVS = ["noise", "synth_mix_quiet", "loud_tone"]


@pytest.fixture(scope="module")
def models() -> dict[str, musicnn.MusicnnModel]:
    return {name: musicnn.MusicnnModel.load(name) for name in musicnn.MODEL_NAMES}


def golden(model: str, signal: str) -> dict[str, np.ndarray]:
    with np.load(GOLDEN / f"ref_{model}_{signal}.npz", allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def read_wav(signal: str) -> np.ndarray:
    audio, rate = sf.read(GOLDEN / f"{signal}.wav", dtype="float32")
    assert rate == musicnn.SAMPLE_RATE
    return audio


# --- golden outputs ------------------------------------------------------------------------------


@pytest.mark.parametrize("model,signal", PATCH_CASES)
def test_network_matches_original_given_its_patches(models, model, signal):
    ref = golden(model, signal)
    out = models[model].extract_patches(ref["batch"])
    assert np.abs(out["taggram"] - ref["taggram"]).max() < 1e-5
    assert np.abs(out["penultimate"] - ref["penultimate"]).max() < 1e-5
    np.testing.assert_allclose(out["logits"], ref["logits"], rtol=1e-5, atol=1e-5)
    for key in ("mean_pool", "max_pool"):
        np.testing.assert_allclose(out[key], ref[key], rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("signal", MSD_WAVS)
def test_end_to_end_from_wav_matches_overflow_free_reference(models, signal):
    ref = golden("MSD_musicnn", signal)
    out = models["MSD_musicnn"].extract(read_wav(signal))
    assert out["spectrogram"].shape == ref["spec_np1"].shape
    assert np.abs(out["spectrogram"] - ref["spec_np1"]).max() < 1e-3
    assert out["taggram"].shape == ref["taggram_np1"].shape
    assert np.abs(out["taggram"] - ref["taggram_np1"]).max() < 1e-4


@pytest.mark.parametrize("signal", ["noise", "synth_mix_quiet"])
def test_mtt_end_to_end_from_wav(models, signal):
    # MTT references have no _np1 keys; their float16-rounded front end did not overflow here.
    ref = golden("MTT_musicnn", signal)
    out = models["MTT_musicnn"].extract(read_wav(signal))
    assert np.abs(out["spectrogram"] - ref["spec"]).max() < 5e-3  # float16 rounding of the original
    assert np.abs(out["taggram"] - ref["taggram"]).max() < 1e-3


def test_extract_file_decodes_and_tags(models):
    out = models["MSD_musicnn"].extract_file(GOLDEN / "noise.wav")
    assert np.abs(out["taggram"] - golden("MSD_musicnn", "noise")["taggram_np1"]).max() < 1e-4


def test_outputs_have_documented_shapes_and_tags(models):
    out = models["MTT_musicnn"].extract(read_wav("noise"))
    assert out["taggram"].shape == (2, 50) and out["penultimate"].shape == (2, 200)
    assert out["mean_pool"].shape == out["max_pool"].shape == (2, 753)
    assert ((out["taggram"] > 0) & (out["taggram"] < 1)).all()
    assert models["MSD_musicnn"].tags[:3] == ["rock", "pop", "alternative"]
    assert models["MTT_musicnn"].tags[-1] == "choral" and "no vocals" in models["MTT_musicnn"].tags
    assert sum(p.numel() for p in models["MSD_musicnn"].net.parameters()) == 787_159


# --- front end -----------------------------------------------------------------------------------


def test_mel_filterbank_agrees_with_torchaudio_slaney():
    from torchaudio.functional import melscale_fbanks

    theirs = melscale_fbanks(
        musicnn.N_FFT // 2 + 1,
        0.0,
        musicnn.F_MAX,
        musicnn.N_MELS,
        musicnn.SAMPLE_RATE,
        norm="slaney",
        mel_scale="slaney",
    ).T.numpy()
    np.testing.assert_allclose(musicnn.mel_filterbank(), theirs, atol=1e-6)


def test_frames_are_centred_with_zero_padding():
    # 8 s at hop 256 -> 500 hops + 1 centred frame; silence gives log10(1) = 0 everywhere.
    spec = musicnn.musicnn_mel(np.zeros(8 * musicnn.SAMPLE_RATE, np.float32))
    assert spec.shape == (501, 96) and spec.dtype == np.float32 and not spec.any()


def test_loud_input_does_not_overflow():
    loud = np.sin(np.arange(musicnn.SAMPLE_RATE * 4) * 0.2).astype(np.float32)
    assert np.isfinite(musicnn.musicnn_mel(loud)).all()


def test_patches_drop_the_tail_and_repeat_short_clips():
    spec = np.arange(400 * 96, dtype=np.float32).reshape(400, 96)
    patches = musicnn.to_patches(spec)
    assert patches.shape == (2, 187, 96)
    np.testing.assert_array_equal(patches[1, 0], spec[187])
    short = musicnn.to_patches(spec[:50])
    assert short.shape == (1, 187, 96)
    np.testing.assert_array_equal(short[0, 50:100], spec[:50])


def test_very_short_clip_still_tags(models):
    out = models["MSD_musicnn"].extract(np.full(100, 0.1, np.float32))
    assert out["taggram"].shape == (1, 50) and np.isfinite(out["taggram"]).all()


def test_empty_or_multichannel_audio_is_an_audio_error(models):
    with pytest.raises(AudioError, match="no samples"):
        models["MSD_musicnn"].extract(np.zeros(0, np.float32))
    with pytest.raises(AudioError, match="mono"):
        models["MSD_musicnn"].extract(np.zeros((16000, 2), np.float32))


def test_torch_and_float64_input_give_the_same_spectrogram():
    audio = read_wav("noise")
    reference = musicnn.musicnn_mel(audio)
    np.testing.assert_array_equal(musicnn.musicnn_mel(torch.from_numpy(audio)), reference)
    np.testing.assert_allclose(musicnn.musicnn_mel(audio.astype(np.float64)), reference, atol=1e-6)


# --- loading -------------------------------------------------------------------------------------


def test_unknown_model_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        musicnn.MusicnnModel.load(tmp_path / "nothing")


def test_mismatched_front_end_is_refused(tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(musicnn.MODELS_DIR / "MTT_musicnn", folder)
    config = json.loads((folder / "config.json").read_text())
    config["front_end"]["n_mels"] = 128
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="n_mels"):
        musicnn.MusicnnModel.load(folder)


def test_weights_of_another_shape_are_refused(tmp_path):
    from safetensors.torch import save_file

    folder = tmp_path / "m"
    shutil.copytree(musicnn.MODELS_DIR / "MTT_musicnn", folder)
    save_file({"output.weight": torch.zeros(3, 3)}, str(folder / "model.safetensors"))
    with pytest.raises(ModelError, match="model.safetensors"):
        musicnn.MusicnnModel.load(folder)


def test_shipped_model_records_its_source_and_licence():
    config = json.loads((musicnn.MODELS_DIR / "MSD_musicnn" / "config.json").read_text())
    assert config["source"]["package"] == "musicnn" and len(config["source"]["sha256"]) == 64
    licence = (musicnn.MODELS_DIR / "LICENSE-musicnn.txt").read_text()
    assert "Permission to use, copy, modify, and/or distribute this software" in licence


def test_default_vectors_cover_every_musicnn_tag_word():
    path = REPO / "resources" / "vectors" / "glove-6B-50d.npz"
    assert path.stat().st_size <= 25 * 1024 * 1024
    with np.load(path, allow_pickle=False) as data:
        words, vectors = data["words"], data["vectors"]
    assert (
        words.dtype.kind == "U"
        and vectors.dtype == np.float16
        and vectors.shape == (len(words), 50)
    )
    assert len(words) >= 100_000 and words[0] == "the"
    known = set(words.tolist())
    tags = [t for name in musicnn.MODEL_NAMES for t in musicnn.MusicnnModel.load(name).tags]
    assert all(w in known for t in tags for w in t.lower().replace("-", " ").split())


# --- TF tensor-bundle reader (packaging/tf_checkpoint.py) ----------------------------------------


def _load_reader():
    spec = importlib.util.spec_from_file_location(
        "tf_checkpoint", REPO / "packaging" / "tf_checkpoint.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tfc = _load_reader()


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _block(entries: list[tuple[bytes, bytes]], kind: int = 0) -> bytes:
    """A table block with prefix-compressed keys, one restart point, and its trailer."""
    body, previous = bytearray(), b""
    for key, value in entries:
        shared = len(os.path.commonprefix([previous, key]))
        body += (
            _varint(shared)
            + _varint(len(key) - shared)
            + _varint(len(value))
            + key[shared:]
            + value
        )
        previous = key
    body += struct.pack("<II", 0, 1)
    return (
        bytes(body)
        + bytes([kind])
        + struct.pack("<I", tfc.mask_crc(tfc.crc32c(bytes(body) + bytes([kind]))))
    )


def _write_bundle(prefix: Path, tensors: dict[str, np.ndarray], kind: int = 0) -> None:
    """A minimal tensor bundle as TensorFlow writes it (one shard, masked CRCs)."""
    data, entries = bytearray(), [(b"", b"\x08\x01")]  # BundleHeaderProto num_shards=1
    dtypes = {np.dtype("float32"): 1, np.dtype("int64"): 9}
    for name, array in sorted(tensors.items()):
        raw = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
        dims = b"".join(
            b"\x12" + _varint(len(_varint(d)) + 1) + b"\x08" + _varint(d) for d in array.shape
        )
        entry = (
            b"\x08"
            + _varint(dtypes[array.dtype])
            + b"\x12"
            + _varint(len(dims))
            + dims
            + b"\x20"
            + _varint(len(data))
            + b"\x28"
            + _varint(len(raw))
            + b"\x35"
            + struct.pack("<I", tfc.mask_crc(tfc.crc32c(raw)))
        )
        entries.append((name.encode(), entry))
        data += raw
    data_block = _block(entries, kind)
    index_block = _block([(entries[-1][0], _varint(0) + _varint(len(data_block) - 5))])
    meta_block = _block([])
    index_at, meta_at = len(data_block), len(data_block) + len(index_block)
    handles = (
        _varint(meta_at)
        + _varint(len(meta_block) - 5)
        + _varint(index_at)
        + _varint(len(index_block) - 5)
    )
    footer = handles.ljust(40, b"\0") + struct.pack("<Q", tfc.TABLE_MAGIC)
    Path(str(prefix) + ".index").write_bytes(data_block + index_block + meta_block + footer)
    Path(str(prefix) + ".data-00000-of-00001").write_bytes(bytes(data))


def test_crc32c_known_value_and_mask():
    assert tfc.crc32c(b"123456789") == 0xE3069283
    assert tfc.mask_crc(0) == 0xA282EAD8


def test_reader_round_trips_a_bundle(tmp_path):
    tensors: dict[str, np.ndarray] = {
        "layer/kernel": np.arange(24, dtype=np.float32).reshape(2, 3, 4),
        "layer/bias": np.array([1.5, -2.0], dtype=np.float32),
        "global_step": np.array(7, dtype=np.int64),
    }
    _write_bundle(tmp_path / "ckpt", tensors)
    read = tfc.read_checkpoint(tmp_path / "ckpt")
    assert sorted(read) == sorted(tensors)
    for name, array in tensors.items():
        assert read[name].dtype == array.dtype and read[name].shape == array.shape
        np.testing.assert_array_equal(read[name], array)


def test_reader_rejects_a_corrupted_tensor(tmp_path):
    _write_bundle(tmp_path / "ckpt", {"w": np.ones(8, np.float32)})
    data = tmp_path / "ckpt.data-00000-of-00001"
    raw = bytearray(data.read_bytes())
    raw[3] ^= 0x01
    data.write_bytes(bytes(raw))
    with pytest.raises(tfc.CheckpointError, match="w: tensor checksum mismatch"):
        tfc.read_checkpoint(tmp_path / "ckpt")


def test_reader_rejects_compressed_tables(tmp_path):
    _write_bundle(tmp_path / "ckpt", {"w": np.ones(2, np.float32)}, kind=1)
    with pytest.raises(tfc.CheckpointError, match="snappy"):
        tfc.read_checkpoint(tmp_path / "ckpt")
