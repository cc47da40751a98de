"""musicnn (Pons & Serra 2019) in PyTorch: the pretrained real-music tagger behind the default model.

Why it is here: the app must give sensible tags on a user's music with no data set and no
training. musicnn's authors published networks trained on real music (Million Song Dataset and
MagnaTagATune top-50 tags, ISC licence); `packaging/convert_musicnn.py` turned their TensorFlow
checkpoints into `resources/models/<name>/{model.safetensors,config.json}`, and this module runs
them without TensorFlow. Its outputs match the original to ~1e-6 given the same input patches
(tests/zsl_core/test_musicnn.py checks this against outputs of the original model).

Two halves:

* the front end (`musicnn_mel`, `to_patches`): 16 kHz mono -> STFT (n_fft 512, hop 256,
  periodic Hann, centred with zero padding as librosa >= 0.10 does; the reference outputs we
  test against were made that way) -> power -> 96 Slaney mel bands (0-8 kHz,
  Slaney-normalised, librosa's defaults) -> `log10(10000 * mel + 1)` in float32 -> patches of
  187 frames (3 s), non-overlapping, the incomplete tail dropped as the original does; a clip
  shorter than one patch is repeated until it fills one (the "repeat-pad" the models were
  trained with). The original cast to float16 before the log, which overflows under NumPy 2;
  we keep float32 throughout.
* the network (`MusicnnNet`), described top to bottom in its docstring. In eval mode its
  one-channel front-end convolutions run as banded matrix products (about 2x faster in fp32,
  same values to rounding; opt-in bf16 about 5x) - see "fast inference front end" below.

Public entry point: `MusicnnModel.load("MSD_musicnn").extract(audio_16k)`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import cast

import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn
from torch.nn import functional as F

from zsl_core import dsp
from zsl_core.audio import load_audio
from zsl_core.errors import AudioError, ModelError
from zsl_core.options import PRECISIONS
from zsl_core.resources import resource_path

SAMPLE_RATE = dsp.MUSICNN_RATE  # 16000
N_FFT = dsp.MUSICNN_N_FFT  # 512
HOP = dsp.MUSICNN_HOP  # 256
N_MELS = dsp.MUSICNN_N_MELS  # 96
F_MAX = dsp.MUSICNN_F_MAX  # 8000.0
PATCH_FRAMES = dsp.PATCH_FRAMES  # 187 frames = 3 seconds
BN_EPS = 1e-3  # TensorFlow's batch-norm default, not PyTorch's 1e-5

MODELS_DIR = resource_path("models")
DEFAULT_MODEL = "MSD_musicnn"
MODEL_NAMES = ("MSD_musicnn", "MTT_musicnn")
VGG_MODEL_NAMES = ("MSD_vgg", "MTT_vgg")  # musicnn's VGG baselines: same tags and front end


# --- front end -------------------------------------------------------------------------------

# The filterbank, `to_patches` and a numpy twin of `musicnn_mel` live in zsl_core.dsp, which the
# scan's decode workers use without importing torch; `musicnn_mel` below stays on torch.stft
# because in the main process it is faster on long audio with several threads (measured: 24 ms
# vs 40 ms for 4 minutes on 2 cores). tests/zsl_core/test_dsp.py checks that the two agree.
mel_filterbank = dsp.mel_filterbank
to_patches = dsp.to_patches
_FILTERBANK = torch.from_numpy(dsp.mel_filterbank())


def musicnn_mel(audio: np.ndarray | torch.Tensor) -> np.ndarray:
    """Log-mel spectrogram [frames, 96] float32 of 16 kHz mono audio, exactly as musicnn expects."""
    signal = torch.as_tensor(audio).detach().to("cpu", torch.float32).squeeze()
    if signal.ndim > 1:
        raise AudioError(
            "<audio>", f"expected mono audio, got an array of shape {tuple(signal.shape)}"
        )
    signal = signal.reshape(-1)
    if signal.numel() == 0:
        raise AudioError("<audio>", "no samples to tag")
    spectrum = torch.stft(
        signal,
        N_FFT,
        HOP,
        window=torch.hann_window(N_FFT, periodic=True),
        center=True,
        pad_mode="constant",
        return_complex=True,
    )
    power = spectrum.real.square() + spectrum.imag.square()
    mel = _FILTERBANK @ power
    return torch.log10(10000.0 * mel + 1.0).T.contiguous().numpy()


# --- network ---------------------------------------------------------------------------------


class _FrequencyMaxBranch(nn.Module):
    """Conv2d over (time, frequency) -> ReLU -> BN -> max over frequency: one front-end filter shape.

    Time is padded explicitly with `time_pad` (before, after): (3, 3) for the 7-frame timbral
    filters; TF's 'same' for the long temporal filters, which on an even kernel k pads
    (k/2 - 1, k/2).
    """

    def __init__(self, filters: int, kernel: tuple[int, int], time_pad: tuple[int, int]) -> None:
        super().__init__()
        self.time_pad = time_pad
        self.conv = nn.Conv2d(1, filters, kernel)
        self.bn = nn.BatchNorm2d(filters, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x [B, 1, T, 96] -> [B, filters, T]
        z = self.conv(F.pad(x, (0, 0, *self.time_pad)))
        if self.training:
            return self.bn(F.relu(z)).amax(dim=3)
        # Inference: BN with running statistics is a per-filter affine map a*r + b, and ReLU is
        # monotonic, so max over frequency of BN(ReLU(z)) is a*ReLU(max z) + b where a >= 0 and
        # a*ReLU(min z) + b where a < 0. One min/max pass over the large [B, filters, T, F]
        # conv output replaces three (ReLU, BN, max): same result, about twice as fast.
        low, high = torch.aminmax(z, dim=3)
        scale, shift = self.bn_affine()
        picked = torch.where(scale[:, None] >= 0, high, low).relu()
        return picked * scale[:, None] + shift[:, None]

    def bn_affine(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Eval-mode BN as scale * r + shift, per filter."""
        mean, var = self.bn.running_mean, self.bn.running_var
        assert mean is not None and var is not None  # BatchNorm2d tracks running stats by default
        scale = self.bn.weight / torch.sqrt(var + self.bn.eps)
        return scale, self.bn.bias - mean * scale

    def signs(self) -> torch.Tensor:
        """+1 for filters whose BN scale is >= 0 (they need the max), -1 for the others (the min)."""
        return torch.where(self.bn_affine()[0] >= 0, 1.0, -1.0)

    def from_signed_max(self, signed_max: torch.Tensor) -> torch.Tensor:
        """Eval-mode output [B, filters, T] from the max over frequency of sign * (bias-free conv).

        With each filter multiplied by its sign (`signs`), one max pass gives max(z) where the
        forward path above picks the max and -min(z) where it picks the min: min z = -max(-z).
        """
        scale, shift = self.bn_affine()
        assert self.conv.bias is not None  # the conv has a bias
        picked = (signed_max * self.signs()[:, None] + self.conv.bias[:, None]).relu()
        return picked * scale[:, None] + shift[:, None]


