"""Peak tensor memory of one training step, on any device (PyTorch's ``MemTracker``).

Why: ``torch.cuda.max_memory_allocated`` exists only on a GPU, and no GPU is lent to this project, yet
the Hyperion paper's memory claim (reduced supernets need 52-62% less memory than DARTS') is about how
many bytes of parameters, gradients, optimiser state and activations a search step keeps alive, which
does not depend on the device. ``torch.distributed._tools.mem_tracker.MemTracker`` counts exactly
those tensors through a dispatch mode (every storage an operator creates, while it lives) plus the
modules and optimisers it is given, on the CPU too, and under ``FakeTensorMode`` (shapes without data)
as well. What it does not see: the CUDA caching allocator's rounding and fragmentation, cuDNN/cuBLAS
workspaces and CUDA-graph pools, which a GPU run adds on top (``search_peak_gpu_mem_mb``).

One adaptation: ``MemTracker``'s module hooks, which only sort the same bytes into categories
(activation, temporary, gradient, ...) per module, are switched off. They cost about as much as the
rest of the tracking; they refuse a root module that runs forward twice in one step ("does not support
memory tracking for multiple iterative calls"), and a DARTS step runs the supernet twice (four times
in second order); and they fail on ``functional_call``'s shifted weights, which do not require
gradients. The device-wide total, the one number reported here, is the same with or without them
(checked on first and second order, reference and fast supernets, real and fake tensors).
The tracker still costs a Python call per operator, so a search tracks one step. Garbage collection
is paused during the step (after a collection): otherwise a tensor kept alive by a reference cycle
dies whenever the collector happens to run, and the same step measured twice in one process gave
peaks 3% apart (seen in tests/test_oneshot.py's real-vs-fake check).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch import nn
from torch.distributed._tools.mem_tracker import MemTracker

T = TypeVar("T")


class _TotalTracker(MemTracker):
    """``MemTracker`` that counts every live tensor but keeps no per-module statistics."""

    def _pre_fw_hook(self, module: nn.Module, inputs: Any) -> None:
        pass

    def _post_fw_hook(self, module: nn.Module, inputs: Any, outputs: Any) -> None:
        pass

    def _pre_bw_hook(self, module: nn.Module, args: Any) -> None:
        pass

    def _post_bw_hook(self, module: nn.Module, args: Any) -> None:
        pass


def step_peak_mb(step: Callable[[], T], *tracked: nn.Module | torch.optim.Optimizer) -> tuple[T, float]:
    """Run ``step()`` once under a tracker; returns its result and the peak MiB of live tensors during it.

    ``tracked`` are the modules and optimisers whose tensors exist before the step (parameters, buffers,
    optimiser state): they count from the start. Tensors the step allocates (activations, gradients,
    temporaries, new optimiser state) count while alive. Summed over devices (a step uses one)."""
    gc.collect()  # what earlier steps left in reference cycles is gone before the step starts
    tracker = _TotalTracker()
    tracker.track_external(*tracked)
    enabled = gc.isenabled()
    gc.disable()  # a tensor freed with a collected cycle mid-step would make the peak depend on GC timing
    try:
        with tracker:
            out = step()
    finally:
        if enabled:
            gc.enable()
    peak = tracker.get_tracker_snapshot("peak")
    return out, sum(snap["Total"] for snap in peak.values()) / 2**20
