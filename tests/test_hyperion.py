"""Hyperion's outer loop: valid splits, never-empty subspaces, per-learner histories, reproducibility."""

import numpy as np
import pytest

from conftest import CELL_SUITE, hyperion, one_value, write_suite
from hyperion_bench.errors import UserError
from hyperion_bench.methods import make_scheduler
from hyperion_bench.methods.hyperion import INNER, OUTER, SPLIT_PREFIX
from hyperion_bench.oneshot import inner_bases, needs_search, node_candidates, reduced_supernet
from hyperion_bench.plan import decode
from hyperion_bench.suites import load_suite

KINDS = ["random", "tpe", "anneal", "blendsearch"]


@pytest.fixture
def suite(tmp_path):
    return load_suite(write_suite(tmp_path, CELL_SUITE))


def drive(sched, n, seed=0):
    """Ask and tell ``n`` trials with made-up results; returns the configs."""
    rng = np.random.default_rng(seed)
    configs = []
    for key in range(n):
        configs.append(sched.ask(key).config)
        sched.tell(key, one_value(float(rng.random())), {})
    return configs


@pytest.mark.parametrize("outer", KINDS)
def test_splits_are_respected_and_subspaces_never_empty(suite, outer):
    sched = hyperion(suite, outer, n_init=3)
    for config in drive(sched, 12):
        for base in ("op", "kernel", "activation"):
            where = config[f"{SPLIT_PREFIX}{base}"]
            assert where in (OUTER, INNER)
            if where == INNER:
                subset = config[f"inner@{base}"].split("|")
                # every value a real choice ("".split("|") == [""]: a bare `assert subset` could not fail)
                assert all(subset) and len(set(subset)) == len(subset)
                assert not any(k.startswith(f"{base}@") for k in config)
            else:
                assert f"inner@{base}" not in config
                assert all(f"{base}@{j}" in config for j in range(2))
        assert sorted(inner_bases(config)) == sorted(b for b in ("op", "kernel", "activation")
                                                     if config[f"{SPLIT_PREFIX}{b}"] == INNER)
        # nothing inside: the outer loop fixes the cell, inputs included, and no supernet is built
        if not inner_bases(config):
            assert "edges@0" in config and "edges@1" in config
        assert {"cells", "channels"} <= set(config)  # the pipeline learner's part


def test_the_supernet_built_matches_the_split_and_the_subspace(suite):
    sched = hyperion(suite, "random", n_init=100)
    seen_search = 0
    for config in drive(sched, 30):
        cands = node_candidates(suite, config)
        expected = 1
        for base in ("op", "kernel", "activation"):
            if config[f"{SPLIT_PREFIX}{base}"] == INNER:
                expected *= len(config[f"inner@{base}"].split("|"))
        assert all(len(c) <= expected for c in cands)  # equivalent candidates (skip x kernels) merge
        if needs_search(suite, config):
            seen_search += 1
            plan = decode(suite, {**config, "cells": 1})
            net = reduced_supernet(plan.search, plan.network, (1, 8, 8), 3)
            assert net.candidates_per_edge() == [len(c) for c in cands]
        else:
            assert all(len(c) == 1 for c in cands)
    assert seen_search > 0


@pytest.mark.parametrize("outer", KINDS)
def test_histories_grow_by_one_per_trial(suite, outer):
    sched = hyperion(suite, outer, n_init=2)
    for n in range(1, 7):
        sched.ask(n - 1)
        sched.tell(n - 1, one_value(0.5 if n % 3 else None), {})  # a failed trial is history too
        assert [len(h) for h in sched.histories.values()] == [n, n, n, n]
    assert len(sched.splitter.history) == 6 and len(sched.pipeline.history) == 6
    # a per-parameter learner only sees trials in which its part was used
    for base in ("op", "kernel", "activation"):
        outer_trials = sum(p[f"{SPLIT_PREFIX}{base}"] == OUTER for p, _ in sched.histories["split"])
        assert len(sched.arch[base].history) == outer_trials
        assert len(sched.subspace[base].history) == 6 - outer_trials


@pytest.mark.parametrize("outer", KINDS)
def test_a_fixed_seed_reproduces_the_suggestions(suite, outer):
    a = drive(hyperion(suite, outer, seed=3, n_init=2), 8)
    b = drive(hyperion(suite, outer, seed=3, n_init=2), 8)
    c = drive(hyperion(suite, outer, seed=4, n_init=2), 8)
    assert a == b
    assert a != c


def test_initial_trials_are_random_and_then_the_learners_propose(suite):
    sched = hyperion(suite, "tpe", n_init=4)
    drive(sched, 4)
    assert sched.splitter.n_asked == 0 and sched.pipeline.n_asked == 0
    # told through observe: the 4 trials, and each discarded proposal (an empty subspace) with the worst result
    assert len(sched.splitter.optimiser.study.trials) == 4 + sched.n_empty + sched.n_discarded
    discarded = sched.n_empty + sched.n_discarded
    sched.ask(4)  # the splitter is asked again after each discarded proposal; the pipeline learner once
    assert sched.splitter.n_asked == 1 + sched.n_empty + sched.n_discarded - discarded
    assert sched.pipeline.n_asked == 1


def test_splits_over_the_candidate_cap_are_discarded(suite):
    sched = hyperion(suite, "random", n_init=100, max_candidates=2)
    for config in drive(sched, 25):
        assert sched.candidates_bound({b: config[f"inner@{b}"].split("|") for b in inner_bases(config)}) <= 2
    assert sched.n_discarded > 0
    assert sched.metadata()["discarded_proposals"] == sched.n_discarded


def test_n_m_values_per_node_reach_the_supernet(suite):
    sched = hyperion(suite, "random", n_init=100, n_m=2)
    config = next(c for c in drive(sched, 30) if c[f"{SPLIT_PREFIX}kernel"] == OUTER
                  and c["kernel@0"] != c["kernel@0.1"] and not inner_bases(c))
    assert needs_search(suite, config)  # two kernels per node: the inner loop picks one
    kernels = {k for op, k, _a in node_candidates(suite, config)[0] if op != "skip"}  # a skip merges to kernel 0
    assert kernels <= {config["kernel@0"], config["kernel@0.1"]}


def test_bad_outer_optimiser_and_unsuitable_suite(suite):
    with pytest.raises(UserError, match="unknown outer optimiser"):
        hyperion(suite, "smac")
    with pytest.raises(UserError, match="hyperion needs a cell suite"):
        make_scheduler("hyperion", space=load_suite("flowers17").space, metric="weighted_sum", seed=0,
                       max_trials=None, constants={})


def test_cli_rejects_an_unknown_outer_optimiser(capsys):
    from hyperion_bench.cli import main

    assert main(["run", "--methods", "hyperion", "--outer", "smac"]) == 2
    assert "invalid choice: 'smac'" in capsys.readouterr().err
