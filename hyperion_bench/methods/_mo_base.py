"""The multi-objective ask/tell contract, and ONE Syne Tune scheduler that runs any optimiser behind it.

Why: the bag-of-baselines methods (MO-BOHB, SH-EMOA, MS-EHVI, MO-BANANAS, BULK & CUT, random) are
pure decision procedures: "which config next, for how many epochs" and "here is what it scored".
Writing each as a Syne Tune scheduler would repeat the same bookkeeping six times, so each is an
:class:`MOOptimizer` (``ask`` / ``tell``, no Syne Tune in sight, testable on hand-made numbers) and
:class:`MOScheduler` does the rest once:

- objectives are the suite's Pareto metrics (all minimised), told as one vector per trial;
- **multi-fidelity without STOP**: every evaluation, including each rung of successive halving, is a
  new trial trained from scratch for ``MOSuggestion.epochs`` epochs (passed as ``hb_epochs``), as the
  authors' HpBandSter-based code does. A scheduler never stops a trial, so Syne Tune's trap (a
  trial it stops never reaches ``on_trial_complete``) cannot lose a result. Each trial's epochs appear
  in ``trials.csv`` as ``budget_epochs``;
- exact trial counts: after ``max_trials`` suggestions (every rung evaluation counts) it suggests
  nothing more;
- a failed trial (error, missing or non-finite objective) is told once, as ``None``;
- waiting: ``ask`` may return None while results are outstanding; ``ready_to_suggest`` tells the
  harness's Tuner to sleep and ask again (Syne Tune would otherwise read None as "exhausted"). ``ask``
  is then called again with the same key;
- ``MOSuggestion.meta`` values travel to the trial as ``hb_<key>`` constants (JSON values only).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hyperion_bench.history import jsonable
from hyperion_bench.methods.keyed_scheduler import KeyedScheduler, final_value
from hyperion_bench.problems import problem_of
from hyperion_bench.protocol import EPOCHS_KEY, PREFIX, key
from hyperion_bench.space import JointSpace
from hyperion_bench.suites import Suite

__all__ = ["EPOCHS_KEY", "MOContext", "MOOptimizer", "MOScheduler", "MOSuggestion", "objective_vector"]

logger = logging.getLogger(__name__)



@dataclass(frozen=True)
class MOSuggestion:
    config: dict[str, Any]  # a full config of space.flat
    epochs: int | None  # fidelity (None = the suite/config default); the trial trains from scratch for this many
    meta: dict[str, Any] = field(default_factory=dict)  # extra per-trial constants; reach the trial as hb_<key>


@dataclass
class MOContext:
    """What an optimiser may know about the problem beyond the space: objective names, the reference
    point, the trial and wall-clock budgets, the data's shape, the objectives computable without
    training, and the (method, seed)'s result folder (for methods that keep files, e.g. checkpoints)."""

    objective_names: list[str]
    reference_point: list[float]
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
                  wallclock_s: float | None = None, folder: str | None = None) -> MOContext:
        problem = problem_of(suite)
        shape = problem.data_shape(data_dir)
        objectives = suite.objectives
        return cls(objective_names=list(objectives.pareto), reference_point=list(objectives.reference_point),
                   max_trials=max_trials, in_shape=shape[0] if shape else None, n_classes=shape[1] if shape else None,
                   cheap=problem.cheap_objectives(shape), suite=suite, wallclock_s=wallclock_s, folder=folder)


