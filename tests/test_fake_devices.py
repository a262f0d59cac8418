"""The CUDA paths, checked without a GPU on two stand-ins for a second device (issue 16).

Why two: under PyTorch's ``FakeTensorMode`` tensors live on "cuda" without a GPU, forward passes run
and a CPU/CUDA mismatch raises, but backward does not (the autograd engine asks for a real CUDA
context). On the ``meta`` device forward, backward and an optimiser step run and a CPU/meta mismatch
raises, but nothing can read a value (``.item()``, ``.tolist()``, ``float(t)``): so a step that runs
on meta also proves it has no host sync. Both accept 0-dim CPU tensors next to device tensors, as
CUDA does. Where the code reads values on purpose (the genotype, an epoch's loss), it does so
through one small function that these tests replace, so everything before the read is covered.

``HostTraffic`` records what would stall a GPU queue: value reads (``aten._local_scalar_dense``) and
copies between the CPU and the device.
"""

from __future__ import annotations

import pytest
import torch
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.utils._python_dispatch import TorchDispatchMode

from hyperion_bench.nn import supernet as supernet_module
from hyperion_bench.nn.genotype import Genotype
from hyperion_bench.nn.supernet_fast import make_supernet

IN_SHAPE = (3, 8, 8)
# 'none' present (derivation skips it), a parameter-free pool and skip, two parametric ops
CANDS = [("none", 0, "-"), ("avg_pool", 3, "-"), ("skip", 0, "-"), ("conv", 3, "relu"), ("sep_conv", 3, "tanh")]


def tiny_supernet(fast: bool, cells: int = 3, nodes: int = 2):
    """3 cells: a normal cell and two reduction cells (reductions at cells//3 and 2*cells//3)."""
    torch.manual_seed(0)
    return make_supernet(IN_SHAPE, 3, [CANDS] * nodes, cells=cells, channels=4, fast=fast)


def zeros_like_values(t: torch.Tensor) -> list:
    """Stand-in for a host read on a device without values: nested lists of zeros of ``t``'s shape
    (plain Python: under FakeTensorMode even a new CPU tensor has no values)."""
    def zeros(shape):
        return [0.0] * shape[0] if len(shape) == 1 else [zeros(shape[1:]) for _ in range(shape[0])]

    return zeros(tuple(t.shape))


class HostTraffic(TorchDispatchMode):
    """Records value reads and CPU<->device copies dispatched while active."""

    def __init__(self):
        super().__init__()
        self.reads: list[str] = []
        self.copies: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = str(func.overloadpacket)
        if name == "aten._local_scalar_dense":
            self.reads.append(name)
        out = func(*args, **kwargs)
        sources = [a.device for a in args if isinstance(a, torch.Tensor) and a.dim() > 0]
        if name in ("aten._to_copy", "aten.copy_") and isinstance(out, torch.Tensor) and any(
                d.type != out.device.type for d in sources):
            self.copies.append(f"{name} {sources} -> {out.device}")
        return out


# -- finding 1: the genotype from device-resident alphas ---------------------------------------------------

@pytest.mark.parametrize("fast", [False, True], ids=["reference", "fast"])
def test_genotype_derives_from_alphas_on_meta(fast, monkeypatch):
    """``derive_cell`` on alphas that live on another device: its masks must be made there too.

    On commit 37ca364 this raised "Tensor on device cpu is not on the expected device meta" (a CPU
    mask next to the device softmax: every one-shot trial failed on a GPU once its search ended)."""
    monkeypatch.setattr(supernet_module, "_host_values", zeros_like_values, raising=False)
    net = tiny_supernet(fast).to("meta")
    assert net.has_reduction
    geno = net.genotype()
    assert isinstance(geno, Genotype) and geno.reduce is not None
    for cell in (geno.normal, geno.reduce):
        assert [len(node) for node in cell] == [2, 2]  # the values are stand-ins: the structure is what counts


@pytest.mark.parametrize("fast", [False, True], ids=["reference", "fast"])
def test_genotype_derives_from_alphas_on_fake_cuda(fast, monkeypatch):
    """The same on "cuda" (fake tensors): the derivation's one host transfer gets a tensor that was
    computed on the alphas' device."""
    seen = []

    def host(t):
        seen.append(t.device)
        return zeros_like_values(t)

    monkeypatch.setattr(supernet_module, "_host_values", host, raising=False)
    with FakeTensorMode():
        with torch.device("cuda"):  # built there: a fake module cannot be moved (.to)
            net = tiny_supernet(fast)
        assert net.alphas_normal[0].device.type == "cuda"
        geno = net.genotype()  # outside the device context: a tensor made without a device is on the CPU
    assert geno.reduce is not None
    assert seen and all(d.type == "cuda" for d in seen)
