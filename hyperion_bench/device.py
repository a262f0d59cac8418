"""What a trial does differently on an accelerator: value reads, random generators, peak memory.

**Value reads.** Every read of a device value in a trial's hot path goes through :func:`host_values`
(on a GPU each is a host sync that drains the queue): once per epoch for the loss, once per
evaluation, once per cell for a derived genotype. Keeping them in one function keeps them few and
visible, and lets the stand-in device tests (``tests/test_fake_devices.py``: the meta device and
fake CUDA tensors hold no values) replace it and run everything else of a trial.

**Peak GPU memory per phase, measured the same way for every method.** A peak only compares across
methods if it measures the same thing. A trial's memory has parts that are the same for every method
of a suite (the dataset resident on the device, the one-time cuBLAS workspace and CUDA context) and
parts that differ (the network, its optimiser state and activations). Every figure here is therefore
taken above one baseline, the allocation after the data reached the device and the library
workspaces exist, and per phase: a training (or search) step and the evaluation at batch 1024 are
kept apart, since the latter can dominate small-batch configs.

``torch.cuda.max_memory_allocated`` is the caching allocator's count, updated on the host when a
kernel's memory is allocated, so reading it needs no synchronisation. On other devices every figure
is 0 (a CPU trial uses no GPU memory; tables stay finite).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F

MB = 2**20
_WARM: set[torch.device] = set()


def host_values(t: torch.Tensor) -> Any:
    """``t``'s values as Python numbers (nested lists for a tensor with dimensions)."""
    return t.tolist()


def generator(device: torch.device, seed: int) -> torch.Generator | None:
    """A seeded generator on ``device``; None on the meta device, which has none (and no values to draw)."""
    if device.type == "meta":
        return None
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen


def warm_up(device: torch.device) -> None:
    """Create the per-process library state that stays allocated: the cuBLAS and cuBLASLt workspaces
    (a matmul, a matmul with bias and a batched one, forward and backward) and cuDNN's handle (a conv).
    Without this the first trial or benchmark row measured in a process absorbs them. Once per device."""
    if device.type != "cuda" or device in _WARM:
        return
    a = torch.randn(8, 8, device=device, requires_grad=True)
    x = torch.randn(1, 1, 8, 8, device=device, requires_grad=True)
    out = (a @ a).sum() + F.linear(a, a, a[0]).sum() + torch.bmm(a[None], a[None]).sum()
    out = out + F.conv2d(x, a[None, None, :3, :3]).sum()
    out.backward()
    torch.cuda.synchronize(device)
    _WARM.add(device)


class PeakMeter:
    """Peaks of named phases, in MB above the baseline taken by :meth:`baseline`."""

    def __init__(self, device: torch.device):
        self.device = device
        self.cuda = device.type == "cuda"
        self.base = 0
        self.peaks: dict[str, float] = {}

    def baseline(self) -> float:
        """Take the current allocation as the baseline; returns it in MB (0 off CUDA)."""
        if self.cuda:
            self.base = torch.cuda.memory_allocated(self.device)
        return self.base / MB

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """The peak while the block runs (what was already allocated counts: the model, optimiser state);
        a phase entered again keeps the largest peak."""
        if not self.cuda:
            yield
            return
        torch.cuda.reset_peak_memory_stats(self.device)
        yield
        peak = (torch.cuda.max_memory_allocated(self.device) - self.base) / MB
        self.peaks[name] = max(self.peaks.get(name, 0.0), peak)

    def mb(self, name: str) -> float:
        return self.peaks.get(name, 0.0)
