"""A Syne Tune scheduler around any ask/tell optimiser.

Why: Optuna, hyperopt and FLAML each have their own loop; the harness wants one kind of object (a
Syne Tune ``TrialScheduler``) so that the Tuner, the budget and the records are the same for all.
This base does the common parts once: exact trial counts (``suggest`` returns None after
``max_trials``, which makes the Tuner finish once running trials end; Syne Tune's own
``max_num_trials_started=N`` would start N+1), merging the harness's pass-through constants into each
config, cleaning library values back into the domain, and treating failed or non-finite trials as
failures for the optimiser.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import Any

from syne_tune.backend.trial_status import Trial
from syne_tune.optimizer.scheduler import SchedulerDecision, TrialScheduler, TrialSuggestion

from hyperion_bench.space import JointSpace


class AskTellScheduler(TrialScheduler):
    """Subclasses implement ``ask(trial_id) -> config`` and ``tell(trial_id, value | None)``."""

    def __init__(self, space: JointSpace, metric: str, seed: int, max_trials: int | None,
                 constants: dict[str, Any]):
        super().__init__(random_seed=seed)
        self.space, self.metric, self.seed = space, metric, seed
        self.max_trials, self.constants = max_trials, dict(constants)
        self.n_suggested = 0
        self.pending: set[int] = set()  # keys asked and not yet told
        self.keys: dict[int, int] = {}  # Syne Tune trial id -> our key (the suggestion's index)

    # ---- what each optimiser provides
    @abstractmethod
    def ask(self, key: int) -> dict[str, Any]:
        """A config of ``space.flat`` for suggestion number ``key`` (raw values are cleaned here)."""

    @abstractmethod
    def tell(self, key: int, value: float | None) -> None:
        """Suggestion ``key``'s final metric, or None for a failed trial."""

    # ---- Syne Tune's scheduler interface
    def suggest(self) -> TrialSuggestion | None:
        if self.max_trials is not None and self.n_suggested >= self.max_trials:
            return None
        key = self.n_suggested
        config = self.space.clean(self.ask(key))
        self.space.validate(config)
        self.n_suggested += 1
        self.pending.add(key)
        return TrialSuggestion.start_suggestion({**config, **self.constants})

    def on_trial_add(self, trial: Trial) -> None:
        self.keys[trial.trial_id] = self.n_suggested - 1  # the Tuner starts each suggestion at once

    def on_trial_result(self, trial: Trial, result: dict[str, Any]) -> str:
        return SchedulerDecision.CONTINUE

    def on_trial_complete(self, trial: Trial, result: dict[str, Any]) -> None:
        value = result.get(self.metric)
        ok = value is not None and math.isfinite(float(value))
        self._finish(trial.trial_id, float(value) if ok else None)

    def on_trial_error(self, trial: Trial) -> None:
        self._finish(trial.trial_id, None)

    def _finish(self, trial_id: int, value: float | None) -> None:
        key = self.keys.get(trial_id, trial_id)
        if key in self.pending:
            self.pending.discard(key)
            self.tell(key, value)

    def metric_names(self) -> list[str]:
        return [self.metric]

    def metric_mode(self) -> str:
        return "min"

    def metadata(self) -> dict[str, Any]:  # Syne Tune's default dumps __dict__, which holds library objects
        return {"scheduler_name": type(self).__name__, "metric": self.metric, "seed": self.seed,
                "max_trials": self.max_trials}
