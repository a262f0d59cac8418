"""DARTS' search loop as bookkeeping (issue 18: the mutation run of nn/darts.py left 108 of search()'s
mutants alive): the halves it trains weights and alphas on, how many steps and epochs it runs and
reports, the losses it averages, where it stops for a deadline, which step it measures, its seed, and
that the size penalty and the second order reach the architecture gradient."""

from __future__ import annotations

import math
import time

import pytest
import torch

from hyperion_bench.nn import darts
from hyperion_bench.nn.darts import DartsSettings, make_optimizers, search, search_step
from hyperion_bench.nn.supernet import SuperNetwork


def tiny_net(seed: int = 0) -> SuperNetwork:
    torch.manual_seed(seed)
    return SuperNetwork((1, 6, 6), 3, [[("conv", 3, "relu"), ("skip", 0, "-")]] * 2, cells=1, channels=4)


def data(n: int = 32, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 1, 6, 6, generator=g), torch.arange(n) % 3


@pytest.fixture
def spy(monkeypatch):
    """Every search_step call's batches (as rows of x, identified by their first pixel) and loss."""
    calls: list[dict] = []
    real = darts.search_step

    def recording(net, w_opt, a_opt, s, xt, yt, xv, yv, alpha_penalty=None):
        loss = real(net, w_opt, a_opt, s, xt, yt, xv, yv, alpha_penalty)
        calls.append({"train": xt[:, 0, 0, 0].tolist(), "val": xv[:, 0, 0, 0].tolist(), "loss": float(loss),
                      "penalty": alpha_penalty})
        return loss

    monkeypatch.setattr(darts, "search_step", recording)
    return calls


def test_each_epoch_trains_on_every_sample_of_one_half_and_validates_on_the_other(spy):
    x, y = data(32)
    epochs_seen = []
    out = search(tiny_net(), x, y, DartsSettings(epochs=3, batch_size=4),
                 on_epoch=lambda epoch, loss: epochs_seen.append((epoch, loss)))
    assert len(spy) == 12 and all(len(c["train"]) == 4 and len(c["val"]) == 4 for c in spy)
    train = [v for c in spy[:4] for v in c["train"]]
    val = [v for c in spy[:4] for v in c["val"]]
    assert len(set(train)) == 16 and len(set(val)) == 16 and not set(train) & set(val)  # 50/50, disjoint
    assert sorted(v for c in spy[4:8] for v in c["train"]) == sorted(train)  # the same half, reshuffled
    assert [v for c in spy[4:8] for v in c["train"]] != train
    # the record: epochs, steps, the mean step loss of each epoch, the last as the search loss
    assert [e for e, _ in epochs_seen] == [1, 2, 3]
    for k, (_, loss) in enumerate(epochs_seen):
        assert loss == pytest.approx(sum(c["loss"] for c in spy[4 * k: 4 * k + 4]) / 4, rel=1e-6)
    assert out["search_epochs"] == 3 and out["search_steps"] == 12
    assert out["search_loss"] == epochs_seen[-1][1] and 0 < out["search_s"] < 60
    assert set(out) == {"search_epochs", "search_steps", "search_loss", "search_s"}  # no memory keys asked


def test_a_half_smaller_than_a_batch_is_one_step_per_epoch(spy):
    x, y = data(6)
    out = search(tiny_net(), x, y, DartsSettings(epochs=2, batch_size=64))
    assert out["search_steps"] == 2 and [len(c["train"]) for c in spy] == [3, 3]


def test_the_seed_fixes_the_search_whatever_the_global_generator():
    x, y = data(32)
    runs = []
    for seed, global_seed in ((0, 1), (0, 2), (5, 1)):
        net = tiny_net()
        torch.manual_seed(global_seed)  # must not matter: the search draws from its own seeded generator
        out = search(net, x, y, DartsSettings(epochs=2, batch_size=4), seed=seed)
        runs.append((out["search_loss"], [a.detach().clone() for a in net.arch_parameters()]))
    assert runs[0][0] == runs[1][0] and all(torch.equal(a, b) for a, b in zip(runs[0][1], runs[1][1], strict=True))
    assert runs[0][0] != runs[2][0]
    net = tiny_net()
    torch.manual_seed(1)
    assert search(net, x, y, DartsSettings(epochs=2, batch_size=4))["search_loss"] == runs[0][0]  # default: seed 0


