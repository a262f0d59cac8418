"""hyperDARTS: cell weights generated from the alphas by per-tensor heads, an exact architecture gradient,
and the method wired through the same trial body as DARTS."""

import time

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import CELL_SUITE, one_value, searched, write_suite
from hyperion_bench.errors import UserError
from hyperion_bench.evaluate import evaluate
from hyperion_bench.methods import make_optimizer, make_scheduler
from hyperion_bench.nn import count_params
from hyperion_bench.nn.darts import DartsSettings, search
from hyperion_bench.nn.genotype import Genotype
from hyperion_bench.nn.hyperdarts import HyperSuperNetwork
from hyperion_bench.nn.supernet_fast import make_supernet
from hyperion_bench.oneshot import INNER_OPTIMIZER, darts_settings, full_inner_config, run_search
from hyperion_bench.plan import network_of
from hyperion_bench.suites import DEFAULTS, load_suite

# every kind of cell weight: dense conv, depthwise + pointwise (sep, dil), the stride-2 skip's convs
CANDIDATES = [[("conv", 3, "relu"), ("sep_conv", 3, "relu"), ("dil_conv", 3, "tanh"), ("skip", 0, "-"),
               ("max_pool", 3, "-")]] * 2
SUITE = CELL_SUITE + """
[oneshot]
epochs = 1
batch_size = 16
"""


def tiny(fast=True, hypernet="mlp", hidden=None, seed=0, dtype=torch.float32):
    torch.manual_seed(seed)
    net = make_supernet((1, 8, 8), 3, CANDIDATES, cells=3, channels=4, fast=fast)  # normal + reduction cells
    return HyperSuperNetwork(net, hypernet, hidden).to(dtype)


def data(seed=0, n=8, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 1, 8, 8, generator=g, dtype=dtype), torch.arange(n) % 3


def cell_weight_names(net):
    return {n for n, _ in net.named_parameters() if ".edges." in n}


def test_every_cell_weight_is_generated_and_leaves_the_parameters():
    torch.manual_seed(0)
    plain = make_supernet((1, 8, 8), 3, CANDIDATES, cells=3, channels=4)
    shapes = {n: p.shape for n, p in plain.named_parameters() if ".edges." in n}
    assert any(".conv_1." in n for n in shapes) and any(".conv_2." in n for n in shapes)  # stride-2 skip
    hyper = HyperSuperNetwork(plain)
    generated = hyper.generated_weights()
    assert {n: w.shape for n, w in generated.items()} == shapes
    names = {n for n, _ in hyper.named_parameters()}
    assert not any(".edges." in n for n in names)
    assert {"net.stem.0.weight", "net.classifier.weight", "net.cells.0.pre1.1.weight"} <= names  # ordinary
    assert not any(".edges." in k and k.endswith("weight") for k in hyper.state_dict())  # BN statistics stay
    arch = {id(a) for a in hyper.arch_parameters()}
    assert arch == {id(a) for a in plain.arch_parameters()}
    assert not arch & {id(w) for w in hyper.weights()}
    assert sum(p.numel() for p in hyper.weights()) + sum(a.numel() for a in hyper.arch_parameters()) == \
        sum(p.numel() for p in hyper.parameters())
    # a cell stack without reduction cells: its unused reduction alphas are no weights either
    normal_only = HyperSuperNetwork(make_supernet((1, 8, 8), 3, CANDIDATES, cells=1, channels=4))
    assert not normal_only.net.has_reduction
    assert not {id(a) for a in normal_only.net.alphas_reduce} & {id(w) for w in normal_only.weights()}


@pytest.mark.parametrize("hypernet", ["mlp", "linear"])
def test_batched_heads_are_the_reference_codes_per_tensor_hypernetworks(hypernet):
    """Each generated tensor is what its own nn.Linear head (-> sigmoid -> nn.Linear) gives for the flat
    alphas of its cell type, as ``HyperConv2d`` in the report's code computes it."""
    hyper = tiny(hypernet=hypernet, hidden=3)
    net = hyper.net
    with torch.no_grad():
        for a in net.arch_parameters():
            a.normal_()
    flat = {False: torch.cat([a.flatten() for a in net.alphas_normal]),
            True: torch.cat([a.flatten() for a in net.alphas_reduce])}
    generated = hyper.generated_weights()
    checked = 0
    for key, reduction, names, shapes in hyper._plan:
        group = hyper.heads[key]
        for i, (name, shape) in enumerate(zip(names, shapes, strict=True)):
            assert bool(net.cells[int(name.split(".")[1])].reduction) == reduction
            out = nn.Linear(group.w2.shape[2], shape.numel())
            out.weight.data, out.bias.data = group.w2[i].detach(), group.b2[i].detach()
            head: nn.Module = out
            if hypernet == "mlp":
                first = nn.Linear(flat[reduction].numel(), 3)
                first.weight.data, first.bias.data = group.w1[i].detach(), group.b1[i].detach()
                head = nn.Sequential(first, nn.Sigmoid(), out)
            want = head(flat[reduction].detach()).view(shape)
            torch.testing.assert_close(generated[name].detach(), want, rtol=1e-5, atol=1e-6)
            checked += 1
    assert checked == len(generated)


