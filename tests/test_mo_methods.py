"""Multi-objective methods: each one's suggest/complete loop, promotion decisions, the reference rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pytest
from syne_tune.backend.trial_status import Trial
from syne_tune.optimizer.scheduler import SchedulerDecision

from conftest import write_suite
from hyperion_bench.methods import METHODS, make_run_scheduler
from hyperion_bench.methods._hyperband import Hyperband, bracket_sizes, hb_budgets
from hyperion_bench.methods._mo_select import greedy_split, select_best, sort_best_first, worst_index
from hyperion_bench.methods.optimizer import Context
from hyperion_bench.methods.sh_emoa import SHEMOA, Individual
from hyperion_bench.metrics import hypervolume
from hyperion_bench.suites import load_suite
from hyperion_bench.synthetic import objectives

CONSTANTS = {"hb_suite": "x.toml", "hb_seed": 0, "hb_device": "cpu"}
OURS = ["mo-random", "mo-bohb", "sh-emoa", "mo-rea", "motpe", "nsga2"]  # MOOptimizers behind OptimizerScheduler

MF_SUITE = """
[data]
dataset = "zdt1"
[network]
family = "synthetic"
n_var = 4
[objectives]
weighted_sum = { f1 = 1.0, f2 = 1.0 }
pareto = ["f1", "f2"]
reference_point = [1.1, 11.0]
[budget]
min_epochs = 1
max_epochs = 4
"""


@pytest.fixture
def mf_suite(tmp_path):
    return load_suite(write_suite(tmp_path, MF_SUITE, "zdt-mf.toml"))


def start(sched: Any, trial_id: int) -> Trial | None:
    suggestion = sched.suggest()
    if suggestion is None:
        return None
    trial = Trial(trial_id=trial_id, config=suggestion.config, creation_time=datetime.now())
    sched.on_trial_add(trial)
    return trial


def params(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if not k.startswith("hb_")}


def drive(name: str, suite: Any, n: int, seed: int = 0, fail_every: int = 0, options: dict | None = None):
    """The Tuner's loop with one worker; returns the scheduler and the (config, epochs) of each trial."""
    sched = make_run_scheduler(name, suite=suite, seed=seed, max_trials=n, constants=CONSTANTS, options=options)
    seen = []
    for i in range(n + 3):  # asks past the budget must get nothing
        if hasattr(sched, "ready_to_suggest"):
            assert sched.ready_to_suggest()  # one worker: never waiting
        trial = start(sched, i)
        if trial is None:
            break
        config = trial.config
        seen.append((params(config), config.get("hb_epochs")))
        result = {"epoch": config.get("hb_epochs", suite.max_epochs), **objectives(suite, params(config))}
        if fail_every and i % fail_every == fail_every - 1:
            sched.on_trial_error(trial)
        else:
            sched.on_trial_complete(trial, result)
    return sched, seen


@pytest.mark.parametrize("name", OURS)
def test_suggest_complete_loop_is_exact_valid_seeded_and_survives_failures(name, mf_suite):
    sched, seen = drive(name, mf_suite, 40, fail_every=7)
    assert len(seen) == 40  # exactly max_trials suggestions
    for config, epochs in seen:
        mf_suite.space.validate(config)
        assert epochs is None or mf_suite.min_epochs <= epochs <= mf_suite.max_epochs
    assert sched.n_failed == 40 // 7
    assert sched.metric_names() == ["f1", "f2"] and sched.metric_mode() == "min"
    import json

    json.dumps(sched.metadata())  # Syne Tune writes it to metadata.json
    _, again = drive(name, mf_suite, 40, fail_every=7)
    assert again == seen  # same seed, same suggestions
    _, other = drive(name, mf_suite, 40, seed=1, fail_every=7)
    assert other != seen


def test_failed_trial_is_told_once(mf_suite):
    sched = make_run_scheduler("mo-random", suite=mf_suite, seed=0, max_trials=3, constants=CONSTANTS)
    trial = start(sched, 0)
    sched.on_trial_error(trial)
    sched.on_trial_error(trial)  # a second report of the same trial is ignored
    sched.on_trial_complete(trial, {"f1": 0.1, "f2": 0.2})
    assert sched.n_failed == 1


def test_non_finite_objective_is_a_failure(mf_suite):
    sched = make_run_scheduler("mo-random", suite=mf_suite, seed=0, max_trials=3, constants=CONSTANTS)
    sched.on_trial_complete(start(sched, 0), {"f1": float("nan"), "f2": 1.0})
    sched.on_trial_complete(start(sched, 1), {"f1": 0.5})
    assert sched.n_failed == 2


