"""Each method driven through the Syne Tune scheduler interface, the way the Tuner drives it."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

import numpy as np
import pytest
from syne_tune.backend.trial_status import Trial
from syne_tune.optimizer.scheduler import SchedulerDecision, TrialScheduler

from hyperion_bench.errors import UserError
from hyperion_bench.methods import METHODS, make_scheduler
from hyperion_bench.methods.optimizer import value_of
from hyperion_bench.space import JointSpace, Param

SPACE = JointSpace(
    [
        Param("optimizer", "choice", "pipeline", choices=("sgd", "adam")),
        Param("cells", "int", "macro", low=1, high=5),
        Param("batch_size", "int", "pipeline", low=8, high=512, log=True),
        Param("momentum", "float", "pipeline", low=0.0, high=0.99),
        Param("lr", "float", "pipeline", low=1e-4, high=1.0, log=True),
        Param("op", "choice", "fusion", choices=("conv", "skip", "max_pool")),
    ],
    nodes=2,
)
METRIC = "weighted_sum"
CONSTANTS = {"hb_suite": "x.toml", "hb_seed": 3, "hb_device": "cpu"}
TARGET = np.full(len(SPACE.flat), 0.3)
# the flat-space multi-trial methods; darts, hyperdarts and hyperion hand parameters to the inner loop (their
# configs are not points of the flat space) and are tested in test_oneshot.py / test_hyperion.py
ONE_SHOT = ("darts", "hyperdarts", "hyperion")
ALL = sorted(name for name, info in METHODS.items() if not info.multi_objective and name not in ONE_SHOT)


def objective(config: dict[str, Any]) -> float:
    """Squared distance of the unit-cube encoding to a fixed target: smooth, minimum near 0."""
    return float(np.sum((SPACE.to_unit(config) - TARGET) ** 2))


def make(name: str, seed: int = 0, max_trials: int | None = None, constants: dict | None = None,
         space: JointSpace = SPACE) -> TrialScheduler:
    return make_scheduler(name, space=space, metric=METRIC, seed=seed, max_trials=max_trials,
                          constants=CONSTANTS if constants is None else constants)


def start(sched: TrialScheduler, trial_id: int) -> Trial:
    """What the Tuner does: suggest, let the backend start the trial, then on_trial_add."""
    suggestion = sched.suggest()
    assert suggestion is not None and suggestion.spawn_new_trial_id
    trial = Trial(trial_id=trial_id, config=suggestion.config, creation_time=datetime.now())
    sched.on_trial_add(trial)
    return trial


def searched(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in CONSTANTS}


def drive(name: str, n: int, seed: int = 0, fail_every: int = 0) -> tuple[TrialScheduler, list, list]:
    """n sequential trials; every ``fail_every``-th one (from the 2nd) errors. Returns configs, values."""
    sched = make(name, seed=seed, max_trials=n)
    configs, values = [], []
    for i in range(n):
        trial = start(sched, i)
        configs.append(searched(trial.config))
        assert sched.on_trial_result(trial, {METRIC: 1.0}) == SchedulerDecision.CONTINUE
        if fail_every and i % fail_every == 1:
            sched.on_trial_error(trial)
        else:
            values.append(objective(configs[-1]))
            sched.on_trial_complete(trial, {METRIC: values[-1]})
    return sched, configs, values


def spy_tell(sched: TrialScheduler) -> list[tuple[int, float | None]]:
    """Record every (key, value) the base class tells the optimiser, and still tell it."""
    told: list[tuple[int, float | None]] = []
    tell = sched.optimizer.tell

    def recording(key: int, values: np.ndarray | None, result: dict[str, Any]) -> None:
        told.append((key, value_of(values)))
        tell(key, values, result)

    sched.optimizer.tell = recording
    return told


@pytest.mark.parametrize("name", ALL)
def test_configs_are_in_the_domain_carry_the_constants_and_stop_exactly(name):
    sched, configs, _ = drive(name, 7)
    for config in configs:
        SPACE.validate(config)
        assert set(config) == set(SPACE.names)
        for p in SPACE.flat:  # validate() accepts 3.0 for an int; the trial code wants real ints
            assert type(config[p.name]) is {"int": int, "float": float, "choice": str}[p.kind], p.name
    assert sched.suggest() is None  # exactly max_trials suggestions ...
    assert sched.suggest() is None  # ... and it stays exhausted
    assert sched.metric_names() == [METRIC] and sched.metric_mode() == "min"
    json.dumps(sched.metadata())  # the Tuner writes it to metadata.json


@pytest.mark.parametrize("name", ALL)
def test_constants_reach_the_trial_untouched(name):
    sched = make(name, max_trials=None)
    for i in range(3):
        config = start(sched, i).config
        assert {k: config[k] for k in CONSTANTS} == CONSTANTS


@pytest.mark.parametrize("name", ALL)
def test_no_limit_without_max_trials(name):
    sched = make(name, max_trials=None)
    for i in range(12):  # all pending: no result needed to keep suggesting
        SPACE.validate(searched(start(sched, i).config))


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_sequence_other_seed_other_sequence(name):
    a = drive(name, 12, seed=1, fail_every=5)[1]
    b = drive(name, 12, seed=1, fail_every=5)[1]
    c = drive(name, 12, seed=2, fail_every=5)[1]
    assert a == b
    assert a != c


@pytest.mark.parametrize("name", ALL)
def test_pending_trials_finishing_out_of_order_are_told_to_the_right_suggestion(name):
    sched = make(name)
    told = spy_tell(sched)
    trials = [start(sched, trial_id) for trial_id in (7, 3, 5)]  # three workers busy; ids need not be 0, 1, 2
    for trial in (trials[2], trials[0], trials[1]):
        sched.on_trial_complete(trial, {METRIC: objective(searched(trial.config))})
    expected = {key: objective(searched(t.config)) for key, t in enumerate(trials)}
    assert sorted(told) == sorted(expected.items())
    SPACE.validate(searched(start(sched, 8).config))


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("result", [{METRIC: math.nan}, {METRIC: math.inf}, {METRIC: "n/a"}, {"other": 1.0}])
def test_missing_or_non_finite_results_are_failures(name, result):
    sched = make(name)
    told = spy_tell(sched)
    sched.on_trial_complete(start(sched, 0), result)
    assert told == [(0, None)]
    assert sched.n_failed == 1


@pytest.mark.parametrize("name", ALL)
def test_errors_are_failures_told_once_and_the_run_goes_on(name):
    sched = make(name)
    told = spy_tell(sched)
    first, second = start(sched, 0), start(sched, 1)  # two pending before any is told
    sched.on_trial_error(second)
    sched.on_trial_complete(first, {METRIC: 0.5})
    sched.on_trial_complete(first, {METRIC: 0.5})  # a second notification is ignored
    sched.on_trial_error(second)
    assert told == [(1, None), (0, 0.5)]
    for i in range(2, 8):
        trial = start(sched, i)
        SPACE.validate(searched(trial.config))
        sched.on_trial_complete(trial, {METRIC: objective(searched(trial.config))})


def test_libraries_hear_failures_in_their_own_terms():
    from optuna.trial import TrialState

    tpe = make("tpe")
    tpe.on_trial_error(start(tpe, 0))
    tpe.on_trial_complete(start(tpe, 1), {METRIC: math.nan})
    tpe.on_trial_complete(start(tpe, 2), {METRIC: 0.5})
    assert [t.state for t in tpe.optimizer.study.trials] == [TrialState.FAIL, TrialState.FAIL, TrialState.COMPLETE]

    anneal = make("anneal")
    anneal.on_trial_error(start(anneal, 0))
    anneal.on_trial_complete(start(anneal, 1), {METRIC: 0.5})
    pending = start(anneal, 2)
    assert anneal.optimizer.trials.statuses() == ["fail", "ok", "new"]
    assert anneal.optimizer.trials.losses() == [None, 0.5, None]
    anneal.on_trial_complete(pending, {METRIC: 0.25})
    assert anneal.optimizer.trials.losses() == [None, 0.5, 0.25]

    blend = make("blendsearch")
    calls = []
    searcher_complete = blend.optimizer.searcher.on_trial_complete
    blend.optimizer.searcher.on_trial_complete = lambda *a, **kw: (calls.append((a, kw)), searcher_complete(*a, **kw))
    blend.on_trial_error(start(blend, 0))
    ok = start(blend, 1)
    blend.on_trial_complete(ok, {METRIC: 0.5})
    assert calls[0] == (("0.0", None), {"error": True})
    (flaml_id, result), _ = calls[1]
    assert flaml_id == "1.0" and result[METRIC] == 0.5
    assert searched(ok.config) == SPACE.clean(result["config"])


def test_blendsearch_falls_back_to_random_configs_when_flaml_runs_dry():
    tiny = JointSpace([Param("a", "choice", "pipeline", choices=("x", "y", "z")),
                       Param("b", "int", "macro", low=1, high=2)])
    sched = make("blendsearch", max_trials=12, constants={}, space=tiny)
    for i in range(12):  # 6 configs in all: FLAML will not repeat one, so it must give up at some point
        trial = start(sched, i)
        tiny.validate(trial.config)
        sched.on_trial_complete(trial, {METRIC: float(i % 5)})
    assert sched.optimizer.n_fallbacks > 0
    assert sched.suggest() is None


@pytest.mark.parametrize("name", ["tpe", "anneal", "blendsearch", "random"])
def test_model_based_methods_learn_where_the_objective_is_low(name):
    """After 40 trials the best beats the best of the first 5, and the last 20 trials concentrate
    where the objective is low. Random search (the control) does not concentrate, and neither does
    a method told the wrong sign (checked by hand for seeds 0-7: every one fails then)."""
    _, _, values = drive(name, 40, seed=1)
    concentrated = np.median(values[-20:]) < 0.8 * np.median(values[:10])
    if name == "random":
        assert not concentrated
    else:
        assert min(values) < min(values[:5]) and concentrated


def test_constants_must_not_shadow_searched_parameters():
    with pytest.raises(AssertionError, match="lr"):
        make("random", constants={"lr": 0.1})


def test_unknown_method_is_a_user_error_naming_the_known_ones():
    known = ", ".join(sorted(METHODS))
    with pytest.raises(UserError, match=rf"^unknown method 'magic'; known methods: {known}$"):
        make("magic")


def test_registry_entries():
    assert set(ALL) == {"random", "tpe", "anneal", "blendsearch"}
    assert {n for n, i in METHODS.items() if i.multi_objective} == {
        "mo-random", "mo-bohb", "ms-ehvi", "sh-emoa", "mo-bananas", "bulk-and-cut",
        "moasha", "mo-rea", "motpe", "nsga2"}
    for name, info in METHODS.items():
        assert info.name == name and info.description and "\n" not in info.description
