"""Each method's suggest/complete loop through the Syne Tune scheduler interface."""

from datetime import datetime

import numpy as np
import pytest
from syne_tune.backend.trial_status import Trial
from syne_tune.optimizer.scheduler import SchedulerDecision

from hyperion_bench.errors import UserError
from hyperion_bench.methods import METHODS, make_scheduler
from hyperion_bench.space import JointSpace, Param

SPACE = JointSpace(
    [
        Param("lr", "float", "pipeline", low=1e-4, high=1.0, log=True),
        Param("momentum", "float", "pipeline", low=0.0, high=0.99),
        Param("batch_size", "int", "pipeline", low=8, high=512, log=True),
        Param("cells", "int", "macro", low=1, high=5),
        Param("optimizer", "choice", "pipeline", choices=("sgd", "adam")),
        Param("op", "choice", "fusion", choices=("conv", "skip", "max_pool")),
    ],
    nodes=2,
)
CONSTANTS = {"hb_suite": "x.toml", "hb_seed": 3}
TARGET = np.full(len(SPACE.flat), 0.3)


def objective(config):
    return float(np.sum((SPACE.to_unit(config) - TARGET) ** 2))


def drive(name, n, seed=0, fail_every=0, nan_every=0, max_trials=None):
    sched = make_scheduler(name, space=SPACE, metric="weighted_sum", seed=seed,
                           max_trials=n if max_trials is None else max_trials, constants=CONSTANTS)
    configs, values = [], []
    for i in range(n):
        suggestion = sched.suggest()
        assert suggestion is not None
        trial = Trial(trial_id=i, config=suggestion.config, creation_time=datetime.now())
        sched.on_trial_add(trial)
        config = {k: v for k, v in suggestion.config.items() if k not in CONSTANTS}
        configs.append(config)
        assert sched.on_trial_result(trial, {"weighted_sum": 1.0}) == SchedulerDecision.CONTINUE
        if fail_every and i % fail_every == 1:
            sched.on_trial_error(trial)
        elif nan_every and i % nan_every == 1:
            sched.on_trial_complete(trial, {"weighted_sum": float("nan")})
        else:
            values.append(objective(config))
            sched.on_trial_complete(trial, {"weighted_sum": values[-1]})
    return sched, configs, values


@pytest.mark.parametrize("name", sorted(METHODS))
def test_configs_are_valid_carry_constants_and_stop_exactly(name):
    sched, configs, _ = drive(name, 6)
    for config in configs:
        SPACE.validate(config)
    assert sched.suggest() is None  # exactly max_trials suggestions
    assert sched.metric_names() == ["weighted_sum"] and sched.metric_mode() == "min"
    assert isinstance(sched.metadata()["scheduler_name"], str)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_constants_pass_through(name):
    sched = make_scheduler(name, space=SPACE, metric="weighted_sum", seed=0, max_trials=1, constants=CONSTANTS)
    config = sched.suggest().config
    assert config["hb_suite"] == "x.toml" and config["hb_seed"] == 3


@pytest.mark.parametrize("name", sorted(METHODS))
def test_same_seed_same_sequence_other_seed_other_sequence(name):
    a = drive(name, 12, seed=1)[1]
    b = drive(name, 12, seed=1)[1]
    c = drive(name, 12, seed=2)[1]
    assert a == b
    assert a != c


@pytest.mark.parametrize("name", sorted(METHODS))
def test_pending_trials_and_failures(name):
    sched = make_scheduler(name, space=SPACE, metric="weighted_sum", seed=0, max_trials=None, constants={})
    first, second = sched.suggest(), sched.suggest()  # two pending at once (two workers)
    t0 = Trial(trial_id=0, config=first.config, creation_time=datetime.now())
    t1 = Trial(trial_id=1, config=second.config, creation_time=datetime.now())
    sched.on_trial_error(t1)
    sched.on_trial_complete(t0, {"weighted_sum": 0.5})
    sched.on_trial_complete(t0, {"weighted_sum": 0.5})  # a duplicate notification is ignored
    for _ in range(3):
        SPACE.validate(sched.suggest().config)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_failed_and_nan_trials_do_not_stop_the_loop(name):
    _, configs, values = drive(name, 15, fail_every=4, nan_every=5)
    assert len(configs) == 15 and len(values) < 15


@pytest.mark.parametrize("name", ["tpe", "anneal", "blendsearch"])
def test_model_based_methods_improve_on_their_start(name):
    _, _, values = drive(name, 40, seed=0)
    assert min(values) < min(values[:5])


def test_unknown_method():
    with pytest.raises(UserError, match="unknown method 'magic'; known methods: anneal, blendsearch, random, tpe"):
        make_scheduler("magic", space=SPACE, metric="m", seed=0, max_trials=1, constants={})
