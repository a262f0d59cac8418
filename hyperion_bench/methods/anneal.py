"""Anneal: hyperopt's simulated-annealing-like sampler (``hyperopt.anneal``), ask/tell style.

Why an adapter: hyperopt only offers ``fmin``, a blocking loop that owns the objective. The same
calls ``fmin`` makes (``algo(new_ids, domain, trials, seed)``, ``insert_trial_docs``, ``refresh``) let
Syne Tune drive it instead: a pending trial's doc stays in state NEW until its result is told.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hyperopt import JOB_STATE_DONE, JOB_STATE_ERROR, STATUS_FAIL, STATUS_OK, Domain, Trials, anneal, space_eval

from hyperion_bench.methods._ask_tell import AskTellScheduler


class AnnealScheduler(AskTellScheduler):
    algorithm = staticmethod(anneal.suggest)

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.hp_space = self.space.to_hyperopt()
        self.domain = Domain(lambda config: 0.0, self.hp_space)  # the objective is never called here
        self.trials = Trials()
        self.rng = np.random.default_rng(self.seed)
        self.docs: dict[int, dict] = {}

    def ask(self, key: int) -> dict[str, Any]:
        new_ids = self.trials.new_trial_ids(1)
        self.trials.refresh()
        docs = self.algorithm(new_ids, self.domain, self.trials, int(self.rng.integers(2**31 - 1)))
        self.trials.insert_trial_docs(docs)
        self.trials.refresh()
        doc = docs[0]  # the very object Trials now holds: telling means editing it in place
        self.docs[key] = doc
        vals = {k: v[0] for k, v in doc["misc"]["vals"].items() if v}
        return space_eval(self.hp_space, vals)

    def tell(self, key: int, value: float | None) -> None:
        doc = self.docs.pop(key)
        if value is None:
            doc["state"], doc["result"] = JOB_STATE_ERROR, {"status": STATUS_FAIL}
        else:
            doc["state"], doc["result"] = JOB_STATE_DONE, {"loss": value, "status": STATUS_OK}
        self.trials.refresh()
