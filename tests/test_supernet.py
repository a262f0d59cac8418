"""Supernet and DARTS: candidate lists, derivation on hand-made alphas, the second-order gradient."""

import pytest
import torch

from hyperion_bench.nn import count_params
from hyperion_bench.nn.cell_network import CellNetwork
from hyperion_bench.nn.darts import DartsSettings, make_optimizers, search, search_step, unrolled_alpha_grads
from hyperion_bench.nn.genotype import Edge
from hyperion_bench.nn.supernet import SuperNetwork, canonical, dedupe, derive_cell
from hyperion_bench.plan import network_of

DARTS_PRIMITIVES = [("none", 0, "-"), ("max_pool", 3, "-"), ("avg_pool", 3, "-"), ("skip", 0, "-"),
                    ("sep_conv", 3, "relu"), ("sep_conv", 5, "relu"), ("dil_conv", 3, "relu"),
                    ("dil_conv", 5, "relu")]


def test_equivalent_candidates_are_merged():
    cands = [("skip", 3, "relu"), ("skip", 5, "tanh"), ("max_pool", 3, "relu"), ("max_pool", 3, "tanh"),
             ("conv", 3, "relu"), ("conv", 3, "tanh")]
    assert dedupe(cands) == [("skip", 0, "-"), ("max_pool", 3, "-"), ("conv", 3, "relu"), ("conv", 3, "tanh")]
    assert canonical(("dil_conv", 5, "tanh")) == ("dil_conv", 5, "tanh")


def test_classic_darts_supernet_shapes():
    net = SuperNetwork((3, 32, 32), 10, [DARTS_PRIMITIVES] * 4, cells=8, channels=4)
    assert [tuple(a.shape) for a in net.alphas_normal] == [(2, 8), (3, 8), (4, 8), (5, 8)]
    assert sum(a.numel() for a in net.arch_parameters()) == 2 * 14 * 8
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_nodes_may_have_different_candidates_1d():
    cands = [[("conv", 3, "relu")], [("conv", 5, "tanh"), ("skip", 0, "-")]]
    net = SuperNetwork((1, 40), 4, cands, cells=3, channels=4)
    assert net.candidates_per_edge() == [1, 2]
    assert net(torch.randn(2, 1, 40)).shape == (2, 4)


def test_derivation_on_hand_made_alphas():
    cands = [[("none", 0, "-"), ("conv", 3, "relu"), ("skip", 0, "-")]] * 2
    big = 5.0
    alphas = [torch.tensor([[big, 1.0, 0.0],    # input 0: 'none' wins, conv is its best real op
                            [0.0, 0.0, 2.0]]),  # input 1: skip
              torch.tensor([[0.0, 0.0, 0.0],
                            [0.0, 3.0, 0.0],    # input 1: conv, strong
                            [0.0, 0.0, 0.5]])]  # node 0 (state 2): skip, weaker than input 1
    cell = derive_cell(alphas, cands)
    assert [(e.source, e.op) for e in cell[0]] == [(0, "conv"), (1, "skip")]
    assert [(e.source, e.op) for e in cell[1]] == [(1, "conv"), (2, "skip")]


def test_derived_network_has_the_builders_parameter_count():
    net = SuperNetwork((1, 8, 8), 10, [DARTS_PRIMITIVES] * 3, cells=3, channels=4)
    geno = net.genotype()
    derived = CellNetwork((1, 8, 8), 10, geno, cells=3, channels=4)
    from hyperion_bench.suites import load_suite

    suite = load_suite("digits")
    built, same = network_of(suite, {"cells": 3, "channels": 4}, (1, 8, 8), 10, genotype=geno)
    assert same == geno
    assert count_params(built) == count_params(derived)


def tiny_problem(dtype=torch.float64):
    torch.manual_seed(0)
    cands = [[("conv", 3, "tanh"), ("skip", 0, "-"), ("avg_pool", 3, "-")]]
    net = SuperNetwork((1, 4, 4), 3, cands, cells=1, channels=2, stem_multiplier=1).to(dtype)
    with torch.no_grad():
        for a in net.arch_parameters():
            a.copy_(torch.randn_like(a))
    x = torch.randn(12, 1, 4, 4, dtype=dtype)
    y = torch.arange(12) % 3
    return net, x[:6], y[:6], x[6:], y[6:]


def test_second_order_gradient_matches_finite_differences():
    net, xt, yt, xv, yv = tiny_problem()
    s = DartsSettings(order=2, w_lr=0.1)
    w_opt, _, _ = make_optimizers(net, s, 10)
    # give the optimiser a momentum buffer, so the virtual step uses it as the paper's does
    net.zero_grad()
    torch.nn.functional.cross_entropy(net(xt), yt).backward()
    w_opt.step()
    xi = w_opt.param_groups[0]["lr"]
    grads = unrolled_alpha_grads(net, w_opt, xi, xt, yt, xv, yv)  # DARTS' eps = 0.01 / ||dw'||
    fine = unrolled_alpha_grads(net, w_opt, xi, xt, yt, xv, yv, eps_scale=1e-5)

    weights = list(net.weights())
    alpha = net.arch_parameters()[0]
    buffers = [w_opt.state[w]["momentum_buffer"].clone() for w in weights]

    def unrolled_val_loss() -> float:
        saved = [w.detach().clone() for w in weights]
        loss_t = torch.nn.functional.cross_entropy(net(xt), yt)
        g = torch.autograd.grad(loss_t, weights)
        with torch.no_grad():
            for w, gi, b in zip(weights, g, buffers, strict=True):
                w.sub_(xi * (0.9 * b + gi + 3e-4 * w))
            value = torch.nn.functional.cross_entropy(net(xv), yv).item()
            for w, s_ in zip(weights, saved, strict=True):
                w.copy_(s_)
        return value

    h = 1e-5
    numeric = torch.zeros_like(alpha)
    for idx in range(alpha.numel()):
        with torch.no_grad():
            alpha.view(-1)[idx] += h
        up = unrolled_val_loss()
        with torch.no_grad():
            alpha.view(-1)[idx] -= 2 * h
        down = unrolled_val_loss()
        with torch.no_grad():
            alpha.view(-1)[idx] += h
        numeric.view(-1)[idx] = (up - down) / (2 * h)
    scale = numeric.abs().max()
    # with a small eps the central difference converges to the exact hypergradient ...
    assert (fine[0] - numeric).abs().max() < 1e-6 * scale, (fine[0], numeric)
    # ... and DARTS' eps is within 1% of it
    assert (grads[0] - numeric).abs().max() < 1e-2 * scale, (grads[0], numeric)
    first_order = torch.autograd.grad(torch.nn.functional.cross_entropy(net(xv), yv), [alpha])[0]
    assert (first_order - numeric).abs().max() > 1e-2 * scale  # the second-order term matters here


