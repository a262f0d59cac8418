"""Reference rows from Syne Tune 0.16: MOASHA and multi-objective regularized evolution, thin adapters.

Why adapters, and what they fix:

- **MOASHA** (Schmucker et al., 2021) decides STOP/CONTINUE at rungs of the epochs a trial reports,
  so it is a real Syne Tune scheduler, kept as is; the adapter adds exact trial counts, the harness's
  constants, epochs = the suite's maximum for every trial (``max_t``; ``grace_period`` = the
  minimum), and seeding: Syne Tune's ``MOASHA.suggest`` samples with numpy's unseeded global
  generator, so ours samples the same domains with a seeded ``RandomState``. The STOP trap (a
  stopped trial never reaches ``on_trial_complete``) matters for the records, not for MOASHA (it
  learns from ``on_trial_result``): ``TrialRecorder`` records a trial stopped at a rung as completed
  with its last report (``scheduler_stopped`` column).
- **Upstream bug (Syne Tune 0.16), fixed here**: ``NonDominatedPriority`` is meant to give each point
  a priority (lower is better; ``LinearScalarizationPriority`` does), but it returns the *order* of
  the points (``nondominated_sort``: the index of the best point first), not each point's position in
  that order. For ``[[3, 3], [1, 1], [2, 2]]`` it returns ``[1, 2, 0]`` where ranks are ``[2, 0, 1]``.
  MOASHA's rung decision then looks at the index of whoever is last, and MO-REA's tournament at an
  unrelated point's index. :class:`RankPriority` returns the ranks (the inverse permutation); the
  setting ``fix_priority = false`` (baselines/*.toml) runs the library's behaviour unchanged.
- **MO regularized evolution** is a Syne Tune searcher (suggest / on_trial_complete), driven here as an
  :class:`~.optimizer.Optimizer`. Its ``sample_random_config`` ignores its random state (same
  global-generator problem), so the initial population is drawn by us, seeded, and handed over as
  ``points_to_evaluate``; mutations use the searcher's own seeded state.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from syne_tune.backend.trial_status import Trial
from syne_tune.optimizer.scheduler import TrialScheduler, TrialSuggestion
from syne_tune.optimizer.schedulers.multiobjective.multiobjective_priority import NonDominatedPriority

from hyperion_bench.history import jsonable
from hyperion_bench.methods.optimizer import Optimizer, Suggestion
from hyperion_bench.protocol import EPOCHS_KEY
from hyperion_bench.suites import Suite


class RankPriority(NonDominatedPriority):
    """Each point's position in Syne Tune's non-dominated order (0 = best): one priority per point."""

    def priority_unsafe(self, objectives: np.ndarray) -> np.ndarray:
        order = np.asarray(super().priority_unsafe(objectives), dtype=int)
        ranks = np.empty(len(order), dtype=int)
        ranks[order] = np.arange(len(order))
        return ranks


def priority(settings: dict[str, Any]) -> NonDominatedPriority:
    """The non-dominated priority both reference rows use: fixed (default) or the library's own."""
    return RankPriority() if settings.get("fix_priority", True) else NonDominatedPriority()


class MOASHAScheduler(TrialScheduler):
    def __init__(self, *, suite: Suite, seed: int, max_trials: int | None, constants: dict[str, Any],
                 settings: dict[str, Any]):
        from syne_tune.optimizer.schedulers.multiobjective.moasha import MOASHA

        super().__init__(random_seed=seed)
        self.suite, self.seed, self.max_trials, self.settings = suite, seed, max_trials, dict(settings)
        self.constants = {**constants, EPOCHS_KEY: suite.max_epochs}
        self.names = list(suite.objectives.pareto)
        self.domains = suite.space.to_syne_tune()
        self.random_state = np.random.RandomState(seed % 2**32)
        self.inner = MOASHA(self.domains, metrics=self.names, do_minimize=True, time_attr="epoch",
                            max_t=suite.max_epochs, grace_period=suite.min_epochs,
                            reduction_factor=float(settings.get("reduction_factor", 3)),
                            brackets=int(settings.get("brackets", 1)), random_seed=seed,
                            multiobjective_priority=priority(settings))
        self.n_suggested = 0

    def suggest(self) -> TrialSuggestion | None:
        if self.max_trials is not None and self.n_suggested >= self.max_trials:
            return None
        self.n_suggested += 1
        config = self.suite.space.clean({k: d.sample(random_state=self.random_state) for k, d in self.domains.items()})
        return TrialSuggestion.start_suggestion({**config, **self.constants})

    def on_trial_add(self, trial: Trial) -> None:
        self.inner.on_trial_add(trial)

    def on_trial_result(self, trial: Trial, result: dict[str, Any]) -> str:
        return self.inner.on_trial_result(trial, result)

    def on_trial_complete(self, trial: Trial, result: dict[str, Any]) -> None:
        self.inner.on_trial_complete(trial, result)

    def on_trial_error(self, trial: Trial) -> None:
        self.inner.trial_info.pop(trial.trial_id, None)  # a failed trial leaves its bracket

    def on_trial_remove(self, trial: Trial) -> None:
        self.inner.trial_info.pop(trial.trial_id, None)

    def metric_names(self) -> list[str]:
        return list(self.names)

    def metric_mode(self) -> str:
        return "min"

    def metadata(self) -> dict[str, Any]:
        return {"scheduler_name": "MOASHA", "metric_names": self.metric_names(), "metric_mode": self.metric_mode(),
                "metrics": self.names, "seed": self.seed, "max_trials": self.max_trials,
                "settings": jsonable(self.settings), "max_t": self.suite.max_epochs,
                "grace_period": self.suite.min_epochs}


class MORegularizedEvolution(Optimizer):
    def __init__(self, **kwargs: Any):
        from syne_tune.optimizer.schedulers.multiobjective import MultiObjectiveRegularizedEvolution

        super().__init__(**kwargs)
        population = int(self.settings.get("population_size", 100))
        initial = [self.space.sample(self.rng) for _ in range(population)]
        self.searcher = MultiObjectiveRegularizedEvolution(
            self.space.to_syne_tune(), points_to_evaluate=initial, population_size=population,
            sample_size=int(self.settings.get("sample_size", 10)), random_seed=self.seed % 2**32,
            multiobjective_priority=priority(self.settings))
        self.configs: dict[int, dict[str, Any]] = {}

    def ask(self, key: int) -> Suggestion | None:
        config = self.space.clean(self.searcher.suggest())
        self.configs[key] = config
        return Suggestion(config, epochs=None)

    def tell(self, key: int, objectives: np.ndarray | None, result: dict[str, Any]) -> None:
        config = self.configs.pop(key)
        if objectives is not None:  # the library learns nothing from failures
            self.searcher.on_trial_complete(trial_id=key, config=config, metrics=[float(v) for v in objectives])
