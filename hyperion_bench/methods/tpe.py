"""TPE (Bergstra et al., NeurIPS 2011) through Optuna's ``TPESampler`` (Akiba et al., KDD 2019).

Why Optuna: a maintained TPE with ``constant_liar`` for asynchronous workers (pending trials count
as bad, so parallel workers do not all sample the same region), driven ask/tell style through
``study.ask()`` / ``study.tell()``. Failed trials are told as FAIL, which TPE leaves out of its model.
"""

from __future__ import annotations

from typing import Any

import optuna

from hyperion_bench.methods._ask_tell import AskTellScheduler


class TPEScheduler(AskTellScheduler):
    def __init__(self, n_startup_trials: int = 10, **kwargs: Any):
        super().__init__(**kwargs)
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # one INFO line per trial otherwise
        sampler = optuna.samplers.TPESampler(seed=self.seed % 2**32, constant_liar=True,
                                             n_startup_trials=n_startup_trials)
        self.study = optuna.create_study(direction="minimize", sampler=sampler)
        self.trials: dict[int, optuna.trial.Trial] = {}  # our key -> the Optuna trial asked for it

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
