"""Tests from the mutation runs' survivors of nn/darts.py and nn/hyperdarts.py (issue 18;
results/mutation/2026-12-02-darts-after/ and 2026-12-02-hyperdarts/). Each test names the behaviour it
pins; the survivors that no test can tell apart from the real code are listed, with their reasons,
next to the runs' scores (results/mutation/).

DARTS: the weights' cosine schedule spans the whole search, the deadline never cuts the measured step,
a diverged search says where, the measured step's peak holds the supernet, both optimisers' state and
one (not two) sets of weight gradients but nothing of the previous step's alpha gradients, the
Hessian-vector product's finite difference is the paper's (weights moved by 0.01 in norm), and the whole
search runs on the data's device.
hyperDARTS: the heads are made in the supernet's dtype and on its device, ``hidden`` is honoured and
validated, the default width is A // 2 down to one-node cells, the parameter count is the module
docstring's, and the wrapped supernet keeps its cell weights' shapes as unsaved buffers.
"""

from __future__ import annotations

import math
import time

import pytest
import torch
import torch.nn.functional as F
from test_fake_devices import HostTraffic, zeros_like_values
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from hyperion_bench import device
from hyperion_bench.nn import darts
from hyperion_bench.nn.darts import DartsSettings, SearchDiverged, make_optimizers, search, unrolled_alpha_grads
from hyperion_bench.nn.hyperdarts import HyperSuperNetwork
from hyperion_bench.nn.supernet import SuperNetwork

CONV_SKIP = [("conv", 3, "relu"), ("skip", 0, "-")]


def tiny_net(in_shape: tuple[int, ...] = (1, 6, 6), channels: int = 4, nodes: int = 2,
             candidates: list | None = None, cells: int = 1, seed: int = 0) -> SuperNetwork:
    torch.manual_seed(seed)
    return SuperNetwork(in_shape, 3, [candidates or CONV_SKIP] * nodes, cells=cells, channels=channels)


def data(n: int, in_shape: tuple[int, ...] = (1, 6, 6), seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, *in_shape, generator=g), torch.arange(n) % 3


def nbytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


# -- DARTS: the search loop --------------------------------------------------------------------------------

def test_the_weights_learning_rate_follows_one_cosine_over_all_steps_of_the_search(monkeypatch):
    """SGD's lr goes from w_lr at the first step to w_lr_min after the last one, as one half cosine over
    epochs x steps-per-epoch (DARTS' CosineAnnealingLR over the search), not over some other count."""
    lrs = []
    real = darts.search_step

    def recording(net, w_opt, *args):
        lrs.append(w_opt.param_groups[0]["lr"])
        return real(net, w_opt, *args)

    monkeypatch.setattr(darts, "search_step", recording)
    s = DartsSettings(epochs=2, batch_size=4, w_lr=0.1, w_lr_min=0.01)
    search(tiny_net(), *data(32), s)  # 16 training samples: 4 steps an epoch, 8 in all
    total = 8
    want = [s.w_lr_min + (s.w_lr - s.w_lr_min) * (1 + math.cos(math.pi * k / total)) / 2 for k in range(total)]
    assert lrs == pytest.approx(want, rel=1e-9)


def test_a_past_deadline_does_not_end_the_search_before_the_measured_step_with_one_step_epochs():
    """One step per epoch (half of the data within one batch): the measured step is the second epoch's, and a
    deadline already past still lets the search reach it (then stops): every search records its memory."""
    out = search(tiny_net(), *data(6), DartsSettings(epochs=4, batch_size=64), deadline=time.time() - 1,
                 track_memory=True)
    assert out["search_steps"] == 2 and out["search_epochs"] == 2
    assert math.isfinite(out["search_peak_tensor_mb"]) and out["search_peak_tensor_mb"] > 0


def test_a_diverged_search_says_which_loss_in_which_epoch():
    def poison(epoch: int, loss: float) -> None:
        if epoch == 1:
            with torch.no_grad():
                next(net.weights()).fill_(float("nan"))

    net = tiny_net()
    with pytest.raises(SearchDiverged, match=r"^supernet training loss became nan in search epoch 2$"):
        search(net, *data(16), DartsSettings(epochs=3, batch_size=4), on_epoch=poison)


def tracked_peak(net: SuperNetwork, **settings) -> float:
    """The bytes ``search`` reports for its measured step (the second of two)."""
    s = DartsSettings(epochs=1, batch_size=4, **settings)
    return search(net, *data(16), s, track_memory=True)["search_peak_tensor_mb"] * 2**20


