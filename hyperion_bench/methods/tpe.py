"""TPE (Bergstra et al., NeurIPS 2011) through Optuna's ``TPESampler`` (Akiba et al., KDD 2019).

Why Optuna: a maintained TPE with ``constant_liar`` for asynchronous workers (pending trials count
as bad, so parallel workers do not all sample the same region); the ask/tell loop is
:class:`~.optuna_sampler.OptunaOptimizer`'s. Setting: ``n_startup_trials`` (random trials before the
model, 10 by default; Hyperion's learners get Hyperion's ``n_init``).
"""

from __future__ import annotations

import optuna

from hyperion_bench.methods.optuna_sampler import OptunaOptimizer

N_STARTUP_TRIALS = 10


class TPE(OptunaOptimizer):
    def make_sampler(self) -> optuna.samplers.BaseSampler:
        return optuna.samplers.TPESampler(seed=self.seed % 2**32, constant_liar=True,
                                          n_startup_trials=int(self.settings.get("n_startup_trials", N_STARTUP_TRIALS)))
