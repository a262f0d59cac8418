"""A Syne Tune scheduler around any ask/tell optimiser.

Why: Optuna, hyperopt and FLAML each have their own loop; the harness wants one kind of object (a
Syne Tune ``TrialScheduler``) so that the Tuner, the budget and the records are the same for all.
This base does the common parts once, so each method module only says how to ask and how to tell:

- exact trial counts: ``suggest`` returns None after ``max_trials`` suggestions, which makes the
  Tuner finish once running trials end (Syne Tune's ``max_num_trials_started=N`` starts N+1);
- the harness's pass-through constants (suite path, seed, device, ...) are merged into each config
  after the optimiser has spoken, so no optimiser ever sees them;
- library values are cleaned back into the domain (hyperopt gives 32.0 for an int, numpy scalars);
- Syne Tune trial ids are mapped to our own suggestion keys (the Tuner calls ``on_trial_add`` right
  after each ``suggest``), so several pending trials can finish in any order;
- a failed trial, or one whose final metric is missing or not finite, is told as a failure (None),
  exactly once, and the run goes on.
"""

from __future__ import annotations

import logging
import math
from abc import abstractmethod
from typing import Any

from syne_tune.backend.trial_status import Trial
from syne_tune.optimizer.scheduler import SchedulerDecision, TrialScheduler, TrialSuggestion

from hyperion_bench.space import JointSpace

logger = logging.getLogger(__name__)


def final_value(result: dict[str, Any], metric: str) -> float | None:
    """``result[metric]`` as a float, or None when it is missing, not a number, or not finite."""
    value = result.get(metric)
    if value is None or isinstance(value, bool):
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


class AskTellScheduler(TrialScheduler):
    """Subclasses implement ``ask(key) -> config`` and ``tell(key, value | None)``.

    ``key`` numbers the suggestions 0, 1, 2, ... in the order they were asked; each is told at most
    once. Every scheduler minimises the single metric ``metric``.
    """

    def __init__(self, space: JointSpace, metric: str, seed: int, max_trials: int | None,
                 constants: dict[str, Any]):
        super().__init__(random_seed=seed)
        shadowed = sorted(set(constants) & set(space.names))
        assert not shadowed, f"constants would overwrite searched parameters: {shadowed}"
        assert max_trials is None or max_trials >= 0, max_trials
        self.space, self.metric, self.seed = space, metric, seed
        self.max_trials, self.constants = max_trials, dict(constants)
        self.n_suggested = 0
        self.n_failed = 0
        self._unadded: int | None = None  # the key suggested last, until the Tuner adds its trial
        self._keys: dict[int, int] = {}  # Syne Tune trial id -> our key
        self._pending: set[int] = set()  # keys asked and not yet told

    # ---- what each optimiser provides
    @abstractmethod
    def ask(self, key: int) -> dict[str, Any] | None:
        """A config of ``space.flat`` for suggestion ``key`` (raw library values; cleaned here), or None
        when the method has nothing more to try."""

    @abstractmethod
    def tell(self, key: int, value: float | None) -> None:
        """Suggestion ``key``'s final metric (to minimise), or None for a failed trial."""

    def observe(self, config: dict[str, Any], value: float | None) -> None:
        """Learn from a config this optimiser did not propose (Hyperion's random initial trials feed
        every component this way, Algorithm 1). ``value`` None is a failed trial."""
        raise NotImplementedError(f"{type(self).__name__} cannot learn from configs it did not propose")

    def finalise(self, config: dict[str, Any] | None) -> dict[str, Any] | None:
        """Library values -> a valid config of ``space.flat``. Methods whose configs are not plain points
        of the flat space (one-shot and fused methods hand parameters to the inner loop) override this."""
        if config is None:
            return None
        config = self.space.clean(config)
        self.space.validate(config)
        return config

    # ---- Syne Tune's scheduler interface
    def suggest(self) -> TrialSuggestion | None:
        if self.max_trials is not None and self.n_suggested >= self.max_trials:
            return None
        key = self.n_suggested
        config = self.finalise(self.ask(key))
        if config is None:
            return None
        self.n_suggested += 1
        self._pending.add(key)
        self._unadded = key
        return TrialSuggestion.start_suggestion({**config, **self.constants})

    def on_trial_add(self, trial: Trial) -> None:
        assert self._unadded is not None, f"trial {trial.trial_id} added without a suggestion"
        self._keys[trial.trial_id] = self._unadded
        self._unadded = None

    def on_trial_result(self, trial: Trial, result: dict[str, Any]) -> str:
        return SchedulerDecision.CONTINUE  # single fidelity: only the final value counts

    def on_trial_complete(self, trial: Trial, result: dict[str, Any]) -> None:
        self._finish(trial.trial_id, final_value(result, self.metric))

    def on_trial_error(self, trial: Trial) -> None:
        self._finish(trial.trial_id, None)

    def _finish(self, trial_id: int, value: float | None) -> None:
        key = self._keys.get(trial_id)
        if key is None or key not in self._pending:  # never added, or told already
            logger.warning("ignoring a second or unknown completion of trial %s", trial_id)
            return
        self._pending.discard(key)
        self.n_failed += value is None
        self.tell(key, value)

    def metric_names(self) -> list[str]:
        return [self.metric]

    def metric_mode(self) -> str:
        return "min"

    def metadata(self) -> dict[str, Any]:
        """What the Tuner writes to its metadata.json. Syne Tune's default dumps ``__dict__``,
        which holds library objects that are not JSON."""
        return {"scheduler_name": type(self).__name__, "metric": self.metric, "seed": self.seed,
                "max_trials": self.max_trials}
