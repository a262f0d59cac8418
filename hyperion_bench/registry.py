"""The methods the harness knows: name, one line, and where the code is. Data only.

Why a module of its own, at the bottom of the import graph: the suite parser validates a suite's
``[baselines.<method>]`` tables, the command line and study files validate method names and Hyperion's
outer kinds, and each needs the list of methods without importing the methods themselves (which import
suites, the networks, Optuna, botorch, ...). The registry used to hold factories inside
``hyperion_bench.methods``, which made suites -> baselines -> methods -> ... -> suites an import cycle
hidden by imports inside functions. Here an entry names its module and class;
:func:`hyperion_bench.methods.method_class` imports them when a run needs them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MethodInfo:
    name: str
    description: str  # one line: the library and the paper
    module: str  # hyperion_bench/methods/<module>.py
    cls: str  # an Optimizer there (methods/optimizer.py), or a Syne Tune TrialScheduler (moasha)
    multi_objective: bool = False
    scheduler: bool = False  # cls is a Syne Tune TrialScheduler of its own, not an Optimizer (moasha)
    learner: bool = False  # usable as Hyperion's outer optimiser (--outer): learns from configs it did not propose


_BAG = "bag of baselines, Guerrero-Viu et al. 2021"

METHODS: dict[str, MethodInfo] = {
    m.name: m
    for m in (
        MethodInfo("random", "random search, Bergstra & Bengio 2012 (Syne Tune domains, seeded)",
                   "random_search", "RandomSearch", learner=True),
        MethodInfo("tpe", "TPE, Bergstra et al. 2011 (Optuna TPESampler, constant liar)", "tpe", "TPE",
                   learner=True),
        MethodInfo("anneal", "annealing, hyperopt, Bergstra et al. 2013 (hyperopt.anneal)", "anneal",
                   "Anneal", learner=True),
        MethodInfo("blendsearch", "BlendSearch, Wang et al. 2021 (FLAML)", "blendsearch", "BlendSearch",
                   learner=True),
        MethodInfo("darts", "DARTS, Liu et al. 2019: one full one-shot search per seed (suite's [oneshot])",
                   "darts", "Darts"),
        MethodInfo("hyperdarts", "hyperDARTS, Mah 2023: DARTS whose cell weights a hypernetwork of the alphas "
                   "generates (suite's [oneshot] and [hyperdarts])", "darts", "HyperDarts"),
        MethodInfo("hyperion", "Hyperion: outer --outer optimiser (default tpe) fused with inner DARTS "
                   "or hyperDARTS (Algorithm 1; suite's [hyperion])", "hyperion", "Hyperion"),
        MethodInfo("mo-random", f"multi-objective random search ({_BAG})", "random_search", "RandomSearch", True),
        MethodInfo("mo-bohb", f"MO-BOHB: BOHB with MOTPE KDEs, NDS + HV promotion ({_BAG})", "mo_bohb", "MOBOHB",
                   True),
        MethodInfo("sh-emoa", f"SH-EMOA: steady-state (mu+1) EMOA with successive halving ({_BAG})", "sh_emoa",
                   "SHEMOA", True),
        MethodInfo("ms-ehvi", f"MS-EHVI: qEHVI (botorch) with the cheap objective exact ({_BAG})", "ms_ehvi",
                   "MSEHVI", True),
        MethodInfo("mo-bananas", f"MO-BANANAS: neural predictor ensemble, Thompson sampling, SH ({_BAG})",
                   "mo_bananas", "MOBananas", True),
        MethodInfo("bulk-and-cut", f"BULK & CUT: network morphisms, pruning + distillation, BO ({_BAG})",
                   "bulk_and_cut", "BulkAndCut", True),
        MethodInfo("moasha", "MOASHA, Schmucker et al. 2021 (Syne Tune, reference row)", "mo_reference",
                   "MOASHAScheduler", True,
                   scheduler=True),
        MethodInfo("mo-rea", "multi-objective regularized evolution (Syne Tune, reference row)", "mo_reference",
                   "MORegularizedEvolution", True),
        MethodInfo("motpe", "MOTPE, Ozaki et al. 2020 (Optuna TPESampler, reference row)", "mo_optuna", "MOTPE",
                   True),
        MethodInfo("nsga2", "NSGA-II, Deb et al. 2002 (Optuna NSGAIISampler, reference row)", "mo_optuna", "NSGA2",
                   True),
    )
}


# The one-shot optimisers a trial's inner loop can run (oneshot.py; a config's "inner_optimizer";
# Hyperion's "inner" setting).
INNER_OPTIMIZERS = ("darts", "hyperdarts")
# The methods whose trials run that inner loop: the inner optimisers standalone, and Hyperion inside
# (their --method-option darts.KEY / hyperdarts.KEY set the loop of every searching trial of a run).
SEARCHING_METHODS = (*INNER_OPTIMIZERS, "hyperion")


def outer_kinds() -> tuple[str, ...]:
    """The methods Hyperion can use as its outer optimiser (``--outer``, a study's ``outer``)."""
    return tuple(name for name, info in METHODS.items() if info.learner)