def test_multi_fidelity_methods_use_the_suites_epoch_budgets(mf_suite):
    for name in ("mo-bohb", "sh-emoa"):
        _, seen = drive(name, mf_suite, 40)
        assert {e for _, e in seen} == {1, 2, 4}, name  # hb_budgets(1, 4, 2)


def test_constants_reach_the_trial_and_meta_becomes_hb_keys(mf_suite):
    sched = make_run_scheduler("mo-bohb", suite=mf_suite, seed=0, max_trials=2, constants=CONSTANTS)
    config = start(sched, 0).config
    assert all(config[k] == v for k, v in CONSTANTS.items()) and config["hb_epochs"] == 1


# ---------------------------------------------------------------- selection: rank, then hypervolume
A, B, C, D = (1.0, 4.0), (2.0, 2.0), (5.0, 1.0), (3.0, 3.0)


def test_select_best_takes_whole_fronts_first():
    points = np.array([D, A, B, C])  # D is dominated by B
    assert select_best(points, 3).tolist() == [1, 2, 3]
    assert select_best(points, 4).tolist() == [0, 1, 2, 3]


def test_select_best_breaks_ties_in_a_front_by_hypervolume_contribution():
    # reference = worst x 1.1 = (5.5, 4.4): A adds 1 x 0.4, B 3 x 2, C 0.5 x 1 -> A goes first, then C
    points = np.array([A, B, C])
    assert select_best(points, 2).tolist() == [1, 2]
    assert select_best(points, 1).tolist() == [1]
    assert worst_index(points) == 0
    assert sort_best_first(points).tolist() == [1, 2, 0]


def test_greedy_split_fills_the_good_set_by_fronts_then_hypervolume_gain():
    points = np.array([D, A, B, C, (6.0, 6.0)])
    assert greedy_split(points, 1).tolist() == [False, False, True, False, False]  # B: the largest gain
    assert greedy_split(points, 3).tolist() == [False, True, True, True, False]  # the whole first front
    assert greedy_split(points, 0).sum() == 0


def test_hyperband_budgets_and_bracket_sizes_follow_hpbandster():
    assert hb_budgets(5, 25, 2) == [6, 12, 25]
    assert hb_budgets(5, 25, 3) == [8, 25]
    assert hb_budgets(1, 1, 2) == [1]
    assert bracket_sizes(2, 2, 2) == [4, 2, 1]
    assert bracket_sizes(0, 2, 2) == [3]


def test_successive_halving_promotes_by_rank_and_hypervolume():
    configs = iter([{"id": i} for i in range(100)])
    hb = Hyperband(1, 4, 2, lambda budget: next(configs))
    first = [hb.ask(k) for k in range(4)]
    assert [e for _, e in first] == [1, 1, 1, 1]
    # id 0 dominated; ids 1..3 form the front A, B, C: the two best are B and C (A contributes least)
    for k, y in enumerate([D, A, B, C]):
        hb.tell(k, np.array(y) + (1.0 if k == 0 else 0.0))
    promoted = [hb.ask(k) for k in (4, 5)]
    assert [c["id"] for c, _ in promoted] == [2, 3] and [e for _, e in promoted] == [2, 2]
    hb.tell(4, np.array([1.0, 1.0]))
    hb.tell(5, None)  # a failed evaluation is never promoted
    final, epochs = hb.ask(6)
    assert final["id"] == 2 and epochs == 4


def test_waiting_bracket_starts_a_new_one_for_a_free_worker():
    configs = iter([{"id": i} for i in range(100)])
    hb = Hyperband(1, 4, 2, lambda budget: next(configs))
    for k in range(4):
        hb.ask(k)
    config, epochs = hb.ask(4)  # the first rung is out, nothing told: the next bracket (s = 1) starts
    assert config["id"] == 4 and epochs == 2 and hb.n_brackets == 2


def test_hyperband_budgets_refuse_impossible_schedules_and_drop_rounded_duplicates():
    assert hb_budgets(1, 3, 1.2) == [1, 2, 3]  # 1.005, 1.21, 1.45, 1.74, 2.08, 2.5, 3 rounded: each once
    for bad in [(1, 4, 1), (1, 4, 0.5), (3, 2, 2), (0, 4, 2)]:  # eta 1 never shrinks; min above max; 0 epochs
        with pytest.raises(AssertionError):
            hb_budgets(*bad)


