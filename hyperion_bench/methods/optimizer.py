"""The optimiser protocol every method implements, single- and multi-objective alike.

Why one protocol: a method is a decision procedure, "which config next, for how many epochs" and "here
is what it scored". Written against it, a method has no Syne Tune in sight (it is testable on hand-made
numbers), and one scheduler (:class:`~hyperion_bench.methods.scheduler.OptimizerScheduler`) does the
bookkeeping for all of them: keys, trial counts, failures, waiting, history and replay. Optuna's one
``Study`` serves any number of directions the same way. Until issue 19 the single-objective methods were
Syne Tune schedulers of their own and the multi-objective ones optimisers behind a second base; Optuna
was wrapped twice, and Hyperion's learners were whole schedulers built with dummy arguments.

- ``ask(key)`` returns the :class:`Suggestion` for suggestion ``key`` (0, 1, 2, ...) or None: nothing
  to propose until an outstanding result is told (the scheduler waits), or nothing more at all.
- ``tell(key, values, result)``: the trial's objective vector (minimised, ``n_objectives`` long, in
  ``context.objective_names`` order) or None for a failed trial, and its last report. Several keys may
  be outstanding at once (parallel workers); tells come in any order.
- ``observe(config, values)``: a result for a config the optimiser did not propose (Hyperion's random
  initial trials feed its learners this way, Algorithm 1). Optional.
- The scheduler replays a resumed run's history into a fresh optimiser made with the same seed; one
  whose tells act outside itself (files) sets ``cannot_replay`` to say why it cannot be.

Single-objective methods minimise the suite's weighted sum: ``n_objectives == 1`` and ``values[0]``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hyperion_bench.problems import problem_of
from hyperion_bench.protocol import final_value
from hyperion_bench.space import JointSpace
from hyperion_bench.suites import Suite

__all__ = ["Context", "Optimizer", "Suggestion", "objective_vector", "value_of"]


@dataclass(frozen=True)
class Suggestion:
    config: dict[str, Any]  # a config of the optimiser's space (see Optimizer.finalise)
    epochs: int | None = None  # fidelity (None = the suite/config default); the trial trains from scratch for this many
    meta: dict[str, Any] = field(default_factory=dict)  # extra per-trial constants; reach the trial as hb_<key>


@dataclass
class Context:
    """What an optimiser may know about the problem beyond the space: objective names, the reference
    point, the trial and wall-clock budgets, the data's shape, the objectives computable without
    training, and the (method, seed)'s result folder (for methods that keep files, e.g. checkpoints)."""

    objective_names: list[str] = field(default_factory=lambda: ["weighted_sum"])
    reference_point: list[float] = field(default_factory=list)
    max_trials: int | None = None
    in_shape: tuple[int, ...] | None = None
    n_classes: int | None = None
    cheap: Callable[[dict[str, Any]], dict[str, float] | None] | None = None
    suite: Suite | None = None  # optional: tests build contexts without one
    wallclock_s: float | None = None  # the (method, seed)'s wall-clock budget, when it has one
    folder: str | None = None  # the (method, seed)'s result folder, when the runner runs it

    def cheap_objectives(self, config: dict[str, Any]) -> dict[str, float] | None:
        """The objectives (by name, a subset of ``objective_names``) known exactly from ``config``
        without training (model size; ZDT's f1 = x0), or None when there are none."""
        if self.cheap is None:
            return None
        values = self.cheap(config)
        if not values:
            return None
        values = {k: float(v) for k, v in values.items() if k in self.objective_names}
        return values or None

    @classmethod
    def for_suite(cls, suite: Suite, max_trials: int | None = None, data_dir: str | None = None,
                  wallclock_s: float | None = None, folder: str | None = None,
                  objective_names: list[str] | None = None) -> Context:
        """The context of a run on ``suite``; the objectives are its Pareto metrics unless named."""
        problem = problem_of(suite)
        shape = problem.data_shape(data_dir)
        names = list(suite.objectives.pareto) if objective_names is None else list(objective_names)
        return cls(objective_names=names, reference_point=list(suite.objectives.reference_point),
                   max_trials=max_trials, in_shape=shape[0] if shape else None, n_classes=shape[1] if shape else None,
                   cheap=problem.cheap_objectives(shape), suite=suite, wallclock_s=wallclock_s, folder=folder)


class Optimizer(ABC):
    """See the module docstring. ``settings`` are the method's meta-parameters (``baselines/<method>.toml``
    with the suite's and the command line's overrides, or a single-objective method's options)."""

    cannot_replay: str = ""

    def __init__(self, space: JointSpace, n_objectives: int = 1, seed: int = 0, min_epochs: int = 1,
                 max_epochs: int = 1, settings: dict[str, Any] | None = None, context: Context | None = None):
        assert 1 <= min_epochs <= max_epochs, (min_epochs, max_epochs)
        assert n_objectives >= 1, n_objectives
        self.space, self.n_objectives, self.seed = space, n_objectives, seed
        self.min_epochs, self.max_epochs = min_epochs, max_epochs
        self.settings = dict(settings or {})
        self.context = context if context is not None else Context()
        self.rng = np.random.default_rng(seed)

    @abstractmethod
    def ask(self, key: int) -> Suggestion | None:
        """The next suggestion, or None = nothing to propose until an outstanding result is told."""

    @abstractmethod
    def tell(self, key: int, values: np.ndarray | None, result: dict[str, Any]) -> None:
        """Suggestion ``key``'s objective vector (or None: failed) and the trial's last report."""

    def observe(self, config: dict[str, Any], values: np.ndarray | None) -> None:
        """Learn from a config this optimiser did not propose (``values`` None: a failed trial)."""
        raise NotImplementedError(f"{type(self).__name__} cannot learn from configs it did not propose")

    def finalise(self, config: dict[str, Any]) -> dict[str, Any]:
        """A suggested config as the trial gets it: library values cleaned back into the domain (hyperopt
        gives 32.0 for an int, numpy scalars) and checked. Methods whose configs are not plain points of
        the flat space (one-shot and fused methods hand parameters to the inner loop) override this."""
        config = self.space.clean(config)
        self.space.validate(config)
        return config

    def metadata(self) -> dict[str, Any]:
        """JSON-serialisable facts worth keeping in the run's metadata (override to add)."""
        return {}


def value_of(values: np.ndarray | None) -> float | None:
    """A single-objective method's value: the one entry of ``values``, or None for a failed trial."""
    return None if values is None else float(values[0])


def objective_vector(result: dict[str, Any], names: list[str]) -> np.ndarray | None:
    """The result's objectives as floats, or None when one is missing or not finite."""
    values = [final_value(result, name) for name in names]
    return None if any(v is None for v in values) else np.array(values, dtype=float)
