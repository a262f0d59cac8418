"""Reference rows from Optuna (Akiba et al., KDD 2019): MOTPE and NSGA-II, as thin ask/tell adapters.

Why: well-kept library implementations next to the bag-of-baselines methods show whether ours are
in the right range. Optuna 5's ``TPESampler`` on a multi-objective study is MOTPE (Ozaki et al.,
GECCO 2020); ``NSGAIISampler`` is NSGA-II (Deb et al., 2002). Both are driven through
the one Optuna adapter, :class:`~.optuna_sampler.OptunaOptimizer` (TPE's too); failed trials
are told as FAIL. Every trial trains for the full budget. Settings: ``baselines/motpe.toml``,
``baselines/nsga2.toml`` (library defaults).
"""

from __future__ import annotations

import optuna

from hyperion_bench.methods.optuna_sampler import OptunaOptimizer


class MOTPE(OptunaOptimizer):
    def make_sampler(self) -> optuna.samplers.BaseSampler:
        s = self.settings  # baselines/motpe.toml, with the run's overrides: the one place defaults live
        return optuna.samplers.TPESampler(seed=self.seed % 2**32, n_startup_trials=int(s["n_startup_trials"]),
                                          n_ei_candidates=int(s["n_ei_candidates"]),
                                          multivariate=bool(s["multivariate"]), constant_liar=bool(s["constant_liar"]))


class NSGA2(OptunaOptimizer):
    def make_sampler(self) -> optuna.samplers.BaseSampler:
        s = self.settings  # baselines/nsga2.toml, with the run's overrides
        return optuna.samplers.NSGAIISampler(seed=self.seed % 2**32, population_size=int(s["population_size"]),
                                             crossover_prob=float(s["crossover_prob"]),
                                             swapping_prob=float(s["swapping_prob"]))
