"""The CUDA paths, checked without a GPU on two stand-ins for a second device (issue 16).

Why two: under PyTorch's ``FakeTensorMode`` tensors live on "cuda" without a GPU, forward passes run
and a CPU/CUDA mismatch raises, but backward does not (the autograd engine asks for a real CUDA
context). On the ``meta`` device forward, backward and an optimiser step run and a CPU/meta mismatch
raises, but nothing can read a value (``.item()``, ``.tolist()``, ``float(t)``): so a step that runs
on meta also proves it has no host sync. Both accept 0-dim CPU tensors next to device tensors, as
CUDA does. Where the code reads values on purpose (the genotype, an epoch's loss), it does so
through one small function that these tests replace, so everything before the read is covered.

``HostTraffic`` records what would stall a GPU queue: reads of device values (``aten._local_scalar_dense``;
a meta tensor raises there anyway, the record names it) and copies between the CPU and the device.
"""

from __future__ import annotations

import pytest
import torch
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.utils._python_dispatch import TorchDispatchMode

from hyperion_bench import device
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
        return 0.0 if not shape else [zeros(shape[1:]) for _ in range(shape[0])]

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
        if name == "aten._local_scalar_dense" and args[0].device.type != "cpu":  # a CPU scalar is no sync
            self.reads.append(f"{name} on {args[0].device}")
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
    monkeypatch.setattr(device, "host_values", zeros_like_values)
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

    monkeypatch.setattr(device, "host_values", host)
    with FakeTensorMode():
        with torch.device("cuda"):  # built there: a fake module cannot be moved (.to)
            net = tiny_supernet(fast)
        assert net.alphas_normal[0].device.type == "cuda"
        geno = net.genotype()  # outside the device context: a tensor made without a device is on the CPU
    assert geno.reduce is not None
    assert seen and all(d.type == "cuda" for d in seen)


# -- finding 4 and the search step: no host sync, no host-to-device copy per step ----------------------------

def search_batches(device, n=4):
    torch.manual_seed(1)
    x, y = torch.randn(2 * n, *IN_SHAPE), torch.randint(0, 3, (2 * n,))
    x, y = x.to(device), y.to(device)
    return x[:n], y[:n], x[n:], y[n:]


@pytest.mark.parametrize("inner", ["reference-1", "reference-2", "fast-1", "fast-2", "hyperdarts"])
def test_a_search_step_runs_on_meta_without_host_traffic(inner):
    """DARTS' step (first and second order, reference and fast supernet) and hyperDARTS' step, with
    the size penalty, on the meta device: forward, backward and both optimiser steps run, and nothing
    reads a value or copies between host and device. On commit 37ca364 the second-order step read
    ``float(norm)`` (a host sync per step) and the size penalty copied its tables to the device on
    every call (``n.to(a.device)``)."""
    from hyperion_bench.nn.darts import DartsSettings, make_optimizers, search_step
    from hyperion_bench.nn.hyperdarts import HyperSuperNetwork
    from hyperion_bench.oneshot import expected_size_penalty

    kind, order = (inner.split("-") + ["1"])[:2]
    # the reference with one (normal) cell: its reductions run the same modules; the fast path groups them
    net = tiny_supernet(fast=kind != "reference", cells=1 if kind == "reference" else 3).to("meta")
    penalty = expected_size_penalty(net, 1e-5)
    if kind == "hyperdarts":
        net = HyperSuperNetwork(net, "mlp")
    s = DartsSettings(batch_size=4, order=int(order))
    w_opt, a_opt, _ = make_optimizers(net, s, 10)
    batches = search_batches("meta")
    with HostTraffic() as traffic:
        loss = search_step(net, w_opt, a_opt, s, *batches, alpha_penalty=penalty)
    assert loss.device.type == "meta" and loss.dim() == 0
    assert all(a.grad is not None and a.grad.device.type == "meta" for a in net.arch_parameters())
    assert traffic.reads == [] and traffic.copies == []


def test_the_size_penalty_reads_nothing_from_the_host():
    """The size tables are built on the alphas' device once; a call is device work only."""
    from hyperion_bench.oneshot import expected_size_penalty

    net = tiny_supernet(fast=True).to("meta")
    penalty = expected_size_penalty(net, 1e-5)
    with HostTraffic() as traffic:
        value = penalty()
    assert value.device.type == "meta" and value.dim() == 0
    assert traffic.copies == [] and traffic.reads == []