class MOOptimizer(ABC):
    """A multi-objective optimiser: ``ask(key)`` for suggestion ``key`` (0, 1, 2, ...), ``tell`` its
    objective vector (minimised, in ``context.objective_names`` order) or None for a failed trial.
    Several keys may be outstanding at once (parallel workers); tells come in any order.

    A resumed run replays the history into a fresh optimiser (:meth:`KeyedScheduler.replay`): an
    optimiser whose tells have effects outside itself (files) sets ``cannot_replay`` to say why not."""

    cannot_replay: str = ""

    def __init__(self, space: JointSpace, n_objectives: int, seed: int, min_epochs: int, max_epochs: int,
                 settings: dict[str, Any], context: MOContext):
        assert 1 <= min_epochs <= max_epochs, (min_epochs, max_epochs)
        self.space, self.n_objectives, self.seed = space, n_objectives, seed
        self.min_epochs, self.max_epochs = min_epochs, max_epochs
        self.settings, self.context = dict(settings), context
        self.rng = np.random.default_rng(seed)

    @abstractmethod
    def ask(self, key: int) -> MOSuggestion | None:
        """The next suggestion, or None = nothing to propose until an outstanding result is told."""

    @abstractmethod
    def tell(self, key: int, objectives: np.ndarray | None, result: dict[str, Any]) -> None:
        """Suggestion ``key``'s objective vector (or None: failed) and the trial's last report."""

    def metadata(self) -> dict[str, Any]:
        """JSON-serialisable facts worth keeping in the run's metadata (override to add)."""
        return {}


def objective_vector(result: dict[str, Any], names: list[str]) -> np.ndarray | None:
    """The result's objectives as floats, or None when one is missing or not finite."""
    values = [final_value(result, name) for name in names]
    return None if any(v is None for v in values) else np.array(values, dtype=float)


class MOScheduler(KeyedScheduler):
    """Runs an :class:`MOOptimizer` as a Syne Tune scheduler over a suite (see the module docstring)."""

    def __init__(self, optimizer_cls: type[MOOptimizer], *, suite: Suite, seed: int, max_trials: int | None,
                 constants: dict[str, Any], settings: dict[str, Any], context: MOContext | None = None):
        super().__init__(seed=seed, max_trials=max_trials, constants=constants, searched=suite.space.names)
        self.suite, self.space = suite, suite.space
        self.settings = dict(settings)
        self.names = list(suite.objectives.pareto)
        if context is None:
            context = MOContext.for_suite(suite, max_trials, constants.get(key("data_dir")) or None,
                                          wallclock_s=constants.get(key("wallclock_s")) or None,
                                          folder=constants.get(key("folder")) or None)
        self.optimizer = optimizer_cls(space=suite.space, n_objectives=len(self.names), seed=seed,
                                       min_epochs=suite.min_epochs, max_epochs=suite.max_epochs,
                                       settings=self.settings, context=context)
        self._next: MOSuggestion | None = None  # asked ahead by ready_to_suggest

    # ---- the harness's Tuner asks this before suggest (tuner.HarnessTuner)
    def ready_to_suggest(self) -> bool:
        if self._rerun or self._exhausted() or self._next is not None:
            return True
        self._next = self.optimizer.ask(self.n_suggested)
        return self._next is not None or not self._pending

    # ---- what KeyedScheduler.suggest hands the Tuner
    def _next_config(self) -> dict[str, Any] | None:
        suggestion, self._next = self._next, None
        if suggestion is None:
            suggestion = self.optimizer.ask(self.n_suggested)
        if suggestion is None:
            if self._pending:
                logger.warning("%s waits for results, but this Tuner cannot wait: it ends the run",
                               type(self.optimizer).__name__)
            return None
        config = self.space.clean(suggestion.config)
        self.space.validate(config)
        extra = {f"{PREFIX}{k}": v for k, v in suggestion.meta.items()}
        if suggestion.epochs is not None:
            epochs = int(suggestion.epochs)
            assert self.suite.min_epochs <= epochs <= self.suite.max_epochs, epochs
            extra[EPOCHS_KEY] = epochs
        clash = sorted(set(extra) & set(self.constants))
        assert not clash, f"suggestion meta would overwrite harness constants: {clash}"
        return {**config, **extra}

    def _cannot_replay(self) -> str:
        return self.optimizer.cannot_replay

    def _told(self, key: int, result: dict[str, Any] | None) -> bool:
        objectives = None if result is None else objective_vector(result, self.names)
        self.optimizer.tell(key, objectives, dict(result or {}))
        return objectives is None

    def metric_names(self) -> list[str]:
        return list(self.names)

    def metadata(self) -> dict[str, Any]:
        return {**super().metadata(), "optimizer": type(self.optimizer).__name__, "metrics": self.names,
                "settings": jsonable(self.settings), "optimizer_state": jsonable(self.optimizer.metadata())}

