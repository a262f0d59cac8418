"""Peak tensor memory of one training step, on any device (PyTorch's ``MemTracker``).

Why: ``torch.cuda.max_memory_allocated`` exists only on a GPU, and no GPU is lent to this project, yet
the Hyperion paper's memory claim (reduced supernets need 52-62% less memory than DARTS') is about how
many bytes of parameters, gradients, optimiser state and activations a search step keeps alive, which
does not depend on the device. ``torch.distributed._tools.mem_tracker.MemTracker`` counts exactly
those tensors through a dispatch mode and module hooks, on the CPU too. What it does not see: the CUDA
caching allocator's rounding and fragmentation, cuDNN/cuBLAS workspaces and CUDA-graph pools, which a
GPU run adds on top (``search_peak_gpu_mem_mb``).

Two adaptations, both here so callers stay plain:
- ``MemTracker`` tracks one iteration and refuses a root module that runs forward a second time ("does
  not support memory tracking for multiple iterative calls"). A DARTS step runs the supernet twice
  (architecture step, weight step; four times in second order), so a second root forward restarts
  that module's per-module statistics. The device-wide peak, which is what we report, is kept.
- Second order calls the supernet through ``functional_call`` with shifted weights that do not require
  gradients; ``MemTracker`` then tries to hook them and fails. Hooks are installed only where every
  parameter of the module requires a gradient (gradients are allocated inside the tracked step and
  counted either way).
- ``MemTracker`` also keeps a per-module peak, updated after every operator by a loop over every module
  seen so far: a supernet has thousands of modules, which made one tracked step of the full Table 3
  supernet take minutes. Only the device-wide peak is reported here, so only it is updated (the
  per-module statistics are not used).
The tracker still costs a Python call per operator, so a search tracks one step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch import nn
from torch.distributed._tools.mem_tracker import MemTracker

T = TypeVar("T")


class _StepTracker(MemTracker):
    """``MemTracker`` that accepts a root module running forward several times in one step."""

    def _pre_fw_hook(self, module: nn.Module, inputs: Any) -> None:
        if module in self.memory_tracking and not self._mod_tracker.is_bw:
            parents = set(self._mod_tracker.parents) - {self._mod_tracker.get_known_fqn(module)}
            if parents == {"Global"}:  # the root again: a new forward of the same step
                self.memory_tracking.pop(module)
        super()._pre_fw_hook(module, inputs)

    def _update_peak_stats(self, peak_state: Any) -> None:
        """The device-wide peak only (MemTracker also walks every tracked module per operator)."""
        for dev, dev_snap in self._curr_mem_snap.items():
            if self._peak_mem.get(dev, 0) < dev_snap["Total"]:
                self._peak_mem[dev] = dev_snap["Total"]
                self._peak_mem_snap[dev] = dict(dev_snap)

    def _track_module_params_and_buffers(self, module: nn.Module, install_grad_hooks: bool = True) -> tuple[int, int]:
        install = install_grad_hooks and all(p.requires_grad for p in module.parameters())
        return super()._track_module_params_and_buffers(module, install_grad_hooks=install)


def step_peak_mb(step: Callable[[], T], *tracked: nn.Module | torch.optim.Optimizer) -> tuple[T, float]:
    """Run ``step()`` once under a tracker; returns its result and the peak MiB of live tensors during it.

    ``tracked`` are the modules and optimisers whose tensors exist before the step (parameters, buffers,
    optimiser state): they count from the start. Tensors the step allocates (activations, gradients,
    temporaries, new optimiser state) count while alive. Summed over devices (a step uses one)."""
    tracker = _StepTracker()
    tracker.track_external(*tracked)
    with tracker:
        out = step()
    peak = tracker.get_tracker_snapshot("peak")
    return out, sum(snap["Total"] for snap in peak.values()) / 2**20