def test_the_measured_peak_counts_what_the_supernet_and_sgd_hold_before_the_step():
    """Tensors that exist before the measured step count from its start, touched by it or not: a buffer of
    the supernet (here 256 KiB of ballast, as hyperDARTS keeps the initial cell weights) adds exactly its
    bytes, and SGD's momentum (one buffer per weight) exactly the weights' bytes."""
    plain = tracked_peak(tiny_net())
    ballasted = tiny_net()
    ballasted.register_buffer("ballast", torch.zeros(2**16))
    assert tracked_peak(ballasted) - plain == pytest.approx(2**18, abs=1)
    no_momentum = tracked_peak(tiny_net(), w_momentum=0.0)
    assert plain - no_momentum == pytest.approx(nbytes(tiny_net().weights()), abs=1)


def test_the_measured_peak_holds_nothing_of_the_previous_steps_alpha_gradients(monkeypatch):
    """The architecture step frees the alphas' previous gradients before it makes new ones: a second-order
    search (its peak lies in the architecture step) measures the same peak as when they are dropped after
    every step."""
    with_leftovers = tracked_peak(tiny_net(), order=2)
    real = darts.search_step

    def dropping(net, *args):
        loss = real(net, *args)
        for a in net.arch_parameters():
            a.grad = None
        return loss

    monkeypatch.setattr(darts, "search_step", dropping)
    assert tracked_peak(tiny_net(), order=2) == with_leftovers


def test_the_measured_step_holds_one_set_of_weight_gradients_not_two():
    """On a supernet whose weights dominate its activations (1x2x2 inputs, 32 channels) the measured step's
    peak is parameters + buffers + SGD's momentum + the step's weight gradients and little more: the
    previous step's gradients are released before the new ones are made, so there is never a second set.
    The figure is also the search record's one memory column (with the step's time)."""
    shape = (1, 2, 2)
    net = tiny_net(shape, channels=32)
    out = search(net, *data(8, shape), DartsSettings(epochs=1, batch_size=2), track_memory=True)
    assert set(out) == {"search_epochs", "search_steps", "search_loss", "search_s", "search_peak_tensor_mb",
                        "search_tracked_step_s"}  # the record's columns: no others
    peak = out["search_peak_tensor_mb"] * 2**20
    weights = nbytes(net.weights())
    held = nbytes(net.parameters()) + nbytes(net.buffers())
    assert held + 2 * weights <= peak < held + 2.5 * weights


def test_the_hessian_vector_products_weights_are_moved_by_eps_scale_in_norm(monkeypatch):
    """DARTS' central difference: w+- = w +- eps * dw with eps = 0.01 / ||dw|| (dw the gradient of the
    validation loss at the virtual step w'): both shifted weight sets lie exactly 0.01 (``eps_scale``) from
    w, on either side, whatever the gradient's size."""
    seen = []
    real = darts._loss
    monkeypatch.setattr(darts, "_loss", lambda net, params, x, y: seen.append(params) or real(net, params, x, y))
    net = tiny_net()
    names = {id(p): n for n, p in net.named_parameters()}
    w = {names[id(p)]: p.detach().clone() for p in net.weights()}
    (x, y), s = data(8), DartsSettings(order=2)
    w_opt, _, _ = make_optimizers(net, s, 10)
    for eps_scale in (0.01, 0.5):
        seen.clear()
        unrolled_alpha_grads(net, w_opt, 0.025, x[:4], y[:4], x[4:], y[4:], eps_scale=eps_scale)
        plus, minus = seen[2], seen[3]  # after the training gradient and the virtual step's validation loss
        dist = [math.sqrt(sum(float(((shifted[n] - v) ** 2).sum()) for n, v in w.items())) for shifted in (plus, minus)]
        assert dist == pytest.approx([eps_scale] * 2, rel=1e-4)
        for n, v in w.items():
            torch.testing.assert_close(plus[n] + minus[n], 2 * v)