def test_the_second_step_is_measured_and_a_one_step_search_measures_its_only_step(monkeypatch):
    measured = []
    real = darts.step_peak_mb

    def counting(step, net, w_opt, a_opt):
        measured.append(len(a_opt.state))  # Adam state exists from the second step on
        return real(step, net, w_opt, a_opt)

    monkeypatch.setattr(darts, "step_peak_mb", counting)
    x, y = data(32)
    out = search(tiny_net(), x, y, DartsSettings(epochs=2, batch_size=4), track_memory=True)
    assert measured == [len(list(tiny_net().arch_parameters()))]  # once, with optimiser state: the 2nd step
    assert math.isfinite(out["search_peak_tensor_mb"]) and out["search_peak_tensor_mb"] > 0
    assert 0 < out["search_tracked_step_s"] < out["search_s"]
    assert out["search_steps"] == 8
    measured.clear()
    out = search(tiny_net(), *data(8), DartsSettings(epochs=1, batch_size=4), track_memory=True)
    assert measured == [0] and out["search_steps"] == 1 and out["search_peak_tensor_mb"] > 0


@pytest.mark.parametrize("track, steps", [(False, 1), (True, 2)])
def test_a_past_deadline_stops_after_the_first_step_or_after_the_measured_one(spy, track, steps):
    x, y = data(32)
    out = search(tiny_net(), x, y, DartsSettings(epochs=5, batch_size=4), deadline=time.time() - 1,
                 track_memory=track)
    assert out["search_steps"] == steps and out["search_epochs"] == 1 and len(spy) == steps
    out = search(tiny_net(), x, y, DartsSettings(epochs=2, batch_size=4), deadline=time.time() + 600)
    assert out["search_steps"] == 8  # a deadline far away changes nothing


def test_the_size_penalty_reaches_every_step_and_adds_its_gradient_to_the_alphas(spy):
    x, y = data(16)
    calls = []

    def penalty():
        calls.append(1)
        return sum(a.sum() for a in net.arch_parameters())

    net = tiny_net()
    search(net, x, y, DartsSettings(epochs=1, batch_size=4), alpha_penalty=penalty)
    assert len(calls) == len(spy) == 2 and all(c["penalty"] is penalty for c in spy)
    # one step from the same state with and without d(sum alpha)/d alpha = 1 added
    grads = []
    for pen in (None, penalty):
        net = tiny_net()
        s = DartsSettings()
        w_opt, a_opt, _ = make_optimizers(net, s, 10)
        search_step(net, w_opt, a_opt, s, x[:4], y[:4], x[4:8], y[4:8], pen)
        grads.append([a.grad.clone() for a in net.arch_parameters()])
    for plain, penalised in zip(*grads, strict=True):
        assert torch.allclose(penalised - plain, torch.ones_like(plain), atol=1e-6)


@pytest.mark.parametrize("order", [1, 2])
def test_only_second_order_unrolls(monkeypatch, order):
    unrolled = []
    real = darts.unrolled_alpha_grads
    monkeypatch.setattr(darts, "unrolled_alpha_grads", lambda *a, **k: unrolled.append(1) or real(*a, **k))
    net, (x, y) = tiny_net(), data(8)
    s = DartsSettings(order=order)
    w_opt, a_opt, _ = make_optimizers(net, s, 10)
    search_step(net, w_opt, a_opt, s, x[:4], y[:4], x[4:], y[4:])
    assert len(unrolled) == (order == 2)


def test_a_one_step_schedule_anneals_within_that_step():
    s = DartsSettings(w_lr=0.1, w_lr_min=0.01)
    w_opt, _, sched = make_optimizers(tiny_net(), s, 1)
    assert sched.T_max == 1
    w_opt.step()
    sched.step()
    assert w_opt.param_groups[0]["lr"] == pytest.approx(0.01)
