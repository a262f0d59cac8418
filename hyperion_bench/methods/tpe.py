"""TPE (Bergstra et al., 2011) through Optuna's ``TPESampler``, ask/tell style.

Why Optuna: a maintained TPE with ``constant_liar`` for asynchronous workers (pending trials are
treated as bad so parallel workers do not all sample the same region). Failed trials are told as
FAIL, which TPE ignores.
"""

from __future__ import annotations

from typing import Any

import optuna

from hyperion_bench.methods._ask_tell import AskTellScheduler


class TPEScheduler(AskTellScheduler):
    def __init__(self, n_startup_trials: int = 10, **kwargs: Any):
        super().__init__(**kwargs)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = optuna.samplers.TPESampler(seed=self.seed, constant_liar=True, n_startup_trials=n_startup_trials)
        self.study = optuna.create_study(direction="minimize", sampler=sampler)
        self.trials: dict[int, optuna.trial.Trial] = {}

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
