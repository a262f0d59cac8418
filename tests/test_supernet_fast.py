"""The fast supernet computes the reference's function: same loss, same gradients, first and second order."""

import pytest
import torch
import torch.nn.functional as F

from hyperion_bench.nn.darts import DartsSettings, make_optimizers, search_step, unrolled_alpha_grads
from hyperion_bench.nn.supernet import SuperNetwork
from hyperion_bench.nn.supernet_fast import FastSuperNetwork, make_supernet

DARTS_PRIMITIVES = [("none", 0, "-"), ("max_pool", 3, "-"), ("avg_pool", 3, "-"), ("skip", 0, "-"),
                    ("sep_conv", 3, "relu"), ("sep_conv", 5, "relu"), ("dil_conv", 3, "relu"),
                    ("dil_conv", 5, "relu")]
# 1-D, every node its own list: even kernels (asymmetric padding), conv, tanh / relu, a duplicate,
# a candidate offered by only some nodes, a node whose only candidate is 'none'
PER_NODE_1D = [
    [("conv", 3, "tanh"), ("skip", 0, "-"), ("max_pool", 4, "-"), ("sep_conv", 3, "relu")],
    [("sep_conv", 4, "tanh"), ("none", 0, "-"), ("sep_conv", 3, "relu"), ("avg_pool", 3, "-")],
    [("none", 0, "-")],
    [("dil_conv", 5, "tanh"), ("avg_pool", 3, "-"), ("conv", 3, "tanh"), ("conv", 3, "tanh"), ("skip", 0, "-"),
     ("dil_conv", 3, "relu")],
]
MIXED_2D = [[("sep_conv", 3, "tanh"), ("dil_conv", 3, "relu"), ("skip", 0, "-"), ("max_pool", 3, "-")],
            [("sep_conv", 3, "relu"), ("sep_conv", 3, "tanh"), ("avg_pool", 5, "-"), ("none", 0, "-")]]



pytestmark = pytest.mark.usefixtures("one_torch_thread")


CASES = {
    "darts-2d": ((3, 8, 8), [DARTS_PRIMITIVES] * 3),
    "per-node-1d": ((2, 20), PER_NODE_1D),
    "mixed-2d": ((1, 7, 7), MIXED_2D),  # odd size: stride-2 paths round up
}


def pair(case: str, cells: int = 3):
    """A reference and a fast supernet with the same parameters and random (not near-uniform) alphas."""
    shape, cands = CASES[case]
    torch.manual_seed(0)
    ref = SuperNetwork(shape, 3, cands, cells=cells, channels=4, stem_multiplier=2)
    with torch.no_grad():
        for a in ref.arch_parameters():
            a.copy_(torch.randn_like(a))
    fast = FastSuperNetwork(shape, 3, cands, cells=cells, channels=4, stem_multiplier=2)
    fast.load_state_dict(ref.state_dict())
    x = torch.randn(10, *shape)
    y = torch.arange(10) % 3
    return ref, fast, x[:5], y[:5], x[5:], y[5:]


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).detach().norm() / b.detach().norm().clamp_min(1e-12))


def assert_close_all(got, want, tol=1e-4):
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape
        assert rel(g, w) < tol, rel(g, w)


def test_same_parameters_state_dict_and_alphas():
    ref, fast, *_ = pair("darts-2d")
    assert [n for n, _ in ref.named_parameters()] == [n for n, _ in fast.named_parameters()]
    assert list(ref.state_dict()) == list(fast.state_dict())
    assert [a.shape for a in ref.arch_parameters()] == [a.shape for a in fast.arch_parameters()]
    assert isinstance(make_supernet((1, 8, 8), 3, [DARTS_PRIMITIVES] * 2, 1, 4, fast=True), FastSuperNetwork)
    assert type(make_supernet((1, 8, 8), 3, [DARTS_PRIMITIVES] * 2, 1, 4, fast=False)) is SuperNetwork


@pytest.mark.parametrize("case", list(CASES))
def test_first_order_loss_and_all_gradients_match(case):
    ref, fast, xt, yt, *_ = pair(case)
    assert ref.has_reduction
    results = []
    for net in (ref, fast):
        net.train()
        loss = F.cross_entropy(net(xt), yt)
        results.append((loss, torch.autograd.grad(loss, list(net.parameters()))))
    assert rel(results[1][0], results[0][0]) < 1e-5
    assert_close_all(results[1][1], results[0][1])
    # the alphas do receive gradients (the test would pass vacuously otherwise)
    alpha_grads = results[0][1][-len(ref.arch_parameters()):]
    assert all(g.abs().sum() > 0 for g, a in zip(alpha_grads, ref.arch_parameters(), strict=True) if a.shape[1] > 1)


