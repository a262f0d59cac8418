"""Anneal: hyperopt's annealing sampler (``hyperopt.anneal``; hyperopt: Bergstra et al., 2013).

Why an adapter: hyperopt only offers ``fmin``, a blocking loop that owns the objective. The calls
``fmin`` makes itself (``trials.new_trial_ids``, ``algo(new_ids, domain, trials, seed)``,
``trials.insert_trial_docs``, ``trials.refresh``) let Syne Tune drive it instead. A pending trial's
doc stays in state NEW (anneal counts it with an infinite loss) until its result is told; then the
doc gets a result and state DONE, as ``fmin`` does after calling the objective. A failed trial is
told as ``{'status': 'fail'}`` (no loss: anneal ranks it last and never searches around it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hyperopt import JOB_STATE_DONE, STATUS_FAIL, STATUS_OK, Domain, Trials, anneal, space_eval

from hyperion_bench.methods.optimizer import Optimizer, Suggestion, value_of


class Anneal(Optimizer):
    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.hp_space = self.space.to_hyperopt()
        self.domain = Domain(lambda config: 0.0, self.hp_space)  # the objective is never called
        self.trials = Trials()
        self.tids: dict[int, int] = {}  # our key -> hyperopt tid

    def ask(self, key: int) -> Suggestion:
        new_ids = self.trials.new_trial_ids(1)
        self.trials.refresh()
        # one seed per call from the optimiser's seeded generator, like fmin's rstate
        docs = anneal.suggest(new_ids, self.domain, self.trials, int(self.rng.integers(2**31 - 1)))
        assert len(docs) == 1, "anneal proposed no config"
        self.trials.insert_trial_docs(docs)
        self.trials.refresh()
        self.tids[key] = docs[0]["tid"]
        vals = {name: v[0] for name, v in docs[0]["misc"]["vals"].items() if v}
        return Suggestion(space_eval(self.hp_space, vals))  # choice indexes -> choice values

    def tell(self, key: int, values: np.ndarray | None, result: dict[str, Any]) -> None:
        value = value_of(values)
        tid = self.tids.pop(key)
        # insert_trial_docs may store a copy (SONify copies when pymongo's bson is importable), so
        # edit the stored doc, found by tid, exactly as fmin's serial_evaluate does
        doc = next(d for d in self.trials._dynamic_trials if d["tid"] == tid)
        doc["result"] = {"status": STATUS_FAIL} if value is None else {"loss": value, "status": STATUS_OK}
        doc["state"] = JOB_STATE_DONE
        self.trials.refresh()

    def observe(self, config: dict[str, Any], values: np.ndarray | None) -> None:
        """A finished doc in hyperopt's own encoding (a choice is stored as its index)."""
        value = value_of(values)
        tid = self.trials.new_trial_ids(1)[0]
        vals = {p.name: [p.choices.index(config[p.name]) if p.kind == "choice" else float(config[p.name])]
                for p in self.space.flat}
        misc = {"tid": tid, "cmd": self.domain.cmd, "workdir": self.domain.workdir,
                "idxs": {name: [tid] for name in vals}, "vals": vals}
        result = {"status": STATUS_FAIL} if value is None else {"loss": value, "status": STATUS_OK}
        docs = self.trials.new_trial_docs([tid], [None], [result], [misc])
        for doc in docs:
            doc["state"] = JOB_STATE_DONE
        self.trials.insert_trial_docs(docs)
        self.trials.refresh()