def numbered_sampler(log: list | None = None):
    """Configs {"id": 0}, {"id": 1}, ...; ``log`` gets the budget each draw was made for."""
    ids = iter(range(1000))

    def sample(budget):
        if log is not None:
            log.append(budget)
        return {"id": next(ids)}
    return sample


def test_one_worker_fills_the_first_rung_before_promoting_and_finished_brackets_leave():
    budgets_asked: list = []
    hb = Hyperband(1, 4, 2, numbered_sampler(budgets_asked))
    seen = []
    for k in range(4 + 2 + 1):  # bracket s = 2: rungs of 4, 2 and 1 at 1, 2 and 4 epochs, asked and told in turn
        config, epochs = hb.ask(k)
        seen.append((config["id"], epochs))
        hb.tell(k, np.array([config["id"], -config["id"]], dtype=float))  # one front: every member non-dominated
    assert [e for _, e in seen] == [1, 1, 1, 1, 2, 2, 4] and hb.n_brackets == 1
    assert budgets_asked == [1, 1, 1, 1]  # the sampler is told the budget it draws for (MO-BOHB's model per budget)
    assert hb.ask(7)[1] == 2 and hb.n_brackets == 2  # the next bracket (s = 1) starts at 2 epochs
    assert len(hb.active) == 1  # the finished bracket is gone
    assert budgets_asked[-1] == 2
    assert hb.tell(999, np.array([0.0, 0.0])) is None  # an unknown key is ignored


def test_a_bracket_that_ends_early_hands_over_to_the_next_running_one():
    hb = Hyperband(1, 4, 2, numbered_sampler())
    for k in range(6):  # bracket s = 2 (ids 0-3, 1 epoch), then bracket s = 1 (ids 4-5, 2 epochs)
        hb.ask(k)
    for k in range(4):
        hb.tell(k, None)  # the whole first rung failed: nothing to promote, the bracket ends
    hb.tell(4, np.array([1.0, 2.0]))
    hb.tell(5, np.array([2.0, 1.0]))
    config, epochs = hb.ask(6)  # the second bracket's promotion, not a third bracket
    assert config["id"] in (4, 5) and epochs == 4 and hb.n_brackets == 2


def test_successive_halving_mode_always_starts_the_most_aggressive_bracket():
    hb = Hyperband(1, 4, 2, numbered_sampler(), brackets="successive_halving")
    firsts = []
    for b in range(3):
        for k in range(4 * b, 4 * b + 4):
            firsts.append(hb.ask(k)[1])
    assert firsts == [1] * 12 and hb.n_brackets == 3  # hyperband would start brackets at 2 and 4 epochs
    with pytest.raises(AssertionError):
        Hyperband(1, 4, 2, numbered_sampler(), brackets="asha")


# ---------------------------------------------------------------- SH-EMOA
def make_shemoa(suite: Any, max_trials: int | None, **settings: Any) -> SHEMOA:
    context = Context(["f1", "f2"], [1.1, 11.0], max_trials=max_trials)
    from hyperion_bench.method_settings import load_baseline

    return SHEMOA(space=suite.space, n_objectives=2, seed=0, min_epochs=suite.min_epochs,
                  max_epochs=suite.max_epochs, settings={**load_baseline("sh-emoa").settings, **settings},
                  context=context)


def test_shemoa_population_rule_and_stage_plan(mf_suite):
    opt = make_shemoa(mf_suite, 150)
    assert opt.mu == 15 and opt.budgets == [1, 2, 4]
    assert sum(opt.stage_evals) == 150 and opt.stage_evals[0] > opt.stage_evals[1] > opt.stage_evals[2]
    assert make_shemoa(mf_suite, 15000).mu == 100 and make_shemoa(mf_suite, 20).mu == 8


def test_shemoa_survival_drops_the_worst_and_next_stage_reevaluates_survivors(mf_suite):
    opt = make_shemoa(mf_suite, 70)
    key = n_children = 0
    while opt.stage == 0:
        s = opt.ask(key)
        y = np.array(list(objectives(mf_suite, s.config).values()))
        before = [tuple(i.objectives) for i in opt.population] + [tuple(y)]
        is_child = opt.pending[key][0] == "child"
        opt.tell(key, y, {})
        key += 1
        assert len(opt.population) <= opt.mu
        if is_child and len(before) > opt.mu:
            n_children += 1
            expected = before[:brute_force_worst(np.array(before))] + before[brute_force_worst(np.array(before)) + 1:]
            assert sorted(tuple(i.objectives) for i in opt.population) == sorted(expected)
    assert n_children > 10
    # the first ask of stage 1 came out above: it re-evaluates a stage-0 survivor at budget 2
    assert s.epochs == 2
    survivors = [dict(c) for c in opt.queue] + [s.config]
    assert len(survivors) == opt.mu