def test_heads_start_like_nn_linear():
    hyper = tiny(hypernet="linear")
    n_in = sum(a.numel() for a in hyper.net.alphas_normal)
    for group in hyper.heads.values():
        bound = 1 / n_in ** 0.5
        assert group.w2.abs().max() <= bound and group.w2.abs().max() > 0.9 * bound
    assert tiny(hypernet="mlp").hidden == n_in // 2  # hyperDARTS-2: 112 -> 56 in the classic space


def test_architecture_gradient_is_exact_and_includes_the_response_through_the_hypernetwork():
    hyper = tiny(dtype=torch.float64)
    hyper.train()
    x, y = data(dtype=torch.float64)
    alpha = hyper.arch_parameters()[0]
    with torch.no_grad():
        for a in hyper.arch_parameters():
            a.normal_(generator=torch.Generator().manual_seed(1))

    def loss() -> torch.Tensor:
        return F.cross_entropy(hyper(x), y)

    (grad,) = torch.autograd.grad(loss(), [alpha])
    eps = 1e-6
    for idx in [(0, 0), (1, 2), (0, 4)]:
        with torch.no_grad():
            alpha[idx] += eps
            up = loss().item()
            alpha[idx] -= 2 * eps
            down = loss().item()
            alpha[idx] += eps
        assert grad[idx].item() == pytest.approx((up - down) / (2 * eps), rel=1e-5, abs=1e-9)

    # the response gradient (through the generated weights) is not zero: DARTS' first order would miss it
    frozen = {k: v.detach() for k, v in hyper.generated_weights().items()}
    direct = torch.autograd.grad(F.cross_entropy(torch.func.functional_call(hyper.net, frozen, (x,)), y), [alpha])[0]
    assert (grad - direct).norm() > 1e-3 * grad.norm()


def test_fast_and_reference_supernets_agree_under_the_hypernetwork():
    ref, fast = tiny(fast=False, dtype=torch.float64), tiny(fast=True, dtype=torch.float64)
    fast.load_state_dict(ref.state_dict())
    x, y = data(dtype=torch.float64)
    grads = []
    for hyper in (ref, fast):
        hyper.train()
        loss = F.cross_entropy(hyper(x), y)
        grads.append([loss, *torch.autograd.grad(loss, list(hyper.parameters()))])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


def test_search_trains_the_hypernetwork_and_the_alphas():
    hyper = tiny()
    x, y = data(n=64)
    alphas = [a.detach().clone() for a in hyper.arch_parameters()]
    heads = [p.detach().clone() for p in hyper.heads.parameters()]
    info = search(hyper, x, y, DartsSettings(epochs=2, batch_size=16, w_lr=0.075, w_lr_min=0.0, a_lr=9e-4))
    assert info["search_epochs"] == 2 and info["search_steps"] == 4
    assert all(not torch.equal(a, b) for a, b in zip(alphas, hyper.arch_parameters(), strict=True))
    assert all(not torch.equal(a, b) for a, b in zip(heads, hyper.heads.parameters(), strict=True))
    genotype = hyper.genotype()
    assert genotype.reduce is not None and len(genotype.normal) == 2


@pytest.fixture
def suite(tmp_path):
    return load_suite(write_suite(tmp_path, SUITE))


def test_hyperdarts_method_hands_everything_inside_with_its_key(suite):
    sched = make_scheduler("hyperdarts", space=suite.space, metric="weighted_sum", seed=0, max_trials=3,
                           constants={"hb_seed": 0})
    first = sched.suggest()
    assert first is not None and first.config[INNER_OPTIMIZER] == "hyperdarts"
    assert {k: v for k, v in first.config.items() if k not in (INNER_OPTIMIZER, "hb_seed")} == \
        full_inner_config(suite.space, DEFAULTS)  # DARTS' config, the same for both one-shot methods
    assert sched.suggest() is None
    darts = make_scheduler("darts", space=suite.space, metric="weighted_sum", seed=0, max_trials=3, constants={})
    assert INNER_OPTIMIZER not in darts.suggest().config  # DARTS' configs are as they were


def test_settings_come_from_the_hyperdarts_table(tmp_path):
    suite = load_suite(write_suite(tmp_path, SUITE + "[hyperdarts]\nw_lr = 0.05\na_lr = 6e-4\n"))
    s = darts_settings(suite.oneshot, suite.hyperdarts, "hyperdarts")
    assert (s.w_lr, s.a_lr, s.w_lr_min, s.order) == (0.05, 6e-4, 0.0, 1)
    assert (s.epochs, s.batch_size) == (suite.oneshot["epochs"], suite.oneshot["batch_size"])  # DARTS' budget
    assert darts_settings(suite.oneshot, suite.hyperdarts).w_lr == 0.025


