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

from typing import Any

import numpy as np
from flaml.tune.searcher.blendsearch import BlendSearch

from hyperion_bench.methods._ask_tell import AskTellScheduler

RETRIES = 20  # fresh FLAML ids to try before a random fallback config


class BlendSearchScheduler(AskTellScheduler):
    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.searcher = BlendSearch(metric=self.metric, mode="min", space=self.space.to_flaml(),
                                    low_cost_partial_config=self.space.cheapest() or None,
                                    seed=self.seed % 2**31)  # FLAML's Optuna sampler needs < 2**32
        self.rng = np.random.default_rng(self.seed)
        self.asked: dict[int, tuple[str, dict[str, Any]]] = {}  # our key -> (FLAML id, FLAML's config)
        self.n_fallbacks = 0

    def ask(self, key: int) -> dict[str, Any]:
        for attempt in range(RETRIES):
            flaml_id = f"{key}.{attempt}"
            config = self.searcher.suggest(flaml_id)
            if config is not None:
                self.asked[key] = (flaml_id, config)
                return config
        self.n_fallbacks += 1
        return self.space.sample(self.rng)

    def tell(self, key: int, value: float | None) -> None:
        if key not in self.asked:
            return  # a random fallback: FLAML never proposed it
        flaml_id, config = self.asked.pop(key)
        if value is None:
            self.searcher.on_trial_complete(flaml_id, None, error=True)
        else:
            self.searcher.on_trial_complete(flaml_id, {self.metric: value, "config": config})

    def metadata(self) -> dict[str, Any]:
        return {**super().metadata(), "retries": RETRIES}