class _MidEndLayer(nn.Module):
    """Conv1d over time (k7, 'same') -> ReLU -> BN."""

    def __init__(self, in_channels: int, channels: int = 64) -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_channels, channels, 7, padding=3)
        self.bn = nn.BatchNorm1d(channels, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(F.relu(self.conv(x)))


# --- fast inference front end ----------------------------------------------------------------
#
# Why: the front-end convolutions have ONE input channel, a shape the library convolution
# kernels handle poorly, and they are nearly all of musicnn's cost (2.7 of its 2.8 GFLOP per
# patch). In eval mode each is computed here as one large matrix product with a small banded
# ("Toeplitz") weight matrix: a row of the left operand holds what a filter sees for `block`
# neighbouring output positions (block - 1 more inputs than one position needs), and the weight
# matrix holds each filter `block` times, shifted by one input each time. This spends a few
# multiplications on the band's zeros but copies about `block` times less than im2col, and runs
# at matrix-product speed. Each filter is multiplied by the sign of its BN scale, so a single
# max over frequency gives max(z) where the BN keeps the order and -min(z) where it reverses it
# (see `_FrequencyMaxBranch.from_signed_max`); the max is taken per chunk of patches while the
# product is still in cache.
#
# fp32: the same sums in another order, equal to the convolution path to float32 rounding.
# bf16: both operands rounded to bfloat16, products accumulated in float32 (AMX / AVX512-BF16
# on recent x86 CPUs); taggrams move by up to ~1e-2 and the top-5 seen tags of a track agree
# with fp32 99% of the time (tests/benchmarks/bench_inference.py --corpus measures both).

FAST_ROWS = 2048  # left-operand rows per product and thread: full speed, still in cache
TIMBRAL_BLOCK = 4  # output frequencies per row for the 7x38 and 7x67 filters
TEMPORAL_BLOCK = 16  # output frames per row for the 128x1, 64x1 and 32x1 filters


def cpu_has_fast_bf16() -> bool:
    """True when this CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX); elsewhere bf16
    is emulated and slower than fp32, so "auto" precision stays fp32."""
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # older or newer torch without these probes: be safe
        return False


def _banded_frequency_weights(weight: torch.Tensor, block: int) -> torch.Tensor:
    """[filters, 1, kt, kf] -> [kt * (kf + block - 1), block * filters]: `block` shifted copies."""
    filters, _, k_time, k_freq = weight.shape
    banded = weight.new_zeros(k_time, k_freq + block - 1, block, filters)
    per_filter = weight[:, 0].permute(1, 2, 0)  # [kt, kf, filters]
    for shift in range(block):
        banded[:, shift : shift + k_freq, shift, :] = per_filter
    return banded.reshape(k_time * (k_freq + block - 1), block * filters)


def _banded_time_weights(weight: torch.Tensor, block: int) -> torch.Tensor:
    """[filters, 1, k, 1] -> [k + block - 1, block * filters]: `block` shifted copies."""
    filters, _, k_time, _ = weight.shape
    banded = weight.new_zeros(k_time + block - 1, block, filters)
    per_filter = weight[:, 0, :, 0].T  # [k, filters]
    for shift in range(block):
        banded[shift : shift + k_time, shift, :] = per_filter
    return banded.reshape(k_time + block - 1, block * filters)


def _chunked_max(
    rows_per_patch: int, n_patches: int, product: Callable[[int, int], torch.Tensor], dim: int
) -> torch.Tensor:
    """`product(start, stop)` maximised over `dim`, chunk of patches by chunk, concatenated."""
    step = max(1, FAST_ROWS * torch.get_num_threads() // rows_per_patch)
    return torch.cat(
        [
            product(start, min(start + step, n_patches)).amax(dim=dim)
            for start in range(0, n_patches, step)
        ]
    )


def _timbral_max(
    x: torch.Tensor, branch: _FrequencyMaxBranch, banded: torch.Tensor, block: int
) -> torch.Tensor:
    """x [B, T, F] (after input BN) -> max over frequency of the signed, bias-free conv [B, T, filters]."""
    filters, _, k_time, k_freq = branch.conv.weight.shape
    n, frames, bins = x.shape
    out_freqs = bins - k_freq + 1
    n_blocks = -(-out_freqs // block)
    # Zero columns on the right make whole blocks; their outputs are cut off before the max.
    padded = (
        F.pad(x, (0, n_blocks * block - out_freqs, *branch.time_pad)).to(banded.dtype).contiguous()
    )
    rows, cols = padded.shape[1], padded.shape[2]
    width = k_freq + block - 1

    def product(start: int, stop: int) -> torch.Tensor:
        part = padded[start:stop]
        windows = part.as_strided(
            (stop - start, frames, n_blocks, k_time, width),
            (rows * cols, cols, block, cols, 1),
            part.storage_offset(),
        )
        result = windows.reshape(-1, k_time * width) @ banded
        return result.view(stop - start, frames, n_blocks * block, filters)[:, :, :out_freqs]

    return _chunked_max(frames * n_blocks, n, product, dim=2)


def _temporal_max(
    x: torch.Tensor, branch: _FrequencyMaxBranch, banded: torch.Tensor, block: int
) -> torch.Tensor:
    """x [B, T, F] -> max over frequency of the signed, bias-free k x 1 conv over time [B, T, filters]."""
    filters, _, k_time, _ = branch.conv.weight.shape
    n, frames, bins = x.shape
    n_blocks = -(-frames // block)
    before, after = branch.time_pad
    series = F.pad(x.transpose(1, 2), (before, after + n_blocks * block - frames))
    series = series.to(banded.dtype).contiguous()  # [B, F, T + pad]: one time series per mel band
    length = series.shape[2]
    width = k_time + block - 1

    def product(start: int, stop: int) -> torch.Tensor:
        part = series[start:stop]
        windows = part.as_strided(
            (stop - start, bins, n_blocks, width),
            (bins * length, length, block, 1),
            part.storage_offset(),
        )
        result = windows.reshape(-1, width) @ banded
        return result.view(stop - start, bins, n_blocks * block, filters)[:, :, :frames]

    return _chunked_max(bins * n_blocks, n, product, dim=1)


class MusicnnNet(nn.Module):
    """The musicnn network (Pons & Serra 2019), eval-mode semantics of the TF original.

    Input BN -> front end: timbral 7x38 and 7x67 (204 filters each) and temporal 128x1, 64x1,
    32x1 (51 each), each max-pooled over frequency, concatenated to 561 channels -> mid end:
    three k7 conv layers of 64 channels, the 2nd and 3rd residual, densely connected to 753
    channels -> back end: max and mean over time interleaved (max0, mean0, max1, ...) to 1506
    -> BN -> Dense 200 + ReLU -> BN (the 200-d "penultimate" features) -> Dense n_tags.
    Dropout layers of the original are identity at inference and omitted.
    """

    TIMBRAL = ((7, 38), (7, 67))
    TEMPORAL = (128, 64, 32)

    def __init__(
        self,
        n_tags: int = 50,
        n_mels: int = N_MELS,
        timbral_filters: int = 204,
        temporal_filters: int = 51,
        midend_channels: int = 64,
        dense_units: int = 200,
    ) -> None:
        super().__init__()
        self.input_bn = nn.BatchNorm2d(1, eps=BN_EPS)
        self.timbral = nn.ModuleList(
            _FrequencyMaxBranch(timbral_filters, (k_time, int(fraction * n_mels)), (3, 3))
            for k_time, fraction in ((7, 0.4), (7, 0.7))
        )
        self.temporal = nn.ModuleList(
            _FrequencyMaxBranch(temporal_filters, (k, 1), ((k - 1) // 2, k // 2))
            for k in self.TEMPORAL
        )
        front = 2 * timbral_filters + 3 * temporal_filters
        self.midend = nn.ModuleList(
            [
                _MidEndLayer(front, midend_channels),
                _MidEndLayer(midend_channels, midend_channels),
                _MidEndLayer(midend_channels, midend_channels),
            ]
        )
        pooled = 2 * (front + 3 * midend_channels)
        self.pool_bn = nn.BatchNorm1d(pooled, eps=BN_EPS)
        self.dense = nn.Linear(pooled, dense_units)
        self.dense_bn = nn.BatchNorm1d(dense_units, eps=BN_EPS)
        self.output = nn.Linear(dense_units, n_tags)
        self.fast = True  # eval mode: front end as banded matrix products (see above)
        self.precision = "fp32"
        self._banded: dict[tuple, list[torch.Tensor]] = {}

    def set_precision(self, precision: str) -> None:
        """'fp32' (default, matches the original), 'bf16' (front-end products in bfloat16) or
        'auto' (bf16 on a CPU with native bf16, fp32 elsewhere); `precision` keeps the choice made."""
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        if precision == "auto":
            on_cpu = next(self.parameters()).device.type == "cpu"
            precision = "bf16" if on_cpu and cpu_has_fast_bf16() else "fp32"
        self.precision = precision

    def _banded_weights(self, dtype: torch.dtype) -> list[torch.Tensor]:
        """Banded, sign-flipped weight matrices; rebuilt only when a front-end parameter changes."""
        branches = (*self.timbral, *self.temporal)
        key = (dtype,) + tuple(
            (t.data_ptr(), t._version, t.device)
            for b in branches
            for t in (b.conv.weight, b.bn.weight, b.bn.running_var)
        )
        if key not in self._banded:
            with torch.no_grad():
                signed = [b.conv.weight * b.signs()[:, None, None, None] for b in branches]
                weights = [
                    _banded_frequency_weights(w, TIMBRAL_BLOCK) for w in signed[: len(self.timbral)]
                ]
                weights += [
                    _banded_time_weights(w, TEMPORAL_BLOCK) for w in signed[len(self.timbral) :]
                ]
            self._banded = {key: [w.to(dtype).contiguous() for w in weights]}
        return self._banded[key]

    def front_end(self, patches: torch.Tensor) -> torch.Tensor:
        """patches [B, T, n_mels] -> the 561-channel front-end output [B, 561, T].

        Training, or `fast = False`, runs the convolutions; eval mode the banded products.
        """
        x = self.input_bn(patches.unsqueeze(1))
        branches = (*self.timbral, *self.temporal)
        if self.training or not self.fast:
            return torch.cat([branch(x) for branch in branches], dim=1)
        banded = self._banded_weights(torch.bfloat16 if self.precision == "bf16" else torch.float32)
        x = x[:, 0]
        outputs = []
        for index, branch in enumerate(branches):
            if index < len(self.timbral):
                signed_max = _timbral_max(x, branch, banded[index], TIMBRAL_BLOCK)
            else:
                signed_max = _temporal_max(x, branch, banded[index], TEMPORAL_BLOCK)
            outputs.append(branch.from_signed_max(signed_max.float().transpose(1, 2)))
        return torch.cat(outputs, dim=1)

    def forward(self, patches: torch.Tensor) -> dict[str, torch.Tensor]:
        """patches [B, T, n_mels] -> dict of logits, taggram, penultimate, mean_pool, max_pool."""
        front = self.front_end(patches)
        cnn1 = self.midend[0](front)
        cnn2 = self.midend[1](cnn1) + cnn1
        cnn3 = self.midend[2](cnn2) + cnn2
        features = torch.cat([front, cnn1, cnn2, cnn3], dim=1)  # [B, 753, T]
        max_pool, mean_pool = features.amax(dim=2), features.mean(dim=2)
        pooled = torch.stack([max_pool, mean_pool], dim=2).flatten(1)
        penultimate = self.dense_bn(F.relu(self.dense(self.pool_bn(pooled))))
        logits = self.output(penultimate)
        return {
            "logits": logits,
            "taggram": torch.sigmoid(logits),
            "penultimate": penultimate,
            "mean_pool": mean_pool,
            "max_pool": max_pool,
        }


class VggNet(nn.Module):
    """musicnn's VGG baseline (MSD_vgg, MTT_vgg; Pons & Serra 2019), eval-mode semantics of the TF original.

    Input BN on the [B, 1, T=187, F=96] patch -> five blocks of Conv 3x3 ('same', 128 filters)
    -> ReLU -> BN -> max-pool (valid): pools 4x1 stride 2x2, then 2x2/2 three times, then
    4x4/4, leaving [128, 2 (time), 1 (freq)] -> flattened in TF's (time, freq, channel) order to
    256 (`pool5`) -> Dense n_tags. Dropout layers of the original are identity at inference and
    omitted. A cheap network: about 0.2 GFLOP a patch against musicnn's 2.8.
    """

    POOLS = (
        ((4, 1), (2, 2)),
        ((2, 2), (2, 2)),
        ((2, 2), (2, 2)),
        ((2, 2), (2, 2)),
        ((4, 4), (4, 4)),
    )

    def __init__(self, n_tags: int = 50, filters: int = 128, n_mels: int = N_MELS) -> None:
        super().__init__()
        self.input_bn = nn.BatchNorm2d(1, eps=BN_EPS)
        self.convs = nn.ModuleList(
            nn.Conv2d(1 if i == 0 else filters, filters, 3, padding=1) for i in range(5)
        )
        self.bns = nn.ModuleList(nn.BatchNorm2d(filters, eps=BN_EPS) for _ in range(5))
        time, freq = PATCH_FRAMES, n_mels
        for (kt, kf), (st, sf) in self.POOLS:
            time, freq = (time - kt) // st + 1, (freq - kf) // sf + 1
        self.output = nn.Linear(filters * time * freq, n_tags)
        self.fast = True  # eval mode: the faster, equal computation described in `forward`
        self.precision = "fp32"  # one precision only; kept for MusicnnModel's interface

    def set_precision(self, precision: str) -> None:
        """Accepted for MusicnnModel's interface; the VGG always runs in fp32 (it is cheap)."""
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")

    def forward(self, patches: torch.Tensor) -> dict[str, torch.Tensor]:
        """patches [B, T, n_mels] -> dict of logits, taggram, pool5 [B, 256].

        Training runs the layers as listed. Eval mode (`fast`) computes the same values faster:

        * pool before ReLU and BN: BN with running statistics is a per-channel affine map
          a*r + b and ReLU is monotonic, so max-pool of BN(ReLU(z)) is a*ReLU(max-pool z) + b
          where a >= 0 and a*ReLU(min-pool z) + b where a < 0; the filters are multiplied by
          the sign of a so one max-pool gives either. The elementwise work then runs on the
          pooled map (4x smaller). Max, ReLU and negation are exact.
        * the first convolution (one input channel, the costliest layer in PyTorch's kernels)
          as one matrix product of 3x3 windows, computed only at the even frequencies the
          first pooling (4x1, stride 2x2) reads.
        * the other layers in channels-last memory, which the CPU convolutions prefer.
        """
        x = self.input_bn(patches.unsqueeze(1))
        if self.training or not self.fast:
            for conv, bn, (kernel, stride) in zip(self.convs, self.bns, self.POOLS, strict=True):
                x = F.max_pool2d(bn(F.relu(conv(x))), kernel, stride)
        else:
            x = self._first_block(x[:, 0])
            for index, (kernel, stride) in enumerate(self.POOLS[1:], start=1):
                conv = cast(nn.Conv2d, self.convs[index])
                assert conv.bias is not None
                scale, shift, sign = _bn_sign_affine(cast(nn.BatchNorm2d, self.bns[index]))
                weight = (conv.weight * sign[:, None, None, None]).contiguous(
                    memory_format=torch.channels_last
                )
                signed = F.conv2d(x, weight, conv.bias * sign, 1, 1)
                pooled = (F.max_pool2d(signed, kernel, stride) * sign[:, None, None]).relu_()
                x = torch.addcmul(shift[:, None, None], pooled, scale[:, None, None])
        pool5 = x.permute(0, 2, 3, 1).flatten(1)  # TF's NHWC flatten order
        logits = self.output(pool5)
        return {"logits": logits, "taggram": torch.sigmoid(logits), "pool5": pool5}

    def _first_block(self, x: torch.Tensor) -> torch.Tensor:
        """Eval mode: block 1 from the input-normalised patches [B, T, F] to its pooled,
        normalised output [B, C, T', F'] (channels-last memory)."""
        conv, bn = cast(nn.Conv2d, self.convs[0]), cast(nn.BatchNorm2d, self.bns[0])
        assert conv.bias is not None
        scale, shift, sign = _bn_sign_affine(bn)
        channels = int(conv.weight.shape[0])
        weight = (conv.weight[:, 0] * sign[:, None, None]).reshape(channels, 9).T.contiguous()
        bias = conv.bias * sign
        n, frames, bins = x.shape
        out_bins = (bins - 1) // 2 + 1  # the frequencies pool 1 (width 1, stride 2) reads
        out_frames = (frames - 4) // 2 + 1  # pool 1: 4 frames, stride 2
        padded = F.pad(x, (1, 1, 1, 1)).contiguous()  # 'same' for 3x3
        rows, cols = padded.shape[1], padded.shape[2]
        step = max(1, VGG_ROWS // (frames * out_bins))
        out = x.new_empty(n, out_frames, out_bins, channels)
        for start in range(0, n, step):
            part = padded[start : start + step]
            windows = part.as_strided(
                (len(part), frames, out_bins, 3, 3),
                (rows * cols, cols, 2, cols, 1),
                part.storage_offset(),
            )
            z = torch.addmm(bias, windows.reshape(-1, 9), weight).view(
                len(part), frames, out_bins, channels
            )
            pair = torch.maximum(z[:, :-1], z[:, 1:])  # frames j, j + 1
            pooled = torch.maximum(
                pair[:, 0 : 2 * out_frames : 2], pair[:, 2 : 2 * out_frames + 1 : 2]
            )
            # ReLU and BN while the chunk is in cache: [chunk, T', F', C]
            out[start : start + step] = torch.addcmul(shift, (pooled * sign).relu_(), scale)
        return out.permute(0, 3, 1, 2)  # NCHW shape, channels-last memory


def _bn_sign_affine(bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eval-mode BN as scale * r + shift per channel, and the sign of scale (+1 for >= 0)."""
    mean, var = bn.running_mean, bn.running_var
    assert mean is not None and var is not None  # BatchNorm2d tracks running stats by default
    scale = bn.weight / torch.sqrt(var + bn.eps)
    return scale, bn.bias - mean * scale, torch.where(scale >= 0, 1.0, -1.0)


VGG_ROWS = 32768  # rows of the first layer's product per chunk: [rows, 128] floats stay ~16 MB


ARCHITECTURES: dict[str, type[MusicnnNet] | type[VggNet]] = {"musicnn": MusicnnNet, "vgg": VggNet}


# --- loading and running ---------------------------------------------------------------------


class MusicnnModel:
    """A converted musicnn model ready to tag 16 kHz audio: network + tags + front-end settings."""

    def __init__(
        self,
        net: MusicnnNet | VggNet,
        tags: list[str],
        config: dict,
        name: str,
        device: str | torch.device = "cpu",
        precision: str = "fp32",
    ) -> None:
        """`precision`: "fp32" (default; matches the original), "bf16" (front end 2-3x faster on
        CPUs with AVX512-BF16/AMX; taggrams move by up to ~1e-2) or "auto" (bf16 where the CPU
        has it natively); see `MusicnnNet.set_precision`."""
        self.net = net.to(device).eval()
        self.net.set_precision(precision)
        self.tags = list(tags)
        self.config = config
        self.name = name
        self.device = torch.device(device)

    @classmethod
    def load(
        cls,
        name_or_dir: str | Path = DEFAULT_MODEL,
        device: str | torch.device = "cpu",
        precision: str = "fp32",
    ) -> MusicnnModel:
        """A shipped model by name ("MSD_musicnn", "MTT_musicnn", "MSD_vgg", "MTT_vgg") or a
        directory holding one; the config's "architecture" picks the network."""
        folder = Path(name_or_dir)
        if not folder.is_dir():
            folder = MODELS_DIR / str(name_or_dir)
        config_path, weights_path = folder / "config.json", folder / "model.safetensors"
        for path in (config_path, weights_path):
            if not path.is_file():
                raise ModelError(f"{path}: musicnn model file not found")
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
            tags = list(config["tags"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ModelError(f"{config_path}: not a musicnn config ({exc})") from None
        _check_front_end(config, config_path)
        architecture = ARCHITECTURES.get(config.get("architecture", "musicnn"))
        if architecture is None:
            raise ModelError(f"{config_path}: unknown architecture {config.get('architecture')!r}")
        net = architecture(n_tags=len(tags))
        _load_weights(net, weights_path)
        return cls(net, tags, config, config.get("name", folder.name), device, precision)

    @property
    def precision(self) -> str:
        return self.net.precision

    @torch.inference_mode()
    def extract_patches(self, patches: np.ndarray, batch_size: int = 64) -> dict[str, np.ndarray]:
        """Network outputs for ready-made patches [n, 187, 96]; one row per patch."""
        batch = np.asarray(patches, dtype=np.float32)
        if batch.ndim != 3 or batch.shape[2] != N_MELS or batch.shape[0] == 0:
            raise ValueError(f"expected patches [n, frames, {N_MELS}], got {batch.shape}")
        parts: dict[str, list[np.ndarray]] = {}
        for start in range(0, len(batch), batch_size):
            chunk = torch.from_numpy(batch[start : start + batch_size]).to(self.device)
            for key, value in self.net(chunk).items():
                parts.setdefault(key, []).append(value.cpu().numpy())
        return {key: np.concatenate(values) for key, values in parts.items()}

    def extract(
        self, audio_16k: np.ndarray | torch.Tensor, batch_size: int = 64
    ) -> dict[str, np.ndarray]:
        """Tag probabilities and features of mono 16 kHz audio, one row per 3-second patch.

        Keys: taggram [n, n_tags], logits, spectrogram [frames, 96], and for musicnn
        penultimate [n, 200], mean_pool [n, 753], max_pool [n, 753]; for VGG pool5 [n, 256].
        """
        spectrogram = musicnn_mel(audio_16k)
        outputs = self.extract_patches(to_patches(spectrogram), batch_size)
        outputs["spectrogram"] = spectrogram
        return outputs

    def extract_file(self, path: str | Path, batch_size: int = 64) -> dict[str, np.ndarray]:
        """`extract` on a decoded, resampled audio file (decode errors raise AudioError)."""
        audio = load_audio(path, sample_rate=SAMPLE_RATE)
        if audio.size == 0:
            raise AudioError(path, "no audio samples")
        return self.extract(audio, batch_size)


BACKBONE_MODEL = "MSD_musicnn"  # its penultimate layer saw the widest range of real music


@functools.lru_cache(maxsize=8)
def shared_model(name: str, device: str, precision: str = "fp32") -> MusicnnModel:
    """One loaded network per (model, device, precision) and process: the built-in tagger, the
    frozen backbone of `zsl-core train --backbone musicnn` and the feature cache share it."""
    return MusicnnModel.load(name, device=device, precision=precision)


def _check_front_end(config: dict, path: Path) -> None:
    """Refuse a config whose front end differs from the one this module computes."""
    expected = {
        "sample_rate": SAMPLE_RATE,
        "n_fft": N_FFT,
        "hop": HOP,
        "n_mels": N_MELS,
        "patch_frames": PATCH_FRAMES,
    }
    front = config.get("front_end", {})
    for key, value in expected.items():
        if front.get(key, value) != value:
            raise ModelError(
                f"{path}: front_end {key}={front.get(key)} but this build computes {value}"
            )


def _load_weights(net: MusicnnNet | VggNet, path: Path) -> None:
    try:
        state = load_file(str(path))
    except Exception as exc:  # safetensors raises several types for a damaged file
        raise ModelError(f"{path}: unreadable weights ({exc})") from None
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[1].strip() if "\n" in str(exc) else str(exc)
        raise ModelError(f"{path}: weights do not fit musicnn ({first})") from None
