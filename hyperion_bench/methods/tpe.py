"""TPE (Bergstra et al., NeurIPS 2011) through Optuna's ``TPESampler`` (Akiba et al., KDD 2019).

Why Optuna: a maintained TPE with ``constant_liar`` for asynchronous workers (pending trials count
as bad, so parallel workers do not all sample the same region); the ask/tell loop is
:class:`~.optuna_sampler.OptunaScheduler`'s.
"""

from __future__ import annotations

from typing import Any

import optuna

from hyperion_bench.methods.optuna_sampler import OptunaScheduler


class TPEScheduler(OptunaScheduler):
    def __init__(self, n_startup_trials: int = 10, **kwargs: Any):
        self.n_startup_trials = n_startup_trials  # read by make_sampler, which the base's __init__ calls
        super().__init__(**kwargs)

    def make_sampler(self) -> optuna.samplers.BaseSampler:
        return optuna.samplers.TPESampler(seed=self.seed % 2**32, constant_liar=True,
                                          n_startup_trials=self.n_startup_trials)
