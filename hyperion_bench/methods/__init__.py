"""Methods: every one a Syne Tune scheduler over the suite's joint space, all in one registry.

Multi-objective methods (``multi_objective=True``) minimise the suite's Pareto metrics instead of the
weighted sum; most are pure ask/tell optimisers (``_mo_base.MOOptimizer``) behind one generic
scheduler (``_mo_base.MOScheduler``); their meta-parameters come from ``baselines/<method>.toml``.

Why a registry of factories: the CLI lists and validates method names without importing Optuna,
hyperopt or FLAML; a method's library is imported only when a scheduler is made. A method only
decides which config to try next; ``evaluate`` (the same for all) runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from syne_tune.optimizer.scheduler import TrialScheduler

from hyperion_bench.errors import UserError
from hyperion_bench.space import JointSpace


@dataclass(frozen=True)
class MethodInfo:
    name: str
    description: str  # one line: the library and the paper
    factory: Callable[..., TrialScheduler]
    multi_objective: bool = False


def _lazy(module: str, cls: str) -> Callable[..., TrialScheduler]:
    """A factory for the scheduler class ``cls`` of ``hyperion_bench/methods/<module>.py``, imported only
    when a scheduler is made (so listing methods imports no optimisation library)."""

    def factory(**kw: Any) -> TrialScheduler:
        import importlib

        return getattr(importlib.import_module(f"hyperion_bench.methods.{module}"), cls)(**kw)

    return factory


def _mo_optimizer(module: str, cls: str) -> Callable[..., TrialScheduler]:
    """A factory for an ask/tell MO optimiser behind the generic MOScheduler (imported when made)."""

    def factory(**kw: Any) -> TrialScheduler:
        import importlib

        from hyperion_bench.methods._mo_base import MOScheduler

        try:
            optimizer_cls = getattr(importlib.import_module(f"hyperion_bench.methods.{module}"), cls)
        except ModuleNotFoundError as exc:
            if exc.name != f"hyperion_bench.methods.{module}":
                raise
            raise UserError(f"method module hyperion_bench/methods/{module}.py is not in this checkout") from None
        return MOScheduler(optimizer_cls, **kw)

    return factory


_BAG = "bag of baselines, Guerrero-Viu et al. 2021"
MO_METHODS = (
    MethodInfo("mo-random", f"multi-objective random search ({_BAG})", _mo_optimizer("mo_random", "MORandom"),
               True),
    MethodInfo("mo-bohb", f"MO-BOHB: BOHB with MOTPE KDEs, NDS + HV promotion ({_BAG})",
               _mo_optimizer("mo_bohb", "MOBOHB"), True),
    MethodInfo("sh-emoa", f"SH-EMOA: steady-state (mu+1) EMOA with successive halving ({_BAG})",
               _mo_optimizer("sh_emoa", "SHEMOA"), True),
    MethodInfo("ms-ehvi", f"MS-EHVI: qEHVI (botorch) with the cheap objective exact ({_BAG})",
               _mo_optimizer("ms_ehvi", "MSEHVI"), True),
    MethodInfo("mo-bananas", f"MO-BANANAS: neural predictor ensemble, Thompson sampling, SH ({_BAG})",
               _mo_optimizer("mo_bananas", "MOBananas"), True),
    MethodInfo("bulk-and-cut", f"BULK & CUT: network morphisms, pruning + distillation, BO ({_BAG})",
               _mo_optimizer("bulk_and_cut", "BulkAndCut"), True),
    MethodInfo("moasha", "MOASHA, Schmucker et al. 2021 (Syne Tune, reference row)",
               _lazy("mo_reference", "MOASHAScheduler"), True),
    MethodInfo("mo-rea", "multi-objective regularized evolution (Syne Tune, reference row)",
               _mo_optimizer("mo_reference", "MORegularizedEvolution"), True),
    MethodInfo("motpe", "MOTPE, Ozaki et al. 2020 (Optuna TPESampler, reference row)",
               _mo_optimizer("mo_optuna", "MOTPE"), True),
    MethodInfo("nsga2", "NSGA-II, Deb et al. 2002 (Optuna NSGAIISampler, reference row)",
               _mo_optimizer("mo_optuna", "NSGA2"), True),
)

METHODS: dict[str, MethodInfo] = {
    m.name: m
    for m in (
        MethodInfo("random", "random search, Bergstra & Bengio 2012 (Syne Tune domains, seeded)",
                   _lazy("random_search", "RandomSearchScheduler")),
        MethodInfo("tpe", "TPE, Bergstra et al. 2011 (Optuna TPESampler, constant liar)",
                   _lazy("tpe", "TPEScheduler")),
        MethodInfo("anneal", "annealing, hyperopt, Bergstra et al. 2013 (hyperopt.anneal)",
                   _lazy("anneal", "AnnealScheduler")),
        MethodInfo("blendsearch", "BlendSearch, Wang et al. 2021 (FLAML)",
                   _lazy("blendsearch", "BlendSearchScheduler")),
        MethodInfo("darts", "DARTS, Liu et al. 2019: one full one-shot search per seed (suite's [oneshot])",
                   _lazy("darts", "DartsScheduler")),
        MethodInfo("hyperdarts", "hyperDARTS, Mah 2023: DARTS whose cell weights a hypernetwork of the alphas "
                   "generates (suite's [oneshot] and [hyperdarts])", _lazy("darts", "HyperDartsScheduler")),
        MethodInfo("hyperion", "Hyperion: outer --outer optimiser (default tpe) fused with inner DARTS "
                   "or hyperDARTS (Algorithm 1; suite's [hyperion])", _lazy("hyperion", "HyperionScheduler")),
        *MO_METHODS,
    )
}


def make_scheduler(name: str, *, space: JointSpace, metric: str, seed: int, max_trials: int | None,
                   constants: dict[str, Any], options: dict[str, Any] | None = None) -> TrialScheduler:
    """A fresh scheduler minimising ``metric``; ``constants`` ride along in every config; ``options`` are
    the method's own settings (e.g. Hyperion's outer optimiser and n_init)."""
    if name not in METHODS:
        raise UserError(f"unknown method {name!r}; known methods: {', '.join(sorted(METHODS))}")
    if METHODS[name].multi_objective:
        raise UserError(f"method {name!r} is multi-objective; it needs a suite (make_run_scheduler)")
    return METHODS[name].factory(space=space, metric=metric, seed=seed, max_trials=max_trials,
                                 constants=constants, **(options or {}))


def check_method_options(methods: list[str], options: dict[str, dict[str, str]], suite: Any) -> None:
    """Fail (one line) on an override for a method not in this run, or an unknown/ill-typed key."""
    from hyperion_bench.baselines import resolve_settings

    for method in options:
        if method not in methods:
            raise UserError(f"--method-option: method {method!r} is not among --methods ({', '.join(methods)})")
    for method in methods:
        if method in METHODS:
            resolve_settings(method, suite.raw.get("baselines"), options.get(method), suite.name)


def make_run_scheduler(name: str, *, suite: Any, seed: int, max_trials: int | None, constants: dict[str, Any],
                       options: dict[str, str] | None = None, extra: dict[str, Any] | None = None) -> TrialScheduler:
    """The scheduler the runner uses: single-objective methods minimise ``weighted_sum``; multi-objective
    ones the suite's Pareto metrics, with their published settings and the run's overrides. ``extra`` are a
    single-objective method's own settings (Hyperion's [hyperion] table and --outer)."""
    if name not in METHODS:
        raise UserError(f"unknown method {name!r}; known methods: {', '.join(sorted(METHODS))}")
    info = METHODS[name]
    if not info.multi_objective:
        if options:
            raise UserError(f"--method-option: {name} has no meta-parameters to override")
        return make_scheduler(name, space=suite.space, metric="weighted_sum", seed=seed, max_trials=max_trials,
                              constants=constants, options=extra)
    from hyperion_bench.baselines import resolve_settings

    settings = resolve_settings(name, suite.raw.get("baselines"), options, suite.name)
    return info.factory(suite=suite, seed=seed, max_trials=max_trials, constants=constants, settings=settings)
