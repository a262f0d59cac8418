"""MO-BANANAS (Guerrero-Viu et al. 2021, Sec. 3.4 and Alg. 5): BANANAS with several objectives.

Why written here: the authors' code needs an old Ax; the algorithm is small. Its parts, as in the
paper's Algorithm 5 and the authors' ``moshbananas.py``:

- an initial population of ``n_init`` random configs (10), trained for the full budget;
- a neural predictor: an ensemble of 5 small MLPs (torch), each trained from its own random start on
  the population's unit-cube configs -> standardised objectives (real-valued encoding: the paper's
  Appendix B.4 drops the path encoding);
- parents: the top ``n_parents`` (20) of the population by non-dominated sort, then crowding
  distance (Raquel & Naval 2005); each parent gives ``mutations_per_parent`` children by Gaussian
  mutation of 3 keys in the unit cube (sd = a third of the range, truncated to the range, as in the
  authors' code; a categorical key is resampled);
- selection: independent Thompson sampling: per candidate and objective one draw from
  N(ensemble mean, ensemble sd); the ``n_select`` (10) best draws by non-dominated sort + crowding;
- successive halving with eta 3 over epochs (rungs ``max, ceil(max/3), ...`` down to ``min_epochs``,
  the authors' ``get_budgets``): every rung is a fresh trial trained from scratch for the rung's
  epochs; the best ``n // eta`` (at least 1) by non-dominated rank, ties in the last admitted front
  broken by the larger hypervolume contribution, go on to the next rung. Results at the top rung join
  the population the predictor learns from.

A bracket waits for all its trials of a rung before promoting (``ask`` returns None meanwhile), which
is exact successive halving; with several workers some idle at a rung's end.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np
import torch
from torch import nn

from hyperion_bench.methods.ms_ehvi import one_thread
from hyperion_bench.methods.optimizer import Optimizer, Suggestion
from hyperion_bench.metrics import hypervolume_contributions, nondominated_ranks

DEFAULTS: dict[str, Any] = {
    "n_init": 10,  # initial random population (authors' examples/moshbananas.py)
    "n_parents": 20,  # candidates to mutate (num_arch)
    "mutations_per_parent": 10,
    "n_mutated_keys": 3,
    "n_select": 10,  # chosen per iteration by independent Thompson sampling (select_models)
    "eta": 3,
    "ensemble": 5,  # MLPs in the predictor (num_ensamble_nets)
    "hidden": 32,
    "train_steps": 300,  # full-batch Adam steps per MLP per iteration
}


# ---------------------------------------------------------------------- ranking helpers
def crowding_distance(points: np.ndarray) -> np.ndarray:
    """NSGA-II crowding distance within one front (boundary points get infinity)."""
    pts = np.asarray(points, dtype=float)
    n, m = pts.shape
    dist = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for j in range(m):
        order = np.argsort(pts[:, j], kind="stable")
        span = pts[order[-1], j] - pts[order[0], j]
        dist[order[0]] = dist[order[-1]] = np.inf
        if span > 0:
            dist[order[1:-1]] += (pts[order[2:], j] - pts[order[:-2], j]) / span
    return dist


def sort_by_rank_and_crowding(points: np.ndarray) -> np.ndarray:
    """Indices best first: non-dominated front, then larger crowding distance within a front."""
    pts = np.asarray(points, dtype=float)
    if len(pts) == 0:
        return np.zeros(0, dtype=int)
    ranks = nondominated_ranks(pts)
    crowd = np.zeros(len(pts))
    for r in np.unique(ranks):
        idx = np.flatnonzero(ranks == r)
        crowd[idx] = crowding_distance(pts[idx])
    return np.lexsort((-crowd, ranks))


def promote(objectives: list[np.ndarray | None], k: int) -> list[int]:
    """Indices of the ``k`` results that go to the next rung (failed ones, None, never do unless needed).

    Whole non-dominated fronts are admitted in order; the front that does not fit is cut by
    hypervolume contribution (largest first, reference = the worst point + 10% of the range).
    """
    ok = [i for i, y in enumerate(objectives) if y is not None]
    chosen: list[int] = []
    if ok:
        pts = np.array([objectives[i] for i in ok], dtype=float)
        ranks = nondominated_ranks(pts)
        span = np.ptp(pts, axis=0)
        ref = pts.max(axis=0) + 0.1 * np.where(span > 0, span, 1.0)
        for r in np.unique(ranks):
            front = np.flatnonzero(ranks == r)
            if len(chosen) + len(front) <= k:
                chosen += [ok[i] for i in front]
                continue
            contrib = hypervolume_contributions(pts[front], ref)
            order = front[np.argsort(-contrib, kind="stable")]
            chosen += [ok[i] for i in order[: k - len(chosen)]]
            break
    return chosen[:k]


def sh_rungs(min_epochs: int, max_epochs: int, eta: int) -> list[int]:
    """Epochs per rung, ascending: max, ceil(max/eta), ... while >= min (the authors' get_budgets)."""
    rungs = [int(max_epochs)]
    while math.ceil(rungs[-1] / eta) >= max(int(min_epochs), 1) and math.ceil(rungs[-1] / eta) < rungs[-1]:
        rungs.append(math.ceil(rungs[-1] / eta))
    return rungs[::-1]


# ---------------------------------------------------------------------- the neural predictor
class EnsemblePredictor:
    """Five small MLPs: unit-cube config -> standardised objectives; mean and spread over members."""

    def __init__(self, dim: int, n_out: int, members: int, hidden: int, steps: int, seed: int):
        self.dim, self.n_out, self.members, self.hidden, self.steps = dim, n_out, members, hidden, steps
        self.gen = torch.Generator().manual_seed(seed)
        self.nets: list[nn.Module] = []
        self.mu = np.zeros(n_out)
        self.sd = np.ones(n_out)

    def fit(self, X: np.ndarray, Y: np.ndarray) -> None:
        self.mu, self.sd = Y.mean(axis=0), Y.std(axis=0) + 1e-9
        x = torch.tensor(X, dtype=torch.float32)
        y = torch.tensor((Y - self.mu) / self.sd, dtype=torch.float32)
        self.nets = []
        for _ in range(self.members):
            torch.manual_seed(int(torch.randint(2**31, (1,), generator=self.gen)))
            net = nn.Sequential(nn.Linear(self.dim, self.hidden), nn.ReLU(), nn.Linear(self.hidden, self.hidden),
                                nn.ReLU(), nn.Linear(self.hidden, self.n_out))
            opt = torch.optim.Adam(net.parameters(), lr=0.01, weight_decay=1e-4)
            for _ in range(self.steps):
                loss = ((net(x) - y) ** 2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
            self.nets.append(net.eval())

    @torch.no_grad()
    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions of every member, (members, n, n_out), in the objectives' units."""
        x = torch.tensor(X, dtype=torch.float32)
        out = np.stack([net(x).numpy() for net in self.nets])
        return out * self.sd + self.mu


# ---------------------------------------------------------------------- the optimiser
class MOBananas(Optimizer):
    def __init__(self, space: Any, n_objectives: int, seed: int, min_epochs: int, max_epochs: int,
                 settings: dict[str, Any], context: Any):
        super().__init__(space, n_objectives, seed, min_epochs, max_epochs, settings, context)
        self.opts = {**DEFAULTS, **{k: v for k, v in dict(settings).items() if k in DEFAULTS}}
        self.rng = np.random.default_rng(seed)
        self.dim = len(space.flat)
        self.rungs = sh_rungs(min_epochs, max_epochs, int(self.opts["eta"]))
        self.predictor = EnsemblePredictor(self.dim, n_objectives, int(self.opts["ensemble"]),
                                           int(self.opts["hidden"]), int(self.opts["train_steps"]), seed)
        max_trials = getattr(context, "max_trials", None)
        n_init = int(self.opts["n_init"])
        if max_trials is not None:  # small budgets: at most a third of the trials are random
            n_init = max(2, min(n_init, max_trials // 3))
        # queue of (unit vector, rung index) waiting to be asked; the initial population at the top rung
        self.queue: deque[tuple[np.ndarray, int]] = deque(
            (self._snap(self.rng.random(self.dim)), len(self.rungs) - 1) for _ in range(n_init))
        self.population: list[tuple[np.ndarray, np.ndarray]] = []  # (unit vector, objectives) at the top rung
        self.asked: dict[int, tuple[np.ndarray, int]] = {}  # key -> (vector, rung) still running
        self.rung_results: list[tuple[np.ndarray, np.ndarray | None]] = []  # the current rung of the bracket
        self.bracket_rung: int | None = None  # rung the bracket is at (None: no bracket / initial population)
        self.waiting = 0  # trials of the current rung or initial population still running
        self.decisions: list[dict[str, Any]] = []  # promotion log (tests, debugging)

    def _snap(self, u: np.ndarray) -> np.ndarray:
        return self.space.to_unit(self.space.from_unit(u))

    # ------------------------------------------------------------------ ask / tell
    def ask(self, key: int) -> Suggestion | None:
        if not self.queue and self.waiting == 0:
            self._start_bracket()
        if not self.queue:
            return None
        u, rung = self.queue.popleft()
        self.asked[key] = (u, rung)
        self.waiting += 1
        return Suggestion(config=self.space.from_unit(u), epochs=self.rungs[rung], meta={"rung": rung})

    def tell(self, key: int, objectives: np.ndarray | None, result: dict[str, Any]) -> None:
        u, rung = self.asked.pop(key)
        self.waiting -= 1
        y = None if objectives is None or not np.all(np.isfinite(objectives)) else np.asarray(objectives, float)
        if rung == len(self.rungs) - 1 and y is not None:
            self.population.append((u, y))
        if self.bracket_rung is None:  # the initial population
            return
        self.rung_results.append((u, y))
        if self.waiting == 0 and not self.queue:
            self._end_rung()

    # ------------------------------------------------------------------ successive halving
    def _end_rung(self) -> None:
        rung = self.bracket_rung
        assert rung is not None
        if rung == len(self.rungs) - 1:
            self.bracket_rung, self.rung_results = None, []
            return
        k = max(1, len(self.rung_results) // int(self.opts["eta"]))
        keep = promote([y for _, y in self.rung_results], k)
        self.decisions.append({"rung": rung, "n": len(self.rung_results), "promoted": keep})
        self.queue.extend((self.rung_results[i][0], rung + 1) for i in keep)
        self.bracket_rung, self.rung_results = rung + 1, []
        if not keep:  # every trial of the rung failed: the bracket ends
            self.bracket_rung = None

    def _start_bracket(self) -> None:
        chosen = self.choose_candidates()
        self.bracket_rung = 0
        self.rung_results = []
        self.queue.extend((u, 0) for u in chosen)

    def choose_candidates(self) -> list[np.ndarray]:
        """Algorithm 5, lines 3-7: fit the predictor, mutate the best parents, Thompson-sample."""
        n_select = int(self.opts["n_select"])
        if len(self.population) < 2:  # nothing to learn from yet (failures): random configs
            return [self._snap(self.rng.random(self.dim)) for _ in range(n_select)]
        X = np.array([u for u, _ in self.population])
        Y = np.array([y for _, y in self.population])
        with one_thread():
            self.predictor.fit(X, Y)
        parents = X[sort_by_rank_and_crowding(Y)[: int(self.opts["n_parents"])]]
        seen = {u.tobytes() for u in X}
        cands = []
        for p in parents:
            for _ in range(int(self.opts["mutations_per_parent"])):
                child = self._snap(self.mutate(p))
                if child.tobytes() not in seen:
                    seen.add(child.tobytes())
                    cands.append(child)
        while len(cands) < n_select:  # mutations that only repeated known configs: fill at random
            cands.append(self._snap(self.rng.random(self.dim)))
        C = np.array(cands)
        preds = self.predictor.predict(C)  # (members, n, m)
        draws = self.rng.normal(preds.mean(axis=0), preds.std(axis=0, ddof=1) + 1e-12)
        return [C[i] for i in sort_by_rank_and_crowding(draws)[:n_select]]

    def mutate(self, u: np.ndarray) -> np.ndarray:
        """Gaussian mutation of ``n_mutated_keys`` keys: truncated N(u, (1/3)^2) on [0, 1]; choices resampled."""
        child = u.copy()
        keys = self.rng.choice(self.dim, size=min(int(self.opts["n_mutated_keys"]), self.dim), replace=False)
        for j in keys:
            if self.space.flat[j].kind == "choice":
                child[j] = self.rng.random()
                continue
            for _ in range(100):  # rejection sampling of the truncated normal
                v = self.rng.normal(u[j], 1.0 / 3.0)
                if 0.0 <= v <= 1.0:
                    break
            child[j] = min(max(v, 0.0), 1.0)
        return child
