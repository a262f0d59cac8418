"""SH-EMOA (Guerrero-Viu et al., 2021, Section 3.1, Appendix B.1, Algorithm 1).

A steady-state (mu + 1) evolutionary multi-objective algorithm in the style of SMS-EMOA (Beume et al.,
2007), sped up by successive halving over the training budget:

- stages run at budgets ``b_0 < b_1 < ... = max_epochs`` (doubling, ``eta`` = 2); stage ``i`` gets a
  share of the evaluations proportional to ``eta^-i`` (the number of evaluations halves as the
  budget doubles);
- stage 0 starts from ``mu`` random configs; every later stage starts by re-evaluating the surviving
  population at its larger budget (each re-evaluation a new trial from scratch);
- then, until the stage's evaluations are used: a child from mutation (resample ``mutation_keys``
  parameters uniformly) or uniform recombination of two parents (each with probability 0.5),
  parents by ``tournament_size``-way tournaments on (front, hypervolume contribution); the child is
  evaluated and joins the population, and the worst member leaves: last non-dominated front,
  smallest hypervolume contribution (``_mo_select``; reference = the worst point pushed out 10%).

Population size: the paper uses 100 with 15000 evaluations. With a trial budget ``N`` the harness
uses ``clamp(population_fraction * N, min_population, population)`` (150 evaluations -> 15), because
100 random configs would leave 50 evolutionary steps; without a trial budget (wall-clock only) it
plans for ``n_fe_total`` evaluations. The last stage goes on for as long as the run does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hyperion_bench.methods._hyperband import hb_budgets
from hyperion_bench.methods._mo_select import sort_best_first, worst_index
from hyperion_bench.methods.optimizer import Optimizer, Suggestion


@dataclass
class Individual:
    config: dict[str, Any]
    objectives: np.ndarray


class SHEMOA(Optimizer):
    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        s = self.settings  # every key from baselines/sh-emoa.toml (the one place its defaults live)
        total = int(self.context.max_trials or s["n_fe_total"])
        self.n_total = total
        scaled = round(float(s["population_fraction"]) * total)
        self.mu = int(min(int(s["population"]), max(int(s["min_population"]), scaled)))
        self.mutation_keys = int(s["mutation_keys"])
        self.p_recombination = float(s["p_recombination"])
        self.tournament = int(s["tournament_size"])
        eta = float(s["eta"])
        self.budgets = hb_budgets(self.min_epochs, self.max_epochs, eta)
        shares = np.array([eta ** (-i) for i in range(len(self.budgets))])
        self.stage_evals = [int(round(total * w)) for w in shares / shares.sum()]
        self.stage = 0
        self.asked_in_stage = 0
        self.population: list[Individual] = []
        self.pending: dict[int, tuple[str, dict[str, Any], int]] = {}  # key -> (kind, config, stage)
        # configs still to (re-)evaluate at the start of the stage: mu random ones in stage 0
        self.queue: list[dict[str, Any]] = [self.space.sample(self.rng) for _ in range(self.mu)]

    @property
    def budget(self) -> int:
        return self.budgets[self.stage]

    def _stage_pending(self) -> bool:
        return any(st == self.stage for _, _, st in self.pending.values())

    def ask(self, key: int) -> Suggestion | None:
        last = self.stage == len(self.budgets) - 1
        if not last and self.asked_in_stage >= self.stage_evals[self.stage] and not self.queue:
            if self._stage_pending():
                return None  # the next stage starts from this stage's final population
            self._next_stage()
        if self.queue:
            config, kind = self.queue.pop(0), "init"
        elif any(kind == "init" and st == self.stage for kind, _, st in self.pending.values()):
            return None  # evolution starts once the stage's starting population is evaluated
        elif len(self.population) < 2:
            config, kind = self.space.sample(self.rng), "init"  # (nearly) everything failed: refill
        else:
            config, kind = self._child(), "child"
        self.asked_in_stage += 1
        self.pending[key] = (kind, config, self.stage)
        return Suggestion(dict(config), epochs=self.budget)

    def _next_stage(self) -> None:
        self.stage += 1
        self.asked_in_stage = 0
        self.queue = [dict(ind.config) for ind in self.population]
        self.population = []

    def tell(self, key: int, objectives: np.ndarray | None, result: dict[str, Any]) -> None:
        kind, config, stage = self.pending.pop(key)
        if objectives is None or stage != self.stage:
            return  # a failed child or member is simply not in the population
        self.population.append(Individual(config, np.asarray(objectives, dtype=float)))
        if kind == "child" and len(self.population) > self.mu:
            self.population.pop(worst_index(self._points()))

    # ---- variation
    def _points(self) -> np.ndarray:
        return np.vstack([ind.objectives for ind in self.population])

    def _tournament(self, order_pos: np.ndarray) -> Individual:
        n = len(self.population)
        picks = self.rng.choice(n, size=min(self.tournament, n), replace=False)
        return self.population[int(picks[np.argmin(order_pos[picks])])]

    def _child(self) -> dict[str, Any]:
        order = sort_best_first(self._points())
        pos = np.empty(len(order), dtype=int)
        pos[order] = np.arange(len(order))
        if self.rng.random() < self.p_recombination:
            a, b = self._tournament(pos), self._tournament(pos)
            return {p.name: (a if self.rng.random() < 0.5 else b).config[p.name] for p in self.space.flat}
        child = dict(self._tournament(pos).config)
        names = self.space.names
        for i in self.rng.choice(len(names), size=min(self.mutation_keys, len(names)), replace=False):
            child[names[i]] = self.space.flat[i].sample(self.rng)
        return child

    def metadata(self) -> dict[str, Any]:
        return {"population": self.mu, "n_fe_planned": self.n_total, "budgets": self.budgets,
                "stage_evaluations": self.stage_evals}
