"""BlendSearch (Wang et al., ICLR 2021) through FLAML's searcher (Wang et al., MLSys 2021).

Why an adapter: FLAML's searcher is Ray-Tune shaped. Its traps (REFERENCES.md): ``suggest`` may
return None (a duplicate config, a converged local search, an exhausted small space); we retry with
fresh FLAML ids and then fall back to a random config from our own seeded generator rather than
ending the run (FLAML never hears of those trials). ``on_trial_complete`` needs ``result["config"]``;
a failed trial is told as ``(id, None, error=True)``, FLAML's convention. The low-cost start is the
space's cheapest macro values and epochs. The seed goes to both FLAML's local search and its
Optuna global search. Do not install ``flaml[blendsearch]``: it downgrades Optuna.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from flaml.tune.searcher.blendsearch import BlendSearch as FlamlBlendSearch

from hyperion_bench.methods.optimizer import Optimizer, Suggestion, value_of

logging.getLogger("flaml.tune.searcher.blendsearch").setLevel(logging.WARNING)  # an INFO line per searcher
# FLAML completes a proposal it recognises among ``points_to_evaluate`` by itself, then warns when we tell it
logging.getLogger("flaml.tune.searcher.suggestion").setLevel(logging.ERROR)

RETRIES = 20  # fresh FLAML ids to try before a random fallback config
METRIC = "weighted_sum"  # the name FLAML's searcher knows the value by


class BlendSearch(Optimizer):
    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.searcher = self._searcher([], [])
        self.asked: dict[int, tuple[str, dict[str, Any]]] = {}  # our key -> (FLAML id, FLAML's config)
        self.n_fallbacks = 0
        self.observed: list[tuple[dict[str, Any], float]] = []
        self.n_observations_dropped = 0
        self.n_asked = 0

    def _searcher(self, points: list[dict[str, Any]], rewards: list[float]) -> FlamlBlendSearch:
        return FlamlBlendSearch(metric=METRIC, mode="min", space=self.space.to_flaml(),
                           low_cost_partial_config=self.space.cheapest() or None,
                           points_to_evaluate=points or None, evaluated_rewards=rewards or None,
                           seed=self.seed % 2**31)  # FLAML's Optuna sampler needs < 2**32

    def observe(self, config: dict[str, Any], values: np.ndarray | None) -> None:
        """FLAML learns from given results only at construction (``points_to_evaluate`` with
        ``evaluated_rewards``): keep them until the first ``ask`` and build the searcher then. A result
        that arrives after that (several workers) is dropped and counted in the metadata."""
        value = value_of(values)
        if self.n_asked:
            self.n_observations_dropped += 1
        elif value is not None:  # FLAML has no way to hear of a failed point it did not propose
            self.observed.append(({name: config[name] for name in self.space.names}, value))

    def ask(self, key: int) -> Suggestion:
        if self.observed and not self.n_asked:
            self.searcher = self._searcher([c for c, _ in self.observed], [v for _, v in self.observed])
        self.n_asked += 1
        for attempt in range(RETRIES):
            flaml_id = f"{key}.{attempt}"
            config = self.searcher.suggest(flaml_id)
            if config is not None:
                self.asked[key] = (flaml_id, config)
                return Suggestion(config)
        self.n_fallbacks += 1
        return Suggestion(self.space.sample(self.rng))

    def tell(self, key: int, values: np.ndarray | None, result: dict[str, Any]) -> None:
        value = value_of(values)
        if key not in self.asked:
            return  # a random fallback: FLAML never proposed it
        flaml_id, config = self.asked.pop(key)
        if value is None:
            self.searcher.on_trial_complete(flaml_id, None, error=True)
        else:
            self.searcher.on_trial_complete(flaml_id, {METRIC: value, "config": config})

    def metadata(self) -> dict[str, Any]:
        return {"retries": RETRIES, "fallbacks": self.n_fallbacks,
                "observations_dropped": self.n_observations_dropped}
