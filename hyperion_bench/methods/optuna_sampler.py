"""Any Optuna sampler as a single-objective method: the one adapter for Optuna's ask/tell loop.

Why: every Optuna sampler (TPE, GP, CMA-ES, QMC, ...) is driven the same way, ``study.ask()`` /
``study.tell()``, so the loop is written once here and a method built on a sampler only says which
sampler (``make_sampler``): TPE (:mod:`.tpe`) and the README's worked example of adding a method are
such modules. Failed trials are told as FAIL, which Optuna's samplers leave out of their models; configs
this optimiser did not propose (Hyperion's random initial trials) are added as finished trials.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import optuna

from hyperion_bench.methods._ask_tell import AskTellScheduler


class OptunaScheduler(AskTellScheduler):
    """Minimises ``metric`` with the sampler ``make_sampler`` returns (seed it with ``self.seed``)."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # one INFO line per trial otherwise
        self.study = optuna.create_study(direction="minimize", sampler=self.make_sampler())
        self.trials: dict[int, optuna.trial.Trial] = {}  # our key -> the Optuna trial asked for it

    @abstractmethod
    def make_sampler(self) -> optuna.samplers.BaseSampler:
        """The sampler, made once per run (``self.seed`` and ``self.space`` are set)."""

    def ask(self, key: int) -> dict[str, Any]:
        trial = self.study.ask()
        self.trials[key] = trial
        return self.space.suggest_optuna(trial)

    def tell(self, key: int, value: float | None) -> None:
        trial = self.trials.pop(key)
        if value is None:
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(trial, value)

    def observe(self, config: dict[str, Any], value: float | None) -> None:
        params = {name: config[name] for name in self.space.names}
        dists = self.space.optuna_distributions()
        if value is None:
            trial = optuna.trial.create_trial(params=params, distributions=dists, state=optuna.trial.TrialState.FAIL)
        else:
            trial = optuna.trial.create_trial(params=params, distributions=dists, value=value)
        self.study.add_trial(trial)