def test_augmentation_runs_on_meta_without_a_host_read():
    """Flip and translation are drawn and applied on the device. On commit 37ca364 the translation was
    read to the host (``.tolist()``) once per training batch, a sync that stalls the GPU queue."""
    from hyperion_bench.evaluate import augment_images

    x = torch.empty(4, *IN_SHAPE, device="meta")
    with HostTraffic() as traffic:
        out = augment_images(x, None)
    assert out.shape == x.shape and out.device.type == "meta"
    assert traffic.reads == [] and traffic.copies == []


def test_augmentation_is_a_flip_and_a_translation_of_the_padded_batch():
    """The device-side crop computes what the slicing did: the same draws, the same pixels."""
    from hyperion_bench.evaluate import augment_images

    x = torch.randn(5, *IN_SHAPE)
    gen = torch.Generator().manual_seed(3)
    got = augment_images(x, gen)
    gen.manual_seed(3)
    flip = torch.rand(5, generator=gen) < 0.5
    pad = max(1, IN_SHAPE[-1] // 8)
    dx, dy = torch.randint(0, 2 * pad + 1, (2,), generator=gen).tolist()
    flipped = torch.where(flip[:, None, None, None], x.flip(-1), x)
    want = torch.nn.functional.pad(flipped, (pad,) * 4)[..., dy:dy + IN_SHAPE[1], dx:dx + IN_SHAPE[2]]
    assert torch.equal(got, want)


# -- finding 2: CUDA-graph outputs are overwritten by the next replay -----------------------------------------

def test_second_order_step_survives_outputs_overwritten_by_the_next_forward(monkeypatch):
    """Under ``torch.compile(mode="reduce-overhead")`` each forward of the supernet replays a CUDA graph
    whose outputs overwrite those of the previous replay, gradients of its backward included
    ("accessing tensor output of CUDAGraphs that has been overwritten"). Simulated on the CPU: every
    tensor ``torch.autograd.grad`` returned is filled with NaN when the supernet's next forward starts.
    The second-order step must give the same alphas and weights as without. On commit 37ca364 it read
    the first shifted gradient set after the second shifted forward."""
    from hyperion_bench.nn.darts import DartsSettings, make_optimizers, search_step

    def one_step(poison: bool) -> list[torch.Tensor]:
        net = tiny_supernet(fast=True, cells=1)  # the step's code is the same for the reference supernet
        s = DartsSettings(batch_size=4, order=2)
        w_opt, a_opt, _ = make_optimizers(net, s, 10)
        returned: list[torch.Tensor] = []
        if poison:
            real_grad = torch.autograd.grad

            def grad(*args, **kwargs):
                out = real_grad(*args, **kwargs)
                returned.extend(g for g in out if g is not None)
                return out

            def overwrite(module, inputs):
                with torch.no_grad():
                    for g in returned:
                        g.fill_(float("nan"))
                returned.clear()

            monkeypatch.setattr(torch.autograd, "grad", grad)
            net.register_forward_pre_hook(overwrite)
        search_step(net, w_opt, a_opt, s, *search_batches("cpu"))
        monkeypatch.undo()
        return [p.detach().clone() for p in net.parameters()]

    clean, poisoned = one_step(False), one_step(True)
    assert all(torch.isfinite(p).all() for p in poisoned)
    for a, b in zip(clean, poisoned, strict=True):
        torch.testing.assert_close(b, a, rtol=0, atol=0)


# -- a whole trial: search, derivation, building, one epoch with augmentation, evaluation ---------------------

TRIAL_SUITE = """
[oneshot]
epochs = 1
batch_size = 4
"""
FIXED = {"cells": 1, "channels": 4, "batch_size": 4, "augment": True, "op@0": "conv", "op@1": "sep_conv",
         "kernel@0": 3, "kernel@1": 3, "activation@0": "relu", "activation@1": "tanh", "edges@0": "0+1",
         "edges@1": "0+2"}  # a cell that is not searched names its inputs (issue 12: no default chain)
TRIALS = {"fixed": FIXED,
          "darts": {**{k: v for k, v in FIXED.items() if not k.startswith("op@")}, "inner@op": "conv|skip|avg_pool"},
          "hyperdarts": {**{k: v for k, v in FIXED.items() if not k.startswith("op@")},
                         "inner@op": "conv|skip|avg_pool", "inner_optimizer": "hyperdarts"}}


class CountingReads:
    """Stand-in for ``device.host_values``: counts the reads, returns zeros."""

    def __init__(self):
        self.calls = 0

    def __call__(self, t):
        self.calls += 1
        return zeros_like_values(t)


@pytest.mark.parametrize("kind", list(TRIALS))
def test_a_whole_trial_runs_on_meta_with_constant_host_traffic(kind, tmp_path, monkeypatch):
    """``evaluate`` on the meta device, everything of a trial but the values: the DARTS or hyperDARTS
    search with the size penalty, the genotype from device-resident alphas, the derived network built
    and trained (augmentation on), validation and test passes. The reads (``device.host_values``,
    replaced) and the host<->device copies are counted for 1 and 2 epochs of 2 steps: a second epoch
    adds exactly its two reads (training loss, validation), and no copy."""
    from conftest import CELL_SUITE, make_tiny_data, write_suite
    from hyperion_bench.evaluate import evaluate
    from hyperion_bench.suites import load_suite

    suite = load_suite(write_suite(tmp_path, CELL_SUITE + TRIAL_SUITE))
    data = make_tiny_data(IN_SHAPE, n=16)  # 8 training images: 2 steps of 4
    counts = []
    for epochs in (1, 2):
        reads = CountingReads()
        monkeypatch.setattr(device, "host_values", reads)
        with HostTraffic() as traffic:
            metrics = evaluate(suite, TRIALS[kind], data, epochs=epochs, device="meta")
        assert traffic.reads == []
        counts.append((reads.calls, len(traffic.copies)))
    assert metrics["epoch"] == 2 and metrics["peak_gpu_mem_mb"] == 0.0
    assert ("search_steps" in metrics) == (kind != "fixed") and "genotype" in metrics
    (reads1, copies1), (reads2, copies2) = counts
    assert reads2 == reads1 + 2 and copies2 == copies1, counts


@pytest.mark.parametrize("kind", ["reference", "fast", "hyperdarts"])
def test_forward_passes_on_fake_cuda(kind):
    """On "cuda" fake tensors, the forward half of a trial: a supernet's training forward (reference,
    fast, or with hyperDARTS' generated weights) and its size penalty, the derived network's training
    forward on an augmented batch and its evaluation sums. Backward cannot run there (no CUDA context);
    the meta tests above cover it."""
    from hyperion_bench.evaluate import augment_images, loss_error_sums
    from hyperion_bench.nn.cell_network import CellNetwork
    from hyperion_bench.nn.genotype import Edge
    from hyperion_bench.nn.hyperdarts import HyperSuperNetwork
    from hyperion_bench.oneshot import expected_size_penalty

    node = (Edge(0, "sep_conv", 3, "tanh"), Edge(1, "skip", 1, "relu"))
    geno = Genotype((node, (Edge(2, "conv", 3, "relu"), Edge(0, "avg_pool", 3, "relu"))))
    with FakeTensorMode():
        with torch.device("cuda"):
            net = tiny_supernet(fast=kind != "reference")
            penalty = expected_size_penalty(net, 1e-5)
            if kind == "hyperdarts":
                net = HyperSuperNetwork(net, "mlp")
            derived = CellNetwork(IN_SHAPE, 3, geno, cells=3, channels=4)
            x, y = torch.randn(4, *IN_SHAPE), torch.randint(0, 3, (4,))
        # outside the device context: whatever the code makes without a device lands on the CPU
        logits = net.train()(x)
        assert logits.device.type == "cuda" and logits.shape == (4, 3)
        assert penalty().device.type == "cuda"
        out = derived.train()(augment_images(x, None))
        assert out.device.type == "cuda" and out.shape == (4, 3)
        sums = loss_error_sums(derived, x, y, batch=2)
        assert sums.device.type == "cuda" and sums.shape == (2,)
