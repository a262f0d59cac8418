"""BlendSearch (Wang et al., 2021) through FLAML's searcher.

Why an adapter: FLAML's searcher is Ray-Tune shaped. Its traps (REFERENCES.md): ``suggest`` may
return None (we retry with fresh ids, then fall back to a random config rather than ending the run),
and ``on_trial_complete`` needs ``result["config"]``. The low-cost starting point is the space's
cheapest macro values. Do not install ``flaml[blendsearch]``: it downgrades Optuna.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from flaml.tune.searcher.blendsearch import BlendSearch

from hyperion_bench.methods._ask_tell import AskTellScheduler

RETRIES = 20


class BlendSearchScheduler(AskTellScheduler):
    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.searcher = BlendSearch(metric=self.metric, mode="min", space=self.space.to_flaml(),
                                    low_cost_partial_config=self.space.cheapest() or None, seed=self.seed % (2**31))
        self.rng = np.random.default_rng(self.seed)
        self.flaml_ids: dict[int, str] = {}
        self.configs: dict[int, dict[str, Any]] = {}
        self.n_fallbacks = 0

    def ask(self, key: int) -> dict[str, Any]:
        for attempt in range(RETRIES):
            fid = f"{key}.{attempt}"
            config = self.searcher.suggest(fid)
            if config is not None:
                self.flaml_ids[key] = fid
                self.configs[key] = config
                return config
        self.n_fallbacks += 1  # FLAML has nothing to propose: keep the budget busy with a random config
        return self.space.sample(self.rng)

    def tell(self, key: int, value: float | None) -> None:
        fid = self.flaml_ids.pop(key, None)
        config = self.configs.pop(key, None)
        if fid is None:
            return
        if value is None:
            self.searcher.on_trial_complete(fid, None, error=True)
        else:
            self.searcher.on_trial_complete(fid, {self.metric: value, "config": config})