@pytest.mark.parametrize("order", [1, 2])
def test_search_steps_move_both_weights_and_alphas(order):
    net, xt, yt, xv, yv = tiny_problem(torch.float32)
    s = DartsSettings(order=order)
    w_opt, a_opt, _ = make_optimizers(net, s, 10)
    before_a = [a.detach().clone() for a in net.arch_parameters()]
    before_w = [w.detach().clone() for w in net.weights()]
    loss = search_step(net, w_opt, a_opt, s, xt, yt, xv, yv)
    assert torch.isfinite(loss)
    assert any(not torch.equal(a, b) for a, b in zip(net.arch_parameters(), before_a, strict=True))
    assert any(not torch.equal(w, b) for w, b in zip(net.weights(), before_w, strict=True))


def test_search_runs_and_respects_a_deadline():
    net, xt, yt, xv, yv = tiny_problem(torch.float32)
    x, y = torch.cat([xt, xv]), torch.cat([yt, yv])
    out = search(net, x, y, DartsSettings(epochs=50, batch_size=4), deadline=0.0)
    assert out["search_epochs"] == 1


# ---------------------------------------------------------------- what the mutation run of supernet.py found (issue 18)
def test_derivation_fills_kernel_free_edges_and_reads_each_nodes_own_rows():
    """A skip (kernel 0, no activation) becomes an edge with kernel 1 and relu, as the builder expects; with
    three nodes the third node's rows start after the first two nodes' 2 + 3 rows."""
    cands = [[("skip", 0, "-"), ("conv", 3, "tanh")]] * 3
    alphas = [torch.tensor([[2.0, 0.0], [2.0, 0.0]]),
              torch.tensor([[0.0, 2.0], [0.0, 1.0], [0.0, 3.0]]),
              torch.tensor([[0.0, 1.0], [3.0, 0.0], [0.0, 0.5], [0.0, 4.0]])]
    cell = derive_cell(alphas, cands)
    assert cell[0] == (Edge(0, "skip", 1, "relu"), Edge(1, "skip", 1, "relu"))
    assert cell[1] == (Edge(0, "conv", 3, "tanh"), Edge(2, "conv", 3, "tanh"))
    assert [(e.source, e.op) for e in cell[2]] == [(1, "skip"), (3, "conv")]


def test_the_supernet_derives_its_reduction_cell_from_its_own_alphas():
    cands = [[("conv", 3, "relu"), ("skip", 0, "-")]] * 2
    net = SuperNetwork((1, 8, 8), 3, cands, cells=3, channels=4)
    assert net.has_reduction
    with torch.no_grad():
        for a in net.alphas_normal:
            a.copy_(torch.tensor([[5.0, 0.0]]).expand_as(a))  # normal cells: conv everywhere
        for a in net.alphas_reduce:
            a.copy_(torch.tensor([[0.0, 5.0]]).expand_as(a))  # reduction cells: skip everywhere
    geno = net.genotype()
    assert {e.op for node in geno.normal for e in node} == {"conv"}
    assert geno.reduce is not None and {e.op for node in geno.reduce for e in node} == {"skip"}
    assert SuperNetwork((1, 8, 8), 3, cands, cells=2, channels=4).genotype().reduce is None  # no reduction cells


def test_search_time_batch_norm_is_not_affine_and_the_stem_is_darts():
    """DARTS (REFERENCES.md): all search-time BN is affine=False (pools get a non-affine BN too); the stem is a
    3x3 conv of stem_multiplier x C = 3C channels with an affine BN; the cell preprocessing is 1x1; the
    alphas start at 1e-3 x randn."""
    cands = [[("conv", 3, "relu"), ("max_pool", 3, "-"), ("skip", 0, "-")]] * 2
    net = SuperNetwork((1, 8, 8), 3, cands, cells=3, channels=4)
    cell_bns = [m for m in net.cells.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert cell_bns and not any(bn.affine for bn in cell_bns)
    stem_conv, stem_bn = net.stem[0], net.stem[1]
    assert stem_conv.kernel_size == (3, 3) and stem_conv.out_channels == 12 and stem_bn.affine
    for cell in net.cells:
        pre1_convs = [m for m in cell.pre1.modules() if isinstance(m, torch.nn.Conv2d)]
        assert pre1_convs and all(c.kernel_size == (1, 1) for c in pre1_convs)
    alphas = torch.cat([a.detach().flatten() for a in [*net.alphas_normal, *net.alphas_reduce]])
    assert 0 < alphas.abs().max() < 0.01
