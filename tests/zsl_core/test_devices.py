"""The one device resolver: 'auto', 'cpu', 'cuda[:N]', refused at once when not there."""

from __future__ import annotations

import pytest
import torch

from zsl_core.devices import cuda_available, resolve_device
from zsl_core.errors import ModelError


def test_auto_and_cpu():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


def test_cuda_without_a_gpu_is_one_line(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert not cuda_available()
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ModelError, match="no CUDA GPU"):
        resolve_device("cuda")


def test_cuda_index_follows_the_rank_and_the_gpus_visible(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda") == torch.device("cuda")
    assert resolve_device("cuda", local_rank=1) == torch.device("cuda", 1)
    with pytest.raises(ModelError, match="only 2 GPU"):
        resolve_device("cuda:2")
