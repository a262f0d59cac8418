"""Tests from the mutation run's survivors of nn/supernet.py and nn/supernet_fast.py (issue 18).

They pin what tests/test_supernet.py and tests/test_supernet_fast.py left open: the fast supernet follows
the reference on cell shapes those files do not build (a node no candidate reaches, an all-'none' cell, a
one-node cell, kernels 1 and 2 on different nodes, an even-kernel separable conv on every node, a
candidate listed three times); ``make_supernet``'s and ``FastSuperNetwork``'s constructor arguments and
defaults, and ``make_supernet``'s compile switch; the derivation of a node whose candidates are all
'none'; and that a candidate's search-time op computes the op its derived edge names.
"""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from hyperion_bench.nn.genotype import Edge
from hyperion_bench.nn.ops import make_op
from hyperion_bench.nn.supernet import SuperNetwork, derive_cell, search_op
from hyperion_bench.nn.supernet_fast import FastSuperNetwork, make_supernet

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def shapes(net: nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in net.state_dict().items()}


# ---------------------------------------------------------------- the fast path equals the reference
CASES = {
    # node 1 offers only 'none': no candidate reaches it, so the fast path makes its zero state itself (at
    # the stride-2 size in the reduction cells); node 0's conv leaves each source towards one target only
    "none-only-node": [[("conv", 3, "tanh")], [("none", 0, "-")]],
    "all-none": [[("none", 0, "-")], [("none", 0, "-")]],
    "one-node": [[("conv", 3, "tanh"), ("skip", 0, "-"), ("avg_pool", 3, "-")]],
    # kernel 1 and kernel 2 are different ops (pools and convs), also where each is on another node
    "kernels-1-and-2": [[("max_pool", 1, "-"), ("conv", 1, "relu")], [("max_pool", 2, "-"), ("conv", 2, "relu")]],
    # an even kernel pads asymmetrically, also in the batched depthwise conv of several edges
    "even-sep-conv-on-every-node": [[("sep_conv", 4, "tanh")], [("sep_conv", 4, "tanh")]],
    "listed-three-times": [[("conv", 3, "tanh")] * 3 + [("skip", 0, "-")]],
}


def loss_and_grads(net: nn.Module, x: torch.Tensor, y: torch.Tensor):
    net.train()
    loss = F.cross_entropy(net(x), y)
    params = list(net.parameters())
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    return loss, [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads, strict=True)]


@pytest.mark.parametrize("case", list(CASES))
def test_the_fast_supernet_follows_the_reference_on_more_cell_shapes(case):
    """Same loss and same gradients for every parameter (alphas included), 3 cells of which 2 reduce."""
    cands = CASES[case]
    torch.manual_seed(0)
    ref = SuperNetwork((2, 20), 3, cands, cells=3, channels=4, stem_multiplier=2)
    with torch.no_grad():
        for a in ref.arch_parameters():
            a.copy_(torch.randn_like(a))
    fast = FastSuperNetwork((2, 20), 3, cands, cells=3, channels=4, stem_multiplier=2)
    fast.load_state_dict(ref.state_dict())
    x, y = torch.randn(5, 2, 20), torch.arange(5) % 3
    (want_loss, want), (got_loss, got) = loss_and_grads(ref, x, y), loss_and_grads(fast, x, y)
    assert torch.allclose(got_loss, want_loss, rtol=1e-5, atol=0)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape
        assert float((g - w).norm()) <= 1e-4 * float(w.norm()) + 1e-7


# ---------------------------------------------------------------- make_supernet and the constructor
CANDS = [[("conv", 3, "relu"), ("skip", 0, "-")]] * 2


def test_make_supernet_builds_the_requested_supernet_on_the_fast_path_by_default():
    net = make_supernet((1, 8, 8), 3, CANDS, cells=3, channels=4)
    assert isinstance(net, FastSuperNetwork)
    assert shapes(net) == shapes(SuperNetwork((1, 8, 8), 3, CANDS, cells=3, channels=4))  # DARTS' stem: 3C
    for fast in (True, False):
        net = make_supernet((1, 8, 8), 3, CANDS, cells=4, channels=6, stem_multiplier=2, fast=fast)
        assert len(net.cells) == 4
        assert shapes(net) == shapes(SuperNetwork((1, 8, 8), 3, CANDS, cells=4, channels=6, stem_multiplier=2))


def test_the_fast_supernet_has_the_reference_constructor_defaults_included():
    fast = FastSuperNetwork((1, 8, 8), 3, CANDS, cells=3, channels=4)
    assert shapes(fast) == shapes(SuperNetwork((1, 8, 8), 3, CANDS, cells=3, channels=4))


def test_compile_mode_hands_the_supernet_to_torch_compile_with_that_mode(monkeypatch):
    """``compile_mode`` is torch.compile's mode (reduce-overhead: CUDA graphs) and the compiled module is what
    ``make_supernet`` returns; without it nothing is compiled. torch.compile is replaced by a recorder (as in
    test_oneshot; compiling takes minutes on two cores)."""
    calls, compiled = [], object()

    def spy(net, mode=None):
        calls.append((net, mode))
        return compiled

    monkeypatch.setattr(torch, "compile", spy)
    assert type(make_supernet((1, 8, 8), 3, CANDS, cells=3, channels=4)) is FastSuperNetwork and not calls
    assert make_supernet((1, 8, 8), 3, CANDS, cells=3, channels=4, compile_mode="reduce-overhead") is compiled
    assert len(calls) == 1
    net, mode = calls[0]
    assert type(net) is FastSuperNetwork and mode == "reduce-overhead"

# ---------------------------------------------------------------- derivation and the candidates' ops
def test_a_node_whose_candidates_are_all_none_keeps_its_strongest_inputs_with_none_edges():
    """No other candidate to prefer: the node keeps 'none' edges, ranked by the 'none' weights like any node
    (the list holds 'none' twice, as a list that was not deduplicated may)."""
    cands = [[("none", 0, "-")], [("none", 0, "-"), ("none", 0, "-")]]
    alphas = [torch.zeros(2, 1), torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 2.0]])]
    cell = derive_cell(alphas, cands)
    assert cell[0] == (Edge(0, "none", 1, "relu"), Edge(1, "none", 1, "relu"))
    assert cell[1] == (Edge(1, "none", 1, "relu"), Edge(2, "none", 1, "relu"))


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("cand", [("conv", 1, "tanh"), ("conv", 3, "-"), ("sep_conv", 3, "tanh"),
                                  ("dil_conv", 2, "-"), ("skip", 0, "-")])
def test_a_candidates_search_op_computes_the_op_its_derived_edge_names(cand, stride):
    """Kernel and activation as derivation reports them (kernel at least 1, '-' meaning relu): the
    supernet trains the op that the derived network builds (non-affine, as at search time)."""
    ((edge,),) = derive_cell([torch.zeros(2, 1)], [[cand]], keep=1)
    torch.manual_seed(0)
    op = search_op(cand, 1, 4, stride)
    want = make_op(edge.op, 1, 4, edge.kernel, edge.activation, stride, affine=False)
    want.load_state_dict(op.state_dict())
    x = torch.randn(3, 4, 9)
    assert torch.allclose(op.train()(x), want.train()(x))
