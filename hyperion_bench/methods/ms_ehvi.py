"""MS-EHVI: mixed-surrogate expected hypervolume improvement (Guerrero-Viu et al. 2021, Sec. 3.3, Alg. 4).

Why a method of its own and not Syne Tune's EHVI: the point of MS-EHVI is that only the *expensive*
objectives (validation accuracy) get a Gaussian process; the *cheap* ones (n_params, log10_n_params)
are computed exactly from the config and enter the acquisition as a deterministic model. Syne Tune's
EHVI models every objective and hard-codes its reference point.

The loop (one point at a time, as in the authors' code):

1. a scrambled Sobol design of ``n_init`` points (50 in the paper's code). When the trial budget is
   small the design shrinks to ``max(2, max_trials // 3)`` points, so that at least two thirds of
   the trials are model-based;
2. then per suggestion: fit one GP (botorch ``SingleTaskGP``, Matern 5/2 with ARD, standardised
   outputs) on the unit-cube configs and the *expensive* objectives only; score a candidate pool
   (``raw_samples`` Sobol points plus Gaussian perturbations of the current Pareto set, every
   candidate snapped onto the grid of values the space can take) with botorch's
   ``qLogExpectedHypervolumeImprovement`` over ``ModelList(GP, GenericDeterministicModel(cheap))``;
   propose the best. The log form (Ament et al. 2023) is the numerically robust version of the same
   acquisition: it still ranks candidates when every plain EHVI value underflows to 0.
   Suggestions still running are passed as ``X_pending`` so that parallel workers do not all pick
   the same point.

The cheap objectives are whichever of the suite's Pareto metrics ``context.cheap_objectives(config)``
returns: on flowers17 ``log10_n_params``, on the synthetic zdt suites ``f1`` (= x0, exact), so only
``f2`` has a GP there, which explains most of MS-EHVI's lead on ZDT (``results/mo-zdt/``). On a suite
where it returns nothing every objective is modelled and MS-EHVI is plain EHVI. The candidate pool is scored instead
of gradient-optimised because the cheap objective is a step function of the config (integers,
choices): its gradient is zero almost everywhere, so a discrete search over snapped candidates is
both exact and fast on a CPU.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from hyperion_bench.methods.optimizer import Optimizer, Suggestion
from hyperion_bench.metrics import pareto_mask

DEFAULTS: dict[str, Any] = {
    "n_init": 50,  # Sobol points (the authors' code)
    "raw_samples": 256,  # Sobol candidates scored per suggestion
    "n_local": 256,  # Gaussian perturbations of the Pareto set scored per suggestion
    "local_sigma": 0.1,  # their standard deviation in the unit cube
    "mc_samples": 64,  # quasi-MC samples of the acquisition
    "fit_maxiter": 100,  # L-BFGS steps per GP fit (warm-started from the previous fit)
    "acquisition": "qLogEHVI",  # or "qEHVI" (the plain form)
}


def init_points(n_init: int, max_trials: int | None) -> int:
    """The Sobol design size: ``n_init``, shrunk to ``max(2, max_trials // 3)`` for small budgets."""
    if max_trials is None:
        return n_init
    return max(1, min(n_init, max_trials, max(2, max_trials // 3)))


class MSEHVI(Optimizer):
    def __init__(self, space: Any, n_objectives: int, seed: int, min_epochs: int, max_epochs: int,
                 settings: dict[str, Any], context: Any):
        super().__init__(space, n_objectives, seed, min_epochs, max_epochs, settings, context)
        self.opts = {**DEFAULTS, **{k: v for k, v in dict(settings).items() if k in DEFAULTS}}
        self.dim = len(space.flat)
        self.rng = np.random.default_rng(seed)
        self.n_init = init_points(int(self.opts["n_init"]), getattr(context, "max_trials", None))
        from scipy.stats import qmc

        with warnings.catch_warnings():  # Sobol balance warnings for non-powers of two are harmless here
            warnings.simplefilter("ignore")
            self.design = qmc.Sobol(self.dim, scramble=True, seed=seed).random(self.n_init)
        self.names = list(_objective_names(context, n_objectives))
        probe = self._cheap_values(space.sample(np.random.default_rng(seed)))
        self.cheap_idx = [i for i, name in enumerate(self.names) if name in probe]
        self.exp_idx = [i for i in range(n_objectives) if i not in self.cheap_idx]
        assert self.exp_idx, "MS-EHVI needs at least one expensive (modelled) objective"
        self.reference = np.asarray(_reference_point(context, n_objectives), dtype=float)
        self.X: dict[int, np.ndarray] = {}  # every suggestion's unit-cube vector (snapped)
        self.Y: dict[int, np.ndarray] = {}  # told objectives (minimised)
        self.failed: set[int] = set()
        self.n_asked = 0
        self.fit_targets: list[int] = []  # columns of the last GP's targets (tests: the cheap one is never modelled)
        self.suggest_seconds: list[float] = []  # wall-clock per model-based suggestion
        self._cheap_cache: dict[bytes, np.ndarray] = {}
        self._hyper: tuple[dict, dict] | None = None  # the last GP fit's kernel and noise hyperparameters

    # ------------------------------------------------------------------ ask / tell
    def ask(self, key: int) -> Suggestion | None:
        started = time.perf_counter()
        if self.n_asked < self.n_init:
            u = self.design[self.n_asked]
        elif len(self.Y) < 2:  # every early trial failed: keep exploring at random
            u = self.rng.random(self.dim)
        else:
            with one_thread():
                u = self._ehvi_candidate()
            self.suggest_seconds.append(time.perf_counter() - started)
        config = self.space.from_unit(u)
        self.X[key] = self.space.to_unit(config)
        self.n_asked += 1
        return Suggestion(config=config, epochs=self.max_epochs)

    def tell(self, key: int, objectives: np.ndarray | None, result: dict[str, Any]) -> None:
        if objectives is None or not np.all(np.isfinite(objectives)):
            self.failed.add(key)
            return
        self.Y[key] = np.asarray(objectives, dtype=float)

    # ------------------------------------------------------------------ the cheap objectives, exactly
    def _cheap_values(self, config: dict[str, Any]) -> dict[str, float]:
        fn = getattr(self.context, "cheap_objectives", None)
        return dict((fn(config) if fn is not None else None) or {})

    def cheap_vector(self, u: np.ndarray) -> np.ndarray:
        """The cheap objectives of the config a unit-cube vector stands for (cached)."""
        key = np.asarray(u, dtype=float).tobytes()
        if key not in self._cheap_cache:
            values = self._cheap_values(self.space.from_unit(u))
            self._cheap_cache[key] = np.array([float(values[self.names[i]]) for i in self.cheap_idx])
        return self._cheap_cache[key]

    # ------------------------------------------------------------------ the model-based step
    def _candidates(self, Y: np.ndarray, X: np.ndarray) -> np.ndarray:
        from scipy.stats import qmc

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sobol = qmc.Sobol(self.dim, scramble=True, seed=int(self.rng.integers(2**31))).random(
                int(self.opts["raw_samples"]))
        front = X[pareto_mask(Y)]
        parents = front[self.rng.integers(len(front), size=int(self.opts["n_local"]))]
        local = np.clip(parents + self.rng.normal(0.0, float(self.opts["local_sigma"]), parents.shape), 0.0, 1.0)
        pool = np.vstack([sobol, local])
        snapped = np.array([self.space.to_unit(self.space.from_unit(u)) for u in pool])
        seen = {x.tobytes() for x in self.X.values()}
        fresh = np.array([x for x in np.unique(snapped, axis=0) if x.tobytes() not in seen])
        return fresh if len(fresh) else snapped

    def _ehvi_candidate(self) -> np.ndarray:
        from botorch.acquisition.multi_objective.logei import qLogExpectedHypervolumeImprovement
        from botorch.acquisition.multi_objective.monte_carlo import qExpectedHypervolumeImprovement
        from botorch.fit import fit_gpytorch_mll
        from botorch.models import SingleTaskGP
        from botorch.models.deterministic import GenericDeterministicModel
        from botorch.models.model import ModelList
        from botorch.models.transforms.outcome import Standardize
        from botorch.sampling.get_sampler import get_sampler
        from botorch.utils.multi_objective.box_decompositions.non_dominated import FastNondominatedPartitioning
        from gpytorch.mlls import ExactMarginalLogLikelihood

        keys = sorted(self.Y)
        X = np.array([self.X[k] for k in keys])
        Y = np.array([self.Y[k] for k in keys])
        order = self.exp_idx + self.cheap_idx  # the model list's output order; hypervolume ignores the order
        dt = torch.float64
        train_x = torch.tensor(X, dtype=dt)
        train_y = -torch.tensor(Y[:, self.exp_idx], dtype=dt)  # botorch maximises
        self.fit_targets = list(self.exp_idx)
        gp = SingleTaskGP(train_x, train_y, outcome_transform=Standardize(m=train_y.shape[-1]))
        if self._hyper is not None:  # warm start from the last fit: ~3x fewer L-BFGS steps
            gp.covar_module.load_state_dict(self._hyper[0])
            gp.likelihood.load_state_dict(self._hyper[1])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit_gpytorch_mll(ExactMarginalLogLikelihood(gp.likelihood, gp),
                             optimizer_kwargs={"options": {"maxiter": int(self.opts["fit_maxiter"])}})
        self._hyper = (gp.covar_module.state_dict(), gp.likelihood.state_dict())
        if self.cheap_idx:
            cheap = GenericDeterministicModel(self._cheap_torch, num_outputs=len(self.cheap_idx))
            model: Any = ModelList(gp, cheap)
        else:
            model = gp
        ref = -torch.tensor(self.reference[order], dtype=dt)
        partitioning = FastNondominatedPartitioning(ref_point=ref, Y=-torch.tensor(Y[:, order], dtype=dt))
        # a ListSampler when the cheap model joins the GP: quasi-MC for the GP, the exact value for the rest
        sampler = get_sampler(model.posterior(train_x[:1]), sample_shape=torch.Size([int(self.opts["mc_samples"])]),
                              seed=int(self.rng.integers(2**31)))
        pending = [self.X[k] for k in self.X if k not in self.Y and k not in self.failed]
        x_pending = torch.tensor(np.array(pending), dtype=dt) if pending else None
        cls = qExpectedHypervolumeImprovement if self.opts["acquisition"] == "qEHVI" \
            else qLogExpectedHypervolumeImprovement
        acq = cls(model=model, ref_point=ref, partitioning=partitioning, sampler=sampler, X_pending=x_pending)
        cands = self._candidates(Y, X)
        values = []
        with torch.no_grad():
            for i in range(0, len(cands), 256):
                values.append(acq(torch.tensor(cands[i : i + 256], dtype=dt).unsqueeze(1)))
        scores = torch.cat(values).numpy()
        best = np.flatnonzero(scores == scores.max())
        return cands[int(self.rng.choice(best))]

    def _cheap_torch(self, x: torch.Tensor) -> torch.Tensor:
        """The deterministic model's function: exact cheap objectives, negated (botorch maximises)."""
        flat = x.detach().reshape(-1, x.shape[-1]).cpu().numpy()
        values = np.array([self.cheap_vector(u) for u in flat])
        return -torch.tensor(values, dtype=x.dtype).reshape(*x.shape[:-1], len(self.cheap_idx))


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run small-model maths on one thread. Measured on the shared 2-core CPU under load (2026-11-23):
    an MS-EHVI suggestion on a 4-variable zdt suite took 3-5 s with torch's default 2 threads and
    0.45-0.6 s with one."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _objective_names(context: Any, n: int) -> list[str]:
    for attr in ("objective_names", "objectives", "pareto"):
        names = getattr(context, attr, None)
        if names:
            return list(names)
    return [f"f{i}" for i in range(n)]


def _reference_point(context: Any, n: int) -> list[float]:
    for attr in ("reference_point", "reference"):
        ref = getattr(context, attr, None)
        if ref is not None:
            return list(ref)
    raise AssertionError("MS-EHVI needs the suite's reference point")