@pytest.mark.parametrize("case", ["darts-2d", "per-node-1d"])
def test_second_order_hypergradient_matches(case):
    ref, fast, xt, yt, xv, yv = pair(case)
    s = DartsSettings(order=2, w_lr=0.1)
    opts = [make_optimizers(net, s, 10)[0] for net in (ref, fast)]
    # one identical SGD step on both, so the virtual step uses a momentum buffer
    grads = torch.autograd.grad(F.cross_entropy(ref(xt), yt), list(ref.weights()))
    for net, opt in zip((ref, fast), opts, strict=True):
        for w, g in zip(net.weights(), grads, strict=True):
            w.grad = g.clone()
        opt.step()
    got = unrolled_alpha_grads(fast, opts[1], 0.1, xt, yt, xv, yv)
    want = unrolled_alpha_grads(ref, opts[0], 0.1, xt, yt, xv, yv)
    assert_close_all(got, want)
    first = torch.autograd.grad(F.cross_entropy(ref(xv), yv), ref.arch_parameters())
    assert max(rel(f, w) for f, w in zip(first, want, strict=True)) > 1e-3  # second order differs from first


def test_eval_mode_is_the_reference_forward():
    ref, fast, xt, *_ = pair("mixed-2d")
    ref.eval()
    fast.eval()
    assert torch.equal(ref(xt), fast(xt))


def test_search_steps_follow_the_reference():
    ref, fast, xt, yt, xv, yv = pair("mixed-2d", cells=3)
    s = DartsSettings(order=1)
    opts = [make_optimizers(net, s, 10)[:2] for net in (ref, fast)]
    for _ in range(2):
        losses = [search_step(net, w, a, s, xt, yt, xv, yv) for net, (w, a) in zip((ref, fast), opts, strict=True)]
        assert rel(losses[1], losses[0]) < 1e-4
    assert_close_all(list(fast.parameters()), list(ref.parameters()))


def test_running_statistics_of_candidate_batchnorms_are_not_kept():
    """Documented difference: the fast path normalises with batch statistics like the reference, but
    only the stem's and the preprocessing's BatchNorms update their running statistics."""
    _, fast, xt, *_ = pair("mixed-2d")
    before = {n: b.clone() for n, b in fast.named_buffers() if n.endswith("running_mean")}
    fast.train()
    fast(xt)
    changed = {n for n, b in fast.named_buffers() if n in before and not torch.equal(b, before[n])}
    assert "stem.1.running_mean" in changed and "cells.0.pre1.2.running_mean" in changed
    assert not any(".edges." in n for n in changed)


def test_the_fast_supernet_compiles_first_and_second_order():
    """torch.compile traces the fast path, also under DARTS' functional_call with substituted weights.

    ``aot_eager`` runs dynamo and AOTAutograd (the graph capture, where a graph break or a wrong
    functionalisation would show) without inductor's code generation, which takes minutes on the CI's
    two cores; inductor's numerics are checked by ``benchmarks/darts_step.py --compile``."""
    ref, fast, xt, yt, xv, yv = pair("mixed-2d")
    compiled = torch.compile(fast, backend="aot_eager", fullgraph=True)
    ref.train()
    compiled.train()
    for net in (ref, compiled):
        net.loss = F.cross_entropy(net(xt), yt)
    want = torch.autograd.grad(ref.loss, list(ref.parameters()))
    got = torch.autograd.grad(compiled.loss, list(compiled.parameters()))
    assert rel(compiled.loss, ref.loss) < 1e-5
    assert max(rel(g, w) for g, w in zip(got, want, strict=True)) < 1e-4
    hyper = []
    for net in (ref, compiled):
        w_opt = make_optimizers(net, DartsSettings(order=2), 10)[0]
        hyper.append(unrolled_alpha_grads(net, w_opt, 0.025, xt, yt, xv, yv))
    assert max(rel(g, w) for g, w in zip(hyper[1], hyper[0], strict=True)) < 1e-3