def brute_force_worst(points: np.ndarray) -> int:
    """The member SH-EMOA's survival drops, by definition: in the last non-dominated front (peeled by
    pairwise dominance), the smallest exclusive hypervolume (hv of the front minus hv without it; reference
    = worst point x 1.1); ties: the later row."""
    n = len(points)
    dominated_by = [[j for j in range(n) if np.all(points[j] <= points[i]) and np.any(points[j] < points[i])]
                    for i in range(n)]
    left, front = set(range(n)), []
    while left:
        front = sorted(i for i in left if not any(j in left for j in dominated_by[i]))
        left -= set(front)
    if len(front) == 1:
        return front[0]
    ref = 1.1 * points.max(axis=0)
    total = hypervolume(points[front], ref)
    contrib = [total - hypervolume(points[[j for j in front if j != i]], ref) for i in front]
    return front[max(k for k, c in enumerate(contrib) if np.isclose(c, min(contrib), rtol=0, atol=1e-12))]


def test_shemoa_survival_drops_the_smallest_contributor_of_a_front(mf_suite):
    opt = make_shemoa(mf_suite, 150, population=4, min_population=4)
    members = [(0.0, 4.0), (1.0, 3.0), (2.0, 2.0), (3.0, 1.0)]
    for k, y in enumerate(members):
        opt.ask(k)
        opt.tell(k, np.array(y), {})
    child = (1.6, 2.3)  # non-dominated: all five share the first front
    points = np.array(members + [child])
    ref = 1.1 * points.max(axis=0)
    contrib = [hypervolume(points, ref) - hypervolume(np.delete(points, i, axis=0), ref) for i in range(5)]
    smallest, largest = int(np.argmin(contrib)), int(np.argmax(contrib))
    assert smallest != largest and sorted(contrib)[0] < sorted(contrib)[1]  # the two rules disagree here
    assert brute_force_worst(points) == smallest
    opt.ask(4)
    opt.tell(4, np.array(child), {})
    assert sorted(tuple(i.objectives) for i in opt.population) == sorted(
        tuple(p) for i, p in enumerate(points.tolist()) if i != smallest)


def test_shemoa_schedule_waits_and_refills(mf_suite):
    opt = make_shemoa(mf_suite, 70)  # mu 8; stages at 1, 2, 4 epochs with 40, 20, 10 evaluations
    assert (opt.mu, opt.stage_evals) == (8, [40, 20, 10])
    assert opt.metadata() == {"population": 8, "n_fe_planned": 70, "budgets": [1, 2, 4],
                              "stage_evaluations": [40, 20, 10]}
    y = iter(np.random.default_rng(1).random((200, 2)))
    first = [opt.ask(k) for k in range(8)]
    assert all(s.epochs == 1 for s in first) and opt.ask(8) is None  # evolution waits for the population
    for k in range(2):
        opt.tell(k, next(y), {})
    for k in range(2, 8):
        opt.tell(k, None, {})  # six failed: two members are enough to breed from
    s = opt.ask(8)
    assert opt.pending[8][0] == "child" and s.epochs == 1
    opt.tell(8, next(y), {})
    assert len(opt.population) == 3  # below mu: nobody leaves
    key, log = 9, []
    while len(log) < 70:
        s = opt.ask(key)
        log.append((s.epochs, opt.pending[key][0]))
        opt.tell(key, next(y), {})
        key += 1
    epochs = [e for e, _ in log]
    assert epochs.count(1) == 40 - 9 and epochs.count(2) == 20 and epochs.count(4) == 70 - 31 - 20
    # each later stage starts by re-evaluating its survivors, then breeds; the last stage goes on
    assert [k for e, k in log if e == 2][:8] == ["init"] * 8 and [k for e, k in log if e == 2][8:] == ["child"] * 12
    last = [k for e, k in log if e == 4]
    assert last[:8] == ["init"] * 8 and set(last[8:]) == {"child"}
    assert len(opt.population) == opt.mu


def test_shemoa_refills_when_fewer_than_two_survive(mf_suite):
    opt = make_shemoa(mf_suite, 70)
    for k in range(8):
        opt.ask(k)
    opt.tell(0, np.array([0.5, 0.5]), {})
    for k in range(1, 8):
        opt.tell(k, None, {})
    opt.ask(8)
    assert opt.pending[8][0] == "init"  # one member cannot breed: a random config instead


