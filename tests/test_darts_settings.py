"""DARTS' and hyperDARTS' optimiser settings are the papers' (REFERENCES.md), from the dataclass to the
optimisers a search builds and the defaults every suite inherits."""

import dataclasses

import pytest
import torch

from conftest import CELL_SUITE, write_suite
from hyperion_bench.nn.darts import DartsSettings, make_optimizers
from hyperion_bench.nn.supernet import SuperNetwork
from hyperion_bench.oneshot import darts_settings
from hyperion_bench.suites import load_suite

# Liu et al. (2019), quark0/darts cnn/train_search.py: weights SGD lr 0.025 cosine to 0.001, momentum 0.9,
# wd 3e-4, grad clip 5; alphas Adam lr 3e-4, betas (0.5, 0.999), wd 1e-3; 50 epochs at batch 64.
PAPER = {"epochs": 50, "batch_size": 64, "order": 1, "w_lr": 0.025, "w_lr_min": 0.001, "w_momentum": 0.9,
         "w_weight_decay": 3e-4, "grad_clip": 5.0, "a_lr": 3e-4, "a_betas": (0.5, 0.999), "a_weight_decay": 1e-3}


def tiny_supernet() -> SuperNetwork:
    return SuperNetwork((1, 8, 8), 3, [[("conv", 3, "relu"), ("skip", 0, "-")]] * 2, cells=1, channels=4)


def test_darts_settings_default_to_the_paper():
    assert dataclasses.asdict(DartsSettings()) == PAPER


def test_optimisers_carry_the_settings():
    net = tiny_supernet()
    w_opt, a_opt, sched = make_optimizers(net, DartsSettings(), total_steps=10)
    w, a = w_opt.param_groups[0], a_opt.param_groups[0]
    assert isinstance(w_opt, torch.optim.SGD) and isinstance(a_opt, torch.optim.Adam)
    assert (w["lr"], w["momentum"], w["weight_decay"]) == (0.025, 0.9, 3e-4)
    assert (a["lr"], a["betas"], a["weight_decay"]) == (3e-4, (0.5, 0.999), 1e-3)
    assert {id(p) for p in a["params"]} == {id(p) for p in net.arch_parameters()}
    assert {id(p) for p in w["params"]} == {id(p) for p in net.weights()}
    assert sched.T_max == 10 and sched.eta_min == 0.001
    # other values are passed through, not replaced by the defaults
    odd = DartsSettings(w_lr=0.5, w_momentum=0.7, w_weight_decay=0.01, a_lr=0.02, a_betas=(0.1, 0.2),
                        a_weight_decay=0.03, w_lr_min=0.05)
    w_opt, a_opt, sched = make_optimizers(net, odd, total_steps=7)
    w, a = w_opt.param_groups[0], a_opt.param_groups[0]
    assert (w["lr"], w["momentum"], w["weight_decay"]) == (0.5, 0.7, 0.01)
    assert (a["lr"], a["betas"], a["weight_decay"]) == (0.02, (0.1, 0.2), 0.03)
    assert sched.T_max == 7 and sched.eta_min == 0.05


def test_a_suite_without_oneshot_table_searches_with_the_papers_settings(tmp_path):
    suite = load_suite(write_suite(tmp_path, CELL_SUITE))
    loop, hyper = suite.oneshot, suite.hyperdarts
    assert darts_settings(loop, hyper) == DartsSettings(epochs=10)  # the only deviation: short CPU searches
    # hyperDARTS-2 (seeds/hyperdarts-report.md, Table 1): SGD 0.075 cosine to 0, Adam 9e-4, first order
    assert darts_settings(loop, hyper, "hyperdarts") == DartsSettings(epochs=10, w_lr=0.075, w_lr_min=0.0, a_lr=9e-4)


@pytest.mark.parametrize("name", ["digits", "mnist1d"])
def test_shipped_suites_change_only_the_search_length(name):
    suite = load_suite(name)
    s = darts_settings(suite.oneshot, suite.hyperdarts)
    assert dataclasses.replace(s, epochs=50) == DartsSettings()


def test_a_search_without_epochs_or_batches_is_refused_when_its_settings_are_made():
    """Found by the mutation review: search() with epochs=0 raised UnboundLocalError (on ``done``) instead
    of a message. The command line refuses such settings (OneShotSettings.check); the library API now too."""
    from hyperion_bench.nn.darts import DartsSettings

    for bad in ({"epochs": 0}, {"batch_size": 0}, {"order": 3}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            DartsSettings(**bad)
    assert DartsSettings(epochs=1, batch_size=1, order=2).order == 2
