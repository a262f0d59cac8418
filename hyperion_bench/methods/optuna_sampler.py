"""Any Optuna sampler as a method: the one adapter for Optuna's ask/tell loop.

Why: every Optuna sampler (TPE, MOTPE, NSGA-II, GP, CMA-ES, QMC, ...) is driven the same way,
``study.ask()`` / ``study.tell()``, for one objective or several (one ``Study`` with as many
directions as the optimiser has objectives), so the loop is written once here and a method built on a
sampler only says which sampler (``make_sampler``): TPE (:mod:`.tpe`), the MOTPE and NSGA-II
reference rows (:mod:`.mo_optuna`) and the README's worked example of adding a method are such
modules. Failed trials are told as FAIL, which Optuna's samplers leave out of their models; configs
this optimiser did not propose (Hyperion's random initial trials) are added as finished trials.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np
import optuna

from hyperion_bench.methods.optimizer import Optimizer, Suggestion


class OptunaOptimizer(Optimizer):
    """Minimises the objectives with the sampler ``make_sampler`` returns (seed it with ``self.seed``;
    ``self.settings`` holds the method's meta-parameters)."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # one INFO line per trial otherwise
        self.study = optuna.create_study(directions=["minimize"] * self.n_objectives, sampler=self.make_sampler())
        self.trials: dict[int, optuna.trial.Trial] = {}  # our key -> the Optuna trial asked for it

    @abstractmethod
    def make_sampler(self) -> optuna.samplers.BaseSampler:
        """The sampler, made once per run (``self.seed``, ``self.space`` and ``self.settings`` are set)."""

    def ask(self, key: int) -> Suggestion:
        trial = self.study.ask()
        self.trials[key] = trial
        return Suggestion(self.space.suggest_optuna(trial))

    def tell(self, key: int, values: np.ndarray | None, result: dict[str, Any]) -> None:
        trial = self.trials.pop(key)
        if values is None:
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(trial, _told(values))

    def observe(self, config: dict[str, Any], values: np.ndarray | None) -> None:
        params = {name: config[name] for name in self.space.names}
        dists = self.space.optuna_distributions()
        if values is None:
            trial = optuna.trial.create_trial(params=params, distributions=dists, state=optuna.trial.TrialState.FAIL)
        elif self.n_objectives == 1:
            trial = optuna.trial.create_trial(params=params, distributions=dists, value=float(values[0]))
        else:
            trial = optuna.trial.create_trial(params=params, distributions=dists, values=_told(values))
        self.study.add_trial(trial)


def _told(values: np.ndarray) -> float | list[float]:
    """What ``study.tell`` takes: a float for one objective (as the single-objective study was always
    told), a list for several."""
    return float(values[0]) if len(values) == 1 else [float(v) for v in values]
