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


# ---------------------------------------------------------------- what the mutation run found untested (issue 18)
def _complete_values(learner) -> list[float]:
    import optuna

    trials = learner.optimiser.study.trials
    assert all(t.state != optuna.trial.TrialState.RUNNING for t in trials)  # every ask was answered
    return [t.values[0] for t in trials if t.state == optuna.trial.TrialState.COMPLETE]


def test_every_learner_a_trial_used_learns_that_trials_value(suite):
    """Algorithm 1's feedback: the splitter, the pipeline learner and every other learner that proposed a
    part of trial k are told k's value, in the random phase (observe) and after it (tell), and record it."""
    sched = hyperion(suite, "tpe", n_init=2)
    values = [0.9, 0.7, 0.5, None, 0.3, 0.2]
    for key, v in enumerate(values):
        sched.ask(key)
        used = list(sched.used[key])
        sched.tell(key, one_value(v), {})
        for learner in used:
            assert learner.history[-1][1] == v
    assert [v for _, v in sched.histories["split"]] == values
    assert [v for _, v in sched.splitter.history] == values
    assert [v for _, v in sched.pipeline.history] == values
    # the optimiser behind each learner saw them too (a failed trial as a failure, not a value); the
    # splitter's extra entries are discarded proposals, taught the worst value seen so far
    assert _complete_values(sched.pipeline) == [v for v in values if v is not None]
    assert [v for v in _complete_values(sched.splitter) if v not in (0.9,)] == [0.7, 0.5, 0.3, 0.2]


def test_a_discarded_proposal_teaches_the_worst_value_seen_so_far(suite, monkeypatch):
    """Proposals over the candidate cap are told the worst result so far (a failure before any result):
    with decreasing values the worst is the first, 0.9, for every discard after trial 0."""
    from hyperion_bench.methods.hyperion import Hyperion

    sched = hyperion(suite, "tpe", n_init=2, max_candidates=1)
    monkeypatch.setattr(Hyperion, "candidates_bound",
                        lambda self, subsets: 2 if subsets else 1)  # any inner parameter: over the cap of 1
    values = [0.9, 0.8, 0.6, 0.4]
    discards_after_first = 0
    for key, v in enumerate(values):
        before = sched.n_discarded
        sched.ask(key)
        if key == 0:
            own_subspaces = sum(learner in sched.used[0] for learner in sched.subspace.values())
        else:
            discards_after_first += sched.n_discarded - before
        sched.tell(key, one_value(v), {})
    assert discards_after_first > 0
    taught = _complete_values(sched.splitter)
    assert taught.count(0.9) == 1 + discards_after_first  # its own trial, then every later discard
    assert sorted(set(taught)) == sorted(set(values))  # nothing else was taught: no latest-value stand-in
    # the sub-search-space samplers of each discarded proposal's inner parameters are taught it too
    sub_taught = [v for learner in sched.subspace.values() for v in _complete_values(learner)]
    assert sub_taught.count(0.9) >= own_subspaces + discards_after_first


def test_the_candidate_cap_is_inclusive_and_a_cap_nothing_meets_falls_back_to_an_outer_split(suite, monkeypatch):
    from hyperion_bench.methods.hyperion import RETRIES, Hyperion

    monkeypatch.setattr(Hyperion, "candidates_bound", lambda self, subsets: 2)
    sched = hyperion(suite, "random", n_init=100, max_candidates=2)
    drive(sched, 5)
    assert sched.n_discarded == 0 and sched.n_fallbacks == 0  # exactly at the cap is allowed
    monkeypatch.setattr(Hyperion, "candidates_bound", lambda self, subsets: 10**6)
    sched = hyperion(suite, "random", n_init=100, max_candidates=1)
    assert sched.metadata()["fallback_splits"] == 0
    for config in drive(sched, 3):
        assert all(config[f"{SPLIT_PREFIX}{b}"] == OUTER for b in ("op", "kernel", "activation"))
    assert sched.n_fallbacks == 3 and sched.n_discarded == 3 * RETRIES


def test_metadata_names_every_setting_and_counter(suite):
    sched = hyperion(suite, "anneal", n_init=3, n_m=2, max_candidates=7, inner="hyperdarts")
    assert sched.settings == {"outer": "anneal", "n_init": 3, "n_m": 2, "max_candidates": 7, "inner": "hyperdarts"}
    assert sched.metadata() == {"outer": "anneal", "inner": "hyperdarts", "n_init": 3, "n_m": 2, "max_candidates": 7,
                                "discarded_proposals": 0, "empty_subspaces": 0, "fallback_splits": 0}


def test_the_random_phase_asks_no_learner_and_subsets_are_the_bits_switched_on(suite):
    sched = hyperion(suite, "tpe", n_init=6)
    seen_partial = False
    for key in range(6):
        config = sched.ask(key).config
        learners = [sched.splitter, sched.pipeline, sched.edges, *sched.arch.values(), *sched.subspace.values()]
        assert all(learner.n_asked == 0 for learner in learners)  # drawn at random, told through observe
        for p in sched.fusion:
            if f"inner@{p.name}" in config:
                bits = sched.subspace[p.name].pending[key][1]
                on = [c for c in p.choices if bits[f"inner@{p.name}={c}"] == 1]
                assert config[f"inner@{p.name}"] == "|".join(str(c) for c in on)
                seen_partial |= len(on) < len(p.choices)
        sched.tell(key, one_value(0.5), {})
    assert seen_partial  # a sub-search-space is a real subset, not always every choice


@pytest.mark.parametrize("inner", ["darts", "hyperdarts"])
def test_searching_configs_name_their_inner_optimiser_and_carry_no_edges(suite, inner):
    sched = hyperion(suite, "random", n_init=100, inner=inner)
    searching = fixed = 0
    for key, config in enumerate(drive(sched, 30)):
        history_parts = sched.histories["pipeline"][key][0]
        assert history_parts == {k: config[k] for k in history_parts} and history_parts  # the pipeline's part
        if needs_search(suite, config):
            searching += 1
            assert not any(k.startswith("edges@") for k in config)  # DARTS picks each node's inputs
            assert config.get("inner_optimizer") == (None if inner == "darts" else inner)
            for base in inner_bases(config):
                assert sched.histories["subspace"][key][0][base] == config[f"inner@{base}"]
        else:
            fixed += 1
            assert "inner_optimizer" not in config and all(f"edges@{j}" in config for j in range(2))
    assert searching and fixed


def test_tpe_learners_start_up_with_hyperions_random_trials_and_their_own_seed():
    from hyperion_bench.methods.hyperion import make_learner
    from hyperion_bench.space import JointSpace, Param

    sub = JointSpace([Param("a", "choice", "pipeline", choices=tuple(range(50)))])
    assert make_learner("tpe", sub, 3, n_init=5).study.sampler._n_startup_trials == 5
    assert make_learner("tpe", sub, 3, n_init=0).study.sampler._n_startup_trials == 1  # never zero
    assert make_learner("random", sub, 3, n_init=5).settings == {}

    def firsts(seed):
        learner = make_learner("tpe", sub, seed, n_init=5)
        return [learner.ask(k).config["a"] for k in range(4)]

    assert firsts(3) == firsts(3) and firsts(3) != firsts(4)


def test_a_suite_without_fusion_parameters_is_refused_with_its_reason():
    with pytest.raises(UserError, match=r"^method hyperion needs a cell suite with fusion parameters "
                                        r"\(op, kernel, activation\)$"):
        make_scheduler("hyperion", space=load_suite("flowers17").space, metric="weighted_sum", seed=0,
                       max_trials=None, constants={})