def test_run_search_records_the_optimiser_and_keeps_the_size_penalty(suite, monkeypatch):
    import hyperion_bench.oneshot as oneshot

    seen = {}
    real = oneshot.search

    def spy(net, *args, alpha_penalty=None, **kw):
        seen["net"], seen["penalty"] = net, alpha_penalty().item()
        return real(net, *args, alpha_penalty=alpha_penalty, **kw)

    monkeypatch.setattr(oneshot, "search", spy)
    config = {**full_inner_config(suite.space, DEFAULTS), INNER_OPTIMIZER: "hyperdarts", "cells": 1}
    x, y = data(n=32)
    genotype, info = run_search(*searched(suite, config), x, y, 3, seed=0, deadline=time.time() + 60)
    assert isinstance(seen["net"], HyperSuperNetwork)
    assert seen["penalty"] > 0  # the expected size of the cells' candidates, counted before generation
    assert info["inner_optimizer"] == "hyperdarts" and info["search_order"] == 1
    assert info["supernet_n_params"] == sum(p.numel() for p in seen["net"].weights())
    assert genotype.normal


def test_a_hyperdarts_trial_derives_and_trains_with_the_one_builder(suite, tiny_images):
    config = {**full_inner_config(suite.space, DEFAULTS), INNER_OPTIMIZER: "hyperdarts", "cells": 1}
    final = evaluate(suite, config, tiny_images, epochs=1)
    assert final["inner_optimizer"] == "hyperdarts" and final["search_steps"] >= 1
    built, _ = network_of(suite, config, (1, 8, 8), 3, genotype=Genotype.from_json(final["genotype"]))
    assert final["n_params"] == count_params(built)


def test_bad_hyperdarts_settings_and_optimisers_are_one_line_errors(tmp_path, suite):
    for body, key in (('[hyperdarts]\nhypernet = "conv"\n', "hyperdarts.hypernet"),
                      ("[hyperdarts]\nw_lr = 0.0\n", "hyperdarts.w_lr"),
                      ("[hyperdarts]\nhidden = -1\n", "hyperdarts.hidden"),
                      ("[hyperdarts]\nw_lr_min = 1.0\n", "hyperdarts.w_lr_min"),
                      ("[hyperdarts]\nlr = 0.1\n", "hyperdarts.lr"),
                      ('[hyperion]\ninner = "enas"\n', "hyperion.inner")):
        with pytest.raises(UserError, match=key.replace(".", r"\.")):
            load_suite(write_suite(tmp_path, CELL_SUITE + body))
    config = {**full_inner_config(suite.space, DEFAULTS), INNER_OPTIMIZER: "enas"}
    with pytest.raises(UserError, match="inner_optimizer='enas'"):
        run_search(*searched(suite, config), *data(), 3, seed=0, deadline=None)
    with pytest.raises(ValueError, match="hypernet"):
        tiny(hypernet="conv")


def test_hyperion_hands_hyperdarts_the_configs_that_search(suite):
    sched = make_optimizer("hyperion", space=suite.space, seed=0,
                           options={**suite.hyperion, "outer": "random", "inner": "hyperdarts"})
    searching = plain = 0
    for key in range(12):
        config = sched.ask(key).config
        sched.tell(key, one_value(0.5), {})
        if any(k.startswith("inner@") for k in config):
            assert config[INNER_OPTIMIZER] == "hyperdarts"
            searching += 1
        else:
            assert INNER_OPTIMIZER not in config
            plain += 1
    assert searching and plain
    assert sched.metadata()["inner"] == "hyperdarts"
    with pytest.raises(UserError, match="inner optimiser"):
        make_scheduler("hyperion", space=suite.space, metric="weighted_sum", seed=0, max_trials=None,
                       constants={}, options={**suite.hyperion, "inner": "enas"})


def test_one_dimensional_supernets_get_their_weights_from_the_hypernetwork_too(tiny_signals):
    torch.manual_seed(0)
    net = make_supernet((1, 40), 3, CANDIDATES, cells=3, channels=4)
    conv1d = {n for n, p in net.named_parameters() if ".edges." in n and p.dim() == 3}
    hyper = HyperSuperNetwork(net, "linear")
    assert conv1d and set(hyper.generated_weights()) == conv1d
    x, y = tiny_signals.x_train[:8], tiny_signals.y_train[:8]
    loss = F.cross_entropy(hyper(x), y)
    grads = torch.autograd.grad(loss, hyper.arch_parameters() + list(hyper.heads.parameters()))
    assert all(g.abs().sum() > 0 for g in grads)
