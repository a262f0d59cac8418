"""BULK & CUT (Guerrero-Viu et al. 2021, Sec. 3.5, Algorithms 6 and 7).

Why written here: the authors' code trains its own networks inside the optimiser; in this harness
every network is trained by ``evaluate``, so the method only decides *what* a trial starts from and
the trial does the rest through the lineage hook (``hyperion_bench.lineage``): the trial loads the
parent's saved network, applies a morphism or pruning (``hyperion_bench.nn.morph``), trains it
(with the parent as teacher when cutting) and saves its own network for its children.

Three phases of the budget (fractions 0.35 / 0.40 / 0.25 of the wall-clock budget, or of the trial
budget when only ``--max-trials`` is given):

1. initialisation: random configs of the suite's plain CNN space, trained from scratch for the full
   epochs;
2. bulk-up: a parent chosen by the Pareto-epsilon-greedy rule (Algorithm 6: the first front with
   probability 0.85, else the next front down) grows by a function-preserving morphism: an
   identity-initialised conv or linear layer (``deepen``) or Net2WiderNet widening (``widen``),
   equally likely; the child trains for the full epochs from the parent's weights. Parents above
   1e8 parameters are excluded (the authors' code);
3. cut-down: a parent chosen the same way is pruned (L1 structured pruning of filters and units) and
   trained for a third of the epochs with knowledge distillation from the parent (authors' code:
   ``round(25 / 3)`` epochs). Parents below 100 parameters are excluded and parents not yet cut are
   preferred (authors' code).

In every phase the learning rate is chosen by constrained BO: a GP (scikit-learn, Matern 5/2 + white
noise, normalised targets) on (depth, log10 n_params, log lr) -> first objective, minimised by the
lower confidence bound mu - kappa * sigma over lr with the architecture features held fixed. As in
the authors' code, phases 1-2 share one GP and phase 3 (short distillation runs) has its own. A child
is asked about with its own size: ``ask`` applies the same seeded morph or pruning the trial will apply
to the parent's checkpoint and counts the result, because the GP is told the trained child's measured
size and a pruned child can be several times smaller than its parent.

The config recorded for a child is its parent's config with the new lr: a grown or pruned network is
no longer a point of the config space. Its real size is the measured ``n_params`` of the trial.
Only the plain CNN family is supported; other suites are rejected with a UserError.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from hyperion_bench.errors import UserError
from hyperion_bench.methods.optimizer import Context, Optimizer, Suggestion
from hyperion_bench.metrics import nondominated_ranks

DEFAULTS: dict[str, Any] = {
    "phases": [0.35, 0.40, 0.25],
    "epsilon": 0.85,  # probability of sampling the current front (Algorithm 6)
    "kappa": 2.0,  # LCB exploration weight
    "n_lr_candidates": 256,
    "min_gp_points": 3,  # random lr until the GP has this many observations
    "prune_fraction": 0.5,
    "widen_factor": 1.5,
    "temperature": 4.0,
    "distill_alpha": 0.9,
    "max_parent_params": 1e8,
    "min_parent_params": 100,
}
PLAIN_CNN_KEYS = ("n_conv_l", "n_fc_l")


class LrGP:
    """GP over (depth, log10 n_params, lr in the unit cube) -> objective; lr by lower confidence bound."""

    def __init__(self, kappa: float, n_candidates: int, min_points: int, rng: np.random.Generator):
        self.kappa, self.n_candidates, self.min_points, self.rng = kappa, n_candidates, min_points, rng
        self.X: list[np.ndarray] = []
        self.y: list[float] = []

    def add(self, features: np.ndarray, lr_unit: float, value: float) -> None:
        self.X.append(np.append(features, lr_unit))
        self.y.append(float(value))

    def choose(self, features: np.ndarray) -> float:
        if len(self.y) < self.min_points:
            return float(self.rng.random())
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        kernel = ConstantKernel(1.0) * Matern(length_scale=np.ones(len(self.X[0])), nu=2.5) + WhiteKernel(1e-2)
        gp = GaussianProcessRegressor(kernel=kernel, normalize_y=True, n_restarts_optimizer=1,
                                      random_state=int(self.rng.integers(2**31)))
        with warnings.catch_warnings():  # length scales at their bounds on a few points: expected
            warnings.simplefilter("ignore")
            gp.fit(np.array(self.X), np.array(self.y))
        lrs = self.rng.random(self.n_candidates)
        grid = np.column_stack([np.repeat(features[None, :], len(lrs), axis=0), lrs])
        mu, sd = gp.predict(grid, return_std=True)
        return float(lrs[int(np.argmin(mu - self.kappa * sd))])


class BulkAndCut(Optimizer):
    cannot_replay = ("BULK & CUT's tells append to checkpoints/lineage.csv and its children load their parents' "
                     "checkpoints, so it is not replayed")

    def __init__(self, space: Any, n_objectives: int, seed: int, min_epochs: int, max_epochs: int,
                 settings: dict[str, Any], context: Context):
        super().__init__(space, n_objectives, seed, min_epochs, max_epochs, settings, context)
        suite = context.suite
        family = getattr(suite, "family", None)
        if family not in (None, "plain_cnn") or any(k not in space.names for k in PLAIN_CNN_KEYS):
            raise UserError(f"method 'bulk-and-cut' needs the plain_cnn network family with n_conv_l and n_fc_l "
                            f"searched (e.g. --suite flowers17); suite {getattr(suite, 'name', '?')!r} has family "
                            f"{family!r}")
        self.opts = {**DEFAULTS, **{k: v for k, v in dict(settings).items() if k in DEFAULTS}}
        phases = np.asarray(self.opts["phases"], dtype=float)
        assert len(phases) == 3 and abs(phases.sum() - 1.0) < 1e-6, f"bad phase fractions {phases}"
        self.bounds = np.cumsum(phases)[:2]
        self.rng = np.random.default_rng(seed)
        self.wallclock_s = context.wallclock_s  # the phases follow the wall clock when there is one
        self.max_trials = context.max_trials
        self.has_lr = "lr" in space.names
        gp_args = (float(self.opts["kappa"]), int(self.opts["n_lr_candidates"]), int(self.opts["min_gp_points"]))
        self.gps = [LrGP(*gp_args, self.rng), LrGP(*gp_args, self.rng)]  # phases 1-2, phase 3
        self.folder: Path | None = None  # made at the first ask
        self.started: float | None = None
        self.n_asked = 0
        self.asked: dict[int, dict[str, Any]] = {}
        self.population: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ budget phases
    def progress(self) -> float:
        """Fraction of the budget used: wall-clock when there is a wall-clock budget, else trials."""
        if self.wallclock_s:
            return (time.monotonic() - (self.started or time.monotonic())) / float(self.wallclock_s)
        if self.max_trials:
            return self.n_asked / float(self.max_trials)
        return 0.0

    def phase(self) -> int:
        return int(np.searchsorted(self.bounds, self.progress(), side="right"))

    # ------------------------------------------------------------------ ask / tell
    def ask(self, key: int) -> Suggestion | None:
        if self.started is None:
            self.started = time.monotonic()
            self.folder = Path(self.context.folder or tempfile.mkdtemp(prefix="bulk-and-cut-")) / "checkpoints"
        phase = self.phase()
        parent = self.choose_parent(bulk=phase == 1) if phase > 0 else None
        checkpoint = str(Path(self.folder) / f"trial-{key}.pt")
        meta: dict[str, Any] = {"save_checkpoint": checkpoint}
        if parent is None:  # phase 1, or no usable parent yet
            config = self.space.sample(self.rng)
            kind, epochs, depth = "random", self.max_epochs, _config_depth(self.space, config)
            log_params = self._log_params(config)
        else:
            config = dict(parent["config"])
            kind = str(self.rng.choice(["deepen", "widen"])) if phase == 1 else "prune"
            epochs = self.max_epochs if phase == 1 else max(self.min_epochs, round(self.max_epochs / 3))
            depth = parent["depth"] + (kind == "deepen")
            meta.update(parent_checkpoint=parent["checkpoint"], transform=kind,
                        transform_seed=int(self.rng.integers(2**31)))
            if kind == "widen":
                meta["widen_factor"] = float(self.opts["widen_factor"])
            if kind == "prune":
                parent["cut_children"] += 1
                meta.update(distill=True, prune_fraction=float(self.opts["prune_fraction"]),
                            temperature=float(self.opts["temperature"]),
                            distill_alpha=float(self.opts["distill_alpha"]))
            log_params = child_log_params(meta)
        features = np.array([depth / 10.0, log_params / 8.0])
        gp = self.gps[1 if kind == "prune" else 0]
        lr_unit = None
        if self.has_lr:
            lr_unit = gp.choose(features)
            config["lr"] = self.space["lr"].from_unit(lr_unit)
            lr_unit = self.space["lr"].to_unit(config["lr"])
        self.asked[key] = {"config": config, "kind": kind, "depth": depth, "features": features, "lr_unit": lr_unit,
                           "gp": gp, "checkpoint": checkpoint, "phase": phase, "epochs": int(epochs),
                           "parent": parent["key"] if parent else ""}
        self.n_asked += 1
        return Suggestion(config=config, epochs=int(epochs), meta=meta)

    def tell(self, key: int, objectives: np.ndarray | None, result: dict[str, Any]) -> None:
        info = self.asked.pop(key)
        ok = objectives is not None and bool(np.all(np.isfinite(objectives)))
        self._log(key, info, objectives if ok else None, result)
        if not ok:
            return
        n_params = float(result.get("n_params") or 0.0)
        log_params = float(np.log10(max(n_params, 1.0))) if n_params else float(info["features"][1] * 8.0)
        if info["lr_unit"] is not None:
            info["gp"].add(np.array([info["depth"] / 10.0, log_params / 8.0]), info["lr_unit"], float(objectives[0]))
        if not Path(info["checkpoint"]).exists():  # e.g. a trial stopped by the budget: no network to inherit
            return
        self.population.append({"key": key, "config": info["config"], "objectives": np.asarray(objectives, float),
                                "checkpoint": info["checkpoint"], "depth": info["depth"], "log_params": log_params,
                                "n_params": n_params, "cut_children": 0, "kind": info["kind"]})

    def _log(self, key: int, info: dict[str, Any], objectives: np.ndarray | None, result: dict[str, Any]) -> None:
        """One line per told trial in ``checkpoints/lineage.csv``: who grew or was cut from whom (the
        harness's ``trials.csv`` shows the parent's config for a child, see the module docstring)."""
        path = Path(self.folder or ".") / "lineage.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        new = not path.exists()
        with open(path, "a") as f:
            if new:
                f.write("key,phase,kind,parent,epochs,lr,n_params,objectives\n")
            objs = " ".join(f"{v:.6g}" for v in objectives) if objectives is not None else "failed"
            f.write(f"{key},{info['phase']},{info['kind']},{info['parent']},{info['epochs']},"
                    f"{info['config'].get('lr', '')},{result.get('n_params', '')},{objs}\n")

    # ------------------------------------------------------------------ Algorithm 6: Pareto-epsilon-greedy
    def choose_parent(self, bulk: bool) -> dict[str, Any] | None:
        pool = list(self.population)
        if bulk:
            pool = [p for p in pool if not p["n_params"] or p["n_params"] <= float(self.opts["max_parent_params"])]
        else:
            pool = [p for p in pool if not p["n_params"] or p["n_params"] >= float(self.opts["min_parent_params"])]
            fresh = [p for p in pool if p["cut_children"] == 0]
            pool = fresh or pool
        return pareto_epsilon_greedy(pool, float(self.opts["epsilon"]), self.rng)

    def _log_params(self, config: dict[str, Any]) -> float:
        fn = getattr(self.context, "cheap_objectives", None)
        values = dict((fn(config) if fn is not None else None) or {})
        if "log10_n_params" in values:
            return float(values["log10_n_params"])
        if "n_params" in values:
            return float(np.log10(max(float(values["n_params"]), 1.0)))
        return 4.0  # unknown: a mid-range size (the GP feature only)


def pareto_epsilon_greedy(pool: list[dict[str, Any]], epsilon: float, rng: np.random.Generator
                          ) -> dict[str, Any] | None:
    """Algorithm 6: from the best front with probability ``epsilon``, else try the next front down."""
    if not pool:
        return None
    ranks = nondominated_ranks(np.array([p["objectives"] for p in pool]))
    for r in np.unique(ranks):
        front = np.flatnonzero(ranks == r)
        if rng.random() < epsilon or r == ranks.max():
            return pool[int(rng.choice(front))]
    raise AssertionError("unreachable")


def child_log_params(meta: dict[str, Any]) -> float:
    """log10 of the parameter count of the network a trial with these lineage constants will train: the
    parent's checkpoint after the same seeded morph or pruning (``Lineage.prepare``). Costs one load and
    one transform on the CPU (well under a second for the space's largest networks), not a training."""
    import torch

    from hyperion_bench.lineage import KEYS, Lineage
    from hyperion_bench.nn import count_params

    lineage = Lineage(**{k: v for k, v in meta.items() if k in KEYS and k not in ("distill", "save_checkpoint")})
    child = lineage.prepare(None, torch.device("cpu"))
    return float(np.log10(max(count_params(child), 1)))


def _config_depth(space: Any, config: dict[str, Any]) -> int:
    return int(config.get("n_conv_l", 0)) + int(config.get("n_fc_l", 0)) + 1
