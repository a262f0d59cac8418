"""Reference rows from Optuna (Akiba et al., KDD 2019): MOTPE and NSGA-II, as thin ask/tell adapters.

Why: well-kept library implementations next to the bag-of-baselines methods show whether ours are
in the right range. Optuna 5's ``TPESampler`` on a multi-objective study is MOTPE (Ozaki et al.,
GECCO 2020); ``NSGAIISampler`` is NSGA-II (Deb et al., 2002). Both are driven through
``study.ask()`` / ``study.tell()`` behind the generic :class:`~._mo_base.MOScheduler`; failed trials
are told as FAIL. Every trial trains for the full budget. Settings: ``baselines/motpe.toml``,
``baselines/nsga2.toml`` (library defaults).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna

from hyperion_bench.methods._mo_base import MOOptimizer, MOSuggestion


class _OptunaMO(MOOptimizer):
    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.study = optuna.create_study(directions=["minimize"] * self.n_objectives, sampler=self.make_sampler())
        self.trials: dict[int, optuna.trial.Trial] = {}

    def make_sampler(self) -> optuna.samplers.BaseSampler:
        raise NotImplementedError

    def ask(self, key: int) -> MOSuggestion | None:
        trial = self.study.ask()
        self.trials[key] = trial
        return MOSuggestion(self.space.suggest_optuna(trial), epochs=None)

    def tell(self, key: int, objectives: np.ndarray | None, result: dict[str, Any]) -> None:
        trial = self.trials.pop(key)
        if objectives is None:
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(trial, [float(v) for v in objectives])


class MOTPE(_OptunaMO):
    def make_sampler(self) -> optuna.samplers.BaseSampler:
        s = self.settings  # baselines/motpe.toml, with the run's overrides: the one place defaults live
        return optuna.samplers.TPESampler(seed=self.seed % 2**32, n_startup_trials=int(s["n_startup_trials"]),
                                          n_ei_candidates=int(s["n_ei_candidates"]),
                                          multivariate=bool(s["multivariate"]), constant_liar=bool(s["constant_liar"]))


class NSGA2(_OptunaMO):
    def make_sampler(self) -> optuna.samplers.BaseSampler:
        s = self.settings  # baselines/nsga2.toml, with the run's overrides
        return optuna.samplers.NSGAIISampler(seed=self.seed % 2**32, population_size=int(s["population_size"]),
                                             crossover_prob=float(s["crossover_prob"]),
                                             swapping_prob=float(s["swapping_prob"]))