def test_shemoa_tournament_picks_distinct_members(mf_suite):
    opt = make_shemoa(mf_suite, 70, tournament_size=3)
    for k, y in enumerate([(1.0, 1.0), (2.0, 2.0)]):
        opt.ask(k)
        opt.tell(k, np.array(y), {})
    for k in range(2, 8):
        opt.ask(k)
        opt.tell(k, None, {})
    pos = np.array([0, 1])  # member 0 ranks first
    # a 3-way tournament among two members sees both (no repeats) and the better one always wins
    assert all(opt._tournament(pos) is opt.population[0] for _ in range(40))


def test_shemoa_removes_a_dominated_child(mf_suite):
    opt = make_shemoa(mf_suite, 150, population=4, min_population=4)
    for k in range(4):
        opt.ask(k)
        opt.tell(k, np.array([k, 4.0 - k]), {})
    opt.ask(4)
    opt.tell(4, np.array([10.0, 10.0]), {})  # dominated by everyone: it leaves at once
    assert sorted(tuple(i.objectives) for i in opt.population) == [(0, 4), (1, 3), (2, 2), (3, 1)]


def test_shemoa_settings_reach_the_algorithm(mf_suite):
    """Every key of baselines/sh-emoa.toml is read, and read under its own name (the file is the one place
    the defaults live: a misspelt key is a KeyError, not a silent fallback)."""
    opt = make_shemoa(mf_suite, 150, population=12, min_population=3, population_fraction=0.05,
                      mutation_keys=2, p_recombination=0.25, tournament_size=4, eta=4)
    assert opt.mu == 8  # min(12, max(3, round(0.05 * 150)))
    assert (opt.mutation_keys, opt.p_recombination, opt.tournament, opt.budgets) == (2, 0.25, 4, [1, 4])
    assert opt.stage_evals == [120, 30]  # shares 1 : 1/4 of 150
    wall_clock_only = make_shemoa(mf_suite, None, n_fe_total=300)
    assert wall_clock_only.n_total == 300 and wall_clock_only.mu == 30 and sum(wall_clock_only.stage_evals) == 300
    assert make_shemoa(mf_suite, None).n_total == 15000  # the paper's budget (Appendix B.1)
    with pytest.raises(KeyError):
        SHEMOA(space=mf_suite.space, n_objectives=2, seed=0, settings={"population": 10})


def seeded_population(opt: SHEMOA, configs: list[dict], points: list[tuple[float, float]]) -> None:
    opt.queue = []
    opt.population = [Individual(dict(c), np.array(y, dtype=float)) for c, y in zip(configs, points, strict=True)]


def test_shemoa_mutation_resamples_exactly_mutation_keys_distinct_parameters(mf_suite):
    opt = make_shemoa(mf_suite, 70, p_recombination=0.0, mutation_keys=3)
    parent = opt.space.sample(np.random.default_rng(5))
    seeded_population(opt, [parent, parent], [(1.0, 2.0), (2.0, 1.0)])
    for _ in range(30):  # continuous parameters: a resampled value never equals the parent's
        child = opt._child()
        assert sum(child[k] != parent[k] for k in opt.space.names) == 3  # drawn without replacement


def test_shemoa_recombination_takes_each_parameter_from_one_of_two_parents(mf_suite):
    opt = make_shemoa(mf_suite, 70, p_recombination=1.0, tournament_size=1)
    rng = np.random.default_rng(6)
    a, b = opt.space.sample(rng), opt.space.sample(rng)
    seeded_population(opt, [a, b], [(1.0, 2.0), (2.0, 1.0)])
    mixed = 0
    for _ in range(40):
        child = opt._child()
        assert all(child[k] in (a[k], b[k]) for k in opt.space.names)  # recombination only, no mutation
        mixed += any(child[k] == a[k] for k in opt.space.names) and any(child[k] == b[k] for k in opt.space.names)
    assert mixed > 10  # uniform crossover: most children take parameters from both parents