class HostTensors(TorchDispatchMode):
    """Records every operator that brings a host (CPU) tensor into device work: a CPU output next to device
    tensors, or a CPU input with dimensions (a 0-dim CPU input is a scalar, which CUDA accepts; Adam's step
    counter is one)."""

    def __init__(self):
        super().__init__()
        self.ops: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        ins = [t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
        outs = [t for t in tree_leaves(out) if isinstance(t, torch.Tensor)]
        on_device = any(t.device.type != "cpu" for t in ins + outs)
        if on_device and (any(t.device.type == "cpu" for t in outs)
                          or any(t.device.type == "cpu" and t.dim() > 0 for t in ins)):
            self.ops.append(str(func))
        return out


def test_the_whole_search_runs_on_the_datas_device(monkeypatch):
    """On the meta device (no values: the per-epoch loss read is replaced), a two-epoch search draws its
    split and each epoch's orders on the device and sums the epoch's losses there: nothing is made on the
    host or copied between host and device. On a GPU a host-side draw with the search's CUDA generator
    fails, and a host-side loss sum would be a sync per step."""
    monkeypatch.setattr(device, "host_values", zeros_like_values)
    net = tiny_net().to("meta")
    x, y = torch.empty(16, 1, 6, 6, device="meta"), torch.zeros(16, dtype=torch.long, device="meta")
    with HostTraffic() as traffic, HostTensors() as host:
        out = search(net, x, y, DartsSettings(epochs=2, batch_size=4))
    assert out["search_steps"] == 4
    assert traffic.copies == [] and traffic.reads == [] and host.ops == []


# -- hyperDARTS: what the hypernetwork is made of -------------------------------------------------------------

def test_heads_are_made_in_the_supernets_dtype():
    """A double-precision supernet (e.g. for gradient checks) gets double-precision heads, made so, and runs."""
    hyper = HyperSuperNetwork(tiny_net(cells=3).double(), "mlp")
    assert {p.dtype for p in hyper.parameters()} == {torch.float64}
    x, y = data(4)
    loss = F.cross_entropy(hyper(x.double()), y)
    assert loss.dtype == torch.float64 and torch.isfinite(loss)


def test_heads_are_made_on_the_supernets_device():
    """The heads (about 113 M parameters on the classic supernet) are made where the supernet is, not on the
    host: on the meta device every parameter of the hypernetwork is a meta tensor and the forward runs there."""
    hyper = HyperSuperNetwork(tiny_net(cells=3).to("meta"), "mlp")
    assert {p.device.type for p in hyper.parameters()} == {"meta"}
    assert hyper(torch.empty(2, 1, 6, 6, device="meta")).shape == (2, 3)


@pytest.mark.parametrize("hypernet, hidden", [("linear", None), ("mlp", None), ("mlp", 3)])
def test_the_hypernetwork_has_the_documented_size_and_honours_hidden(hypernet, hidden):
    """Per generated tensor of n elements: n * (A + 1) parameters (linear) or n * (hidden + 1) + hidden * (A + 1)
    (mlp), A the alphas of its cell type; ``hidden`` defaults to A // 2 (hyperDARTS-2)."""
    hyper = HyperSuperNetwork(tiny_net(cells=3), hypernet, hidden)
    a = sum(p.numel() for p in hyper.net.alphas_normal)  # 2 + 3 edges x 2 candidates = 10
    width = 0 if hypernet == "linear" else (hidden or a // 2)
    assert hyper.hidden == width
    sizes = [w.numel() for w in hyper.generated_weights().values()]
    want = sum(n * ((width or a) + 1) + width * (a + 1) for n in sizes)
    assert sum(p.numel() for p in hyper.heads.parameters()) == want


def test_a_one_node_cell_gets_heads_of_width_a_half_down_to_one():
    """A suite's cells may have one node (``network.nodes = 1``: 2 edges). With one candidate per edge that
    is A = 2 alphas and hidden A // 2 = 1; with two candidates A = 4 and hidden 2. Both build and search."""
    for candidates, width in (([("conv", 3, "relu")], 1), (CONV_SKIP, 2)):
        hyper = HyperSuperNetwork(tiny_net(nodes=1, candidates=candidates, cells=3), "mlp")
        assert hyper.hidden == width
        x, y = data(4)
        grads = torch.autograd.grad(F.cross_entropy(hyper(x), y), hyper.arch_parameters())
        assert all(torch.isfinite(g).all() for g in grads)


def test_an_mlp_hypernetwork_needs_one_hidden_unit_and_one_is_enough():
    """hidden = 0 would silently make hyperDARTS-2 a linear hypernetwork: refused, with the value named."""
    with pytest.raises(ValueError, match=r"an mlp hypernetwork needs hidden >= 1, got 0"):
        HyperSuperNetwork(tiny_net(), "mlp", hidden=0)
    hyper = HyperSuperNetwork(tiny_net(), "mlp", hidden=1)
    assert hyper.hidden == 1 and all(g.w1.shape[1] == 1 for g in hyper.heads.values())
    assert HyperSuperNetwork(tiny_net(), "linear", hidden=0).hidden == 0  # linear heads have no hidden layer


def test_the_wrapped_supernet_keeps_its_cell_weights_as_unsaved_buffers():
    """The generated tensors leave ``net``'s parameters but ``net`` keeps their names, shapes and initial
    values (non-persistent buffers): the plain supernet inside still computes what it computed before."""
    net = tiny_net(cells=3)
    x = data(4)[0]
    initial = {n: p.detach().clone() for n, p in net.named_parameters() if ".edges." in n}
    before = net.eval()(x)
    hyper = HyperSuperNetwork(net, "linear")
    assert set(hyper.generated_weights()) == set(initial)
    for name, value in initial.items():
        assert torch.equal(net.get_buffer(name), value)
    assert not set(initial) & set(net.state_dict())  # not saved: the heads are what a checkpoint needs
    torch.testing.assert_close(net(x), before)
