"""MO-BOHB (Guerrero-Viu et al., 2021, Section 3.2, Algorithms 2 and 3): BOHB for several objectives.

BOHB (Falkner et al., ICML 2018) = Hyperband brackets whose configurations come from a TPE-like model
instead of uniform sampling. The multi-objective version changes two things:

1. the model is MOTPE's: one Parzen estimator per parameter (``_parzen``), fitted on a good/bad split
   of the observations on the largest budget that has more than ``min_points_in_model`` of them; the
   good set is ``floor(gamma * n)`` points taken as whole non-dominated fronts, then by greedy
   hypervolume contribution on the next front (``_mo_select.greedy_split``); failed evaluations
   count as bad;
2. successive halving promotes by non-dominated rank with hypervolume tie-breaks (``_hyperband``).

A fraction ``random_fraction`` of the configs (and all of them before a model exists) are uniform.
Each rung evaluation is a new trial trained from scratch for the rung's epochs. Settings:
``baselines/mo-bohb.toml``. Not reproduced: the authors' "init" switch (random configs until the
first bracket below the maximum budget), a quirk of their driver.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from hyperion_bench.methods._hyperband import Hyperband
from hyperion_bench.methods._mo_select import greedy_split
from hyperion_bench.methods._parzen import CategoricalParzen, NumericParzen, best_of_candidates
from hyperion_bench.methods.optimizer import Optimizer, Suggestion


class MOBOHB(Optimizer):
    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        s = self.settings
        d = len(self.space.flat)
        self.min_points = int(s.get("min_points_in_model", 0)) or 2 * d + 1
        self.gamma = float(s.get("gamma", 0.1))
        self.n_candidates = int(s.get("num_candidates", 24))
        self.random_fraction = float(s.get("random_fraction", 1 / 6))
        self.top = float(s.get("categorical_top", 0.9))
        self.hyperband = Hyperband(self.min_epochs, self.max_epochs, float(s.get("eta", 2)), self._sample,
                                   brackets=str(s.get("brackets", "hyperband")))
        # budget -> list of (config, objective vector or None for a failed evaluation)
        self.observations: dict[int, list[tuple[dict[str, Any], np.ndarray | None]]] = {}
        self.n_model_based = 0

    # ---- ask / tell
    def ask(self, key: int) -> Suggestion | None:
        job = self.hyperband.ask(key)
        if job is None:
            return None
        config, epochs = job
        return Suggestion(dict(config), epochs=epochs)

    def tell(self, key: int, objectives: np.ndarray | None, result: dict[str, Any]) -> None:
        entry = self.hyperband.by_key.get(key)
        budget = self.hyperband.tell(key, objectives)
        if entry is not None and budget is not None:
            self.observations.setdefault(budget, []).append((entry[1].config, objectives))

    # ---- the model
    def _sample(self, budget: int) -> dict[str, Any]:
        if self.rng.random() < self.random_fraction:
            return self.space.sample(self.rng)
        model_budgets = [b for b, obs in self.observations.items() if len(obs) > self.min_points]
        if not model_budgets:
            return self.space.sample(self.rng)
        self.n_model_based += 1
        return self.sample_from_model(self.observations[max(model_budgets)])

    def sample_from_model(self, observations: list[tuple[dict[str, Any], np.ndarray | None]]) -> dict[str, Any]:
        """One config: each parameter independently, the best of ``n_candidates`` draws from l by l/g."""
        ok = [(c, y) for c, y in observations if y is not None]
        failed = [c for c, y in observations if y is None]
        good_mask = greedy_split(np.vstack([y for _, y in ok]), int(math.floor(self.gamma * len(ok)))) if ok else []
        good = [c for (c, _), g in zip(ok, good_mask, strict=True) if g]
        bad = [c for (c, _), g in zip(ok, good_mask, strict=True) if not g] + failed
        config = {}
        for p in self.space.flat:
            if p.kind == "choice":
                lo = CategoricalParzen(np.array([p.choices.index(c[p.name]) for c in good], dtype=int),
                                       len(p.choices), self.top)
                hi = CategoricalParzen(np.array([p.choices.index(c[p.name]) for c in bad], dtype=int),
                                       len(p.choices), self.top)
                config[p.name] = p.choices[int(best_of_candidates(lo, hi, self.rng, self.n_candidates))]
            else:
                lo = NumericParzen(np.array([p.to_unit(c[p.name]) for c in good], dtype=float))
                hi = NumericParzen(np.array([p.to_unit(c[p.name]) for c in bad], dtype=float))
                config[p.name] = p.from_unit(best_of_candidates(lo, hi, self.rng, self.n_candidates))
        return config

    def metadata(self) -> dict[str, Any]:
        return {"budgets": self.hyperband.budgets, "min_points_in_model": self.min_points,
                "n_brackets": self.hyperband.n_brackets, "n_model_based": self.n_model_based}
