"""Methods: every one an optimiser of the suite's joint space (:mod:`.optimizer`), made from the registry
and run by one Syne Tune scheduler (:class:`.scheduler.OptimizerScheduler`).

The registry (:mod:`hyperion_bench.registry`) names each method's module and class; a method's library
(Optuna, hyperopt, FLAML, botorch) is imported only when one is made, so listing and validating methods
imports none of them. Single-objective methods minimise the suite's weighted sum; multi-objective ones
(``multi_objective=True``) its Pareto metrics, with their meta-parameters from
``baselines/<method>.toml``. The one method that is not an optimiser is ``moasha``, Syne Tune's own
scheduler (a reference row). A method only decides which config to try next; ``evaluate`` (the same for
all) runs it.
"""

from __future__ import annotations

import importlib
from typing import Any

from syne_tune.optimizer.scheduler import TrialScheduler

from hyperion_bench.errors import UserError
from hyperion_bench.method_settings import (
    HyperionSettings,
    inner_loop,
    inner_loop_options,
    resolve_settings,
    searches_inside,
)
from hyperion_bench.methods.optimizer import Optimizer
from hyperion_bench.methods.scheduler import OptimizerScheduler
from hyperion_bench.protocol import ONESHOT_KEY
from hyperion_bench.registry import INNER_OPTIMIZERS, METHODS, MethodInfo
from hyperion_bench.space import JointSpace
from hyperion_bench.suites import Suite

__all__ = ["METHODS", "MethodInfo", "check_method_options", "make_optimizer", "make_run_scheduler", "make_scheduler",
           "method_class", "method_info"]


def method_class(info: MethodInfo) -> type:
    """The class ``info`` names in ``hyperion_bench/methods/<module>.py``, imported now."""
    try:
        module = importlib.import_module(f"hyperion_bench.methods.{info.module}")
    except ModuleNotFoundError as exc:
        if exc.name != f"hyperion_bench.methods.{info.module}":
            raise
        raise UserError(f"method module hyperion_bench/methods/{info.module}.py is not in this checkout") from None
    return getattr(module, info.cls)


def method_info(name: str) -> MethodInfo:
    """The registry entry of ``name``; an unknown name is a one-line UserError naming the known ones."""
    if name not in METHODS:
        raise UserError(f"unknown method {name!r}; known methods: {', '.join(sorted(METHODS))}")
    return METHODS[name]


def make_optimizer(name: str, *, space: JointSpace, seed: int, options: dict[str, Any] | None = None) -> Optimizer:
    """A fresh single-objective optimiser over ``space``; ``options`` are the method's own settings (e.g.
    Hyperion's outer optimiser and n_init)."""
    info = method_info(name)
    if info.multi_objective:
        raise UserError(f"method {name!r} is multi-objective; it needs a suite (make_run_scheduler)")
    return method_class(info)(space=space, seed=seed, settings=options)


def make_scheduler(name: str, *, space: JointSpace, metric: str, seed: int, max_trials: int | None,
                   constants: dict[str, Any], options: dict[str, Any] | None = None) -> TrialScheduler:
    """A fresh scheduler of a single-objective method minimising ``metric``; ``constants`` ride along in
    every config."""
    optimizer = make_optimizer(name, space=space, seed=seed, options=options)
    return OptimizerScheduler(optimizer, metrics=[metric], seed=seed, max_trials=max_trials, constants=constants)


def check_method_options(methods: list[str], options: dict[str, dict[str, str]], suite: Suite) -> None:
    """Fail (one line) on an override for a method not in this run, or an unknown/ill-typed key. The inner
    loop's (``darts.KEY``, ``hyperdarts.KEY``) are welcome whenever a method of the run searches inside."""
    for method in options:
        if method not in methods and not (method in INNER_OPTIMIZERS and searches_inside(methods)):
            raise UserError(f"--method-option: method {method!r} is not among --methods ({', '.join(methods)})")
    inner_loop_options(options, suite.oneshot, suite.hyperdarts)  # values and ranges, on top of the suite's
    for method in methods:
        if method in METHODS and method not in INNER_OPTIMIZERS:
            resolve_settings(method, suite.raw.get("baselines"), options.get(method), suite.name)


def inner_loop_settings(name: str, suite: Suite, cli: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What a DARTS or hyperDARTS run searches with (its ``metadata.json`` method_settings): the suite's
    loop with the command line's on top; hyperDARTS' own learning rates over DARTS', first order."""
    loop = inner_loop(suite.oneshot, suite.hyperdarts, cli)
    if name == "darts":
        return loop["darts"]
    return {**loop["darts"], **loop["hyperdarts"], "order": 1}


def make_run_scheduler(name: str, *, suite: Suite, seed: int, max_trials: int | None, constants: dict[str, Any],
                       options: dict[str, str] | None = None) -> TrialScheduler:
    """The scheduler the runner uses: single-objective methods minimise ``weighted_sum``; multi-objective
    ones the suite's Pareto metrics. Each with its published settings (``baselines/<method>.toml``) and the
    run's overrides: the suite's tables, then ``options`` (``--method-option``; ``--outer``). DARTS' and
    hyperDARTS' settings are the inner loop of every searching trial of the run: the command line's reach the
    trials through ``constants`` (``TrialConstants.oneshot``), which is also what their metadata records."""
    info = method_info(name)
    kw = {"suite": suite, "seed": seed, "max_trials": max_trials, "constants": constants}
    if not info.multi_objective:
        if name == "hyperion":  # its [hyperion] table, then [baselines.hyperion], then the command line
            tables = (suite.raw.get("baselines") or {}).get("hyperion", {})
            settings = HyperionSettings.of(suite.hyperion, tables, where=suite.name).as_dict()
            settings = HyperionSettings.of(settings, options or {}, where="--method-option", parse=True).as_dict()
        elif name in INNER_OPTIMIZERS:
            settings = inner_loop_settings(name, suite, constants.get(ONESHOT_KEY, {}))
        elif options:
            raise UserError(f"--method-option: {name} has no meta-parameters to override")
        else:
            settings = {}
        return OptimizerScheduler.for_suite(method_class(info), settings=settings, multi_objective=False, **kw)
    settings = resolve_settings(name, suite.raw.get("baselines"), options, suite.name)
    if info.scheduler:
        return method_class(info)(settings=settings, **kw)
    return OptimizerScheduler.for_suite(method_class(info), settings=settings, **kw)
