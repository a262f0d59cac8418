"""Methods: every one a Syne Tune scheduler over the suite's joint space, all in one registry.

Why a registry of factories: the CLI lists and validates method names without importing Optuna,
hyperopt or FLAML; a method's library is imported only when a scheduler is made. A method only
decides which config to try next; ``evaluate`` (the same for all) runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from syne_tune.optimizer.scheduler import TrialScheduler

from hyperion_bench.errors import UserError
from hyperion_bench.space import JointSpace


@dataclass(frozen=True)
class MethodInfo:
    name: str
    description: str  # one line: the library and the paper
    factory: Callable[..., TrialScheduler]


def _random(**kw: Any) -> TrialScheduler:
    from hyperion_bench.methods.random_search import RandomSearchScheduler

    return RandomSearchScheduler(**kw)


def _tpe(**kw: Any) -> TrialScheduler:
    from hyperion_bench.methods.tpe import TPEScheduler

    return TPEScheduler(**kw)


def _anneal(**kw: Any) -> TrialScheduler:
    from hyperion_bench.methods.anneal import AnnealScheduler

    return AnnealScheduler(**kw)


def _blendsearch(**kw: Any) -> TrialScheduler:
    from hyperion_bench.methods.blendsearch import BlendSearchScheduler

    return BlendSearchScheduler(**kw)


def _darts(**kw: Any) -> TrialScheduler:
    from hyperion_bench.methods.darts import DartsScheduler

    return DartsScheduler(**kw)


def _hyperion(**kw: Any) -> TrialScheduler:
    from hyperion_bench.methods.hyperion import HyperionScheduler

    return HyperionScheduler(**kw)


METHODS: dict[str, MethodInfo] = {
    m.name: m
    for m in (
        MethodInfo("random", "random search, Bergstra & Bengio 2012 (Syne Tune domains, seeded)", _random),
        MethodInfo("tpe", "TPE, Bergstra et al. 2011 (Optuna TPESampler, constant liar)", _tpe),
        MethodInfo("anneal", "annealing, hyperopt, Bergstra et al. 2013 (hyperopt.anneal)", _anneal),
        MethodInfo("blendsearch", "BlendSearch, Wang et al. 2021 (FLAML)", _blendsearch),
        MethodInfo("darts", "DARTS, Liu et al. 2019: one full one-shot search per seed (suite's [oneshot])",
                   _darts),
        MethodInfo("hyperion", "Hyperion: outer --outer optimiser (default tpe) fused with inner DARTS "
                   "(Algorithm 1; suite's [hyperion])", _hyperion),
    )
}


def make_scheduler(name: str, *, space: JointSpace, metric: str, seed: int, max_trials: int | None,
                   constants: dict[str, Any], options: dict[str, Any] | None = None) -> TrialScheduler:
    """A fresh scheduler minimising ``metric``; ``constants`` ride along in every config; ``options`` are
    the method's own settings (e.g. Hyperion's outer optimiser and n_init)."""
    if name not in METHODS:
        raise UserError(f"unknown method {name!r}; known methods: {', '.join(sorted(METHODS))}")
    return METHODS[name].factory(space=space, metric=metric, seed=seed, max_trials=max_trials,
                                 constants=constants, **(options or {}))