def test_shemoa_waits_for_the_stages_last_trial_and_breeds_while_children_run(mf_suite):
    opt = make_shemoa(mf_suite, 70)  # stage 0: 40 evaluations at 1 epoch
    y = iter(np.random.default_rng(2).random((100, 2)))
    for k in range(8):
        opt.ask(k)
        opt.tell(k, next(y), {})
    opt.ask(8)
    second = opt.ask(9)  # steady state with two workers: a child runs, another is bred
    assert second is not None and [opt.pending[k][0] for k in (8, 9)] == ["child", "child"]
    for k in (8, 9):
        opt.tell(k, next(y), {})
    for k in range(10, 39):
        opt.ask(k)
        opt.tell(k, next(y), {})
    assert opt.ask(39).epochs == 1 and opt.asked_in_stage == 40
    assert opt.ask(40) is None  # the stage's last trial is still running: the next stage waits for it
    opt.tell(39, next(y), {})
    s = opt.ask(40)
    assert (s.epochs, opt.stage, opt.pending[40][0]) == (2, 1, "init")


# ---------------------------------------------------------------- MO-BOHB
def test_mobohb_builds_a_model_after_min_points_and_samples_near_the_good_set(mf_suite):
    options = {"random_fraction": "0.0", "min_points_in_model": "5"}
    sched, seen = drive("mo-bohb", load_suite("zdt1"), 60, options=options)
    assert sched.optimizer.n_model_based > 0
    x_rest = np.array([[c[f"x{i}"] for i in range(1, 30)] for c, _ in seen])
    # ZDT1's front has x1..x29 = 0: the model's picks move towards it compared to the random start
    assert x_rest[-20:].mean() < x_rest[:6].mean()


# ---------------------------------------------------------------- reference rows
def test_moasha_stops_at_rungs_counts_trials_and_is_seeded(mf_suite):
    def run(seed: int):
        sched = make_run_scheduler("moasha", suite=mf_suite, seed=seed, max_trials=12, constants=CONSTANTS)
        decisions, configs = [], []
        for i in range(14):
            trial = start(sched, i)
            if trial is None:
                break
            configs.append(params(trial.config))
            assert trial.config["hb_epochs"] == mf_suite.max_epochs
            for epoch in range(1, mf_suite.max_epochs + 1):
                d = sched.on_trial_result(trial, {"epoch": epoch, **objectives(mf_suite, configs[-1])})
                decisions.append(d)
                if d == SchedulerDecision.STOP:
                    sched.on_trial_remove(trial)
                    break
        return configs, decisions

    configs, decisions = run(0)
    assert len(configs) == 12
    assert decisions.count(SchedulerDecision.STOP) == 12  # every trial ends by a STOP (at a rung or max_t)
    assert decisions.count(SchedulerDecision.CONTINUE) > 0
    assert run(0)[0] == configs and run(1)[0] != configs


def test_reference_rows_are_registered_as_multi_objective():
    for name in ("moasha", "mo-rea", "motpe", "nsga2"):
        assert METHODS[name].multi_objective


def test_optuna_adapters_tell_failures_and_values(mf_suite):
    sched, _ = drive("motpe", mf_suite, 12, fail_every=4)
    states = [t.state.name for t in sched.optimizer.study.trials]
    assert states.count("FAIL") == 3 and states.count("COMPLETE") == 9
    values = [t.values for t in sched.optimizer.study.trials if t.state.name == "COMPLETE"]
    assert all(len(v) == 2 for v in values)


def test_rank_priority_fixes_syne_tunes_order_for_rank_confusion():
    from syne_tune.optimizer.schedulers.multiobjective.multiobjective_priority import NonDominatedPriority

    from hyperion_bench.methods.mo_reference import RankPriority

    points = np.array([[3.0, 3.0], [1.0, 1.0], [2.0, 2.0]])
    assert RankPriority()(points).tolist() == [2, 0, 1]  # per point: lower is better
    assert NonDominatedPriority()(points).tolist() == [1, 2, 0]  # the upstream order (if fixed upstream: drop ours)


@pytest.mark.parametrize("fix, last", [(True, SchedulerDecision.STOP), (False, SchedulerDecision.CONTINUE)])
def test_moasha_rung_decision_uses_the_newcomers_rank(mf_suite, fix, last):
    """Rung 1, reduction factor 3: a newcomer continues only within the best third. (0.5, 0.5) comes
    third of four; Syne Tune's own priority looks at the index of the worst point (0) and lets it on."""
    sched = make_run_scheduler("moasha", suite=mf_suite, seed=0, max_trials=10, constants=CONSTANTS,
                               options={"fix_priority": str(fix).lower()})
    decisions = [sched.on_trial_result(start(sched, i), {"epoch": 1, "f1": y, "f2": y})
                 for i, y in enumerate([0.9, 0.1, 0.2, 0.5])]
    assert decisions == [SchedulerDecision.CONTINUE] * 3 + [last]
