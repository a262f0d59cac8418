"""The bookkeeping every scheduler of the harness shares, once: suggestion keys, trial ids, outstanding
results, exact trial counts, failures told once.

Why: the single-objective base (:class:`~._ask_tell.AskTellScheduler`) and the multi-objective one
(:class:`~._mo_base.MOScheduler`) kept the same state and the same Syne Tune callbacks twice. Both now
say only what differs: how a suggestion is made (``suggest``) and what a finished trial tells the
optimiser (``_told``).

- Suggestions are numbered 0, 1, 2, ... (*keys*) in the order they were made; the Tuner calls
  ``on_trial_add`` right after each ``suggest``, which maps its trial id to the key, so several pending
  trials can finish in any order.
- After ``max_trials`` suggestions nothing more is suggested (Syne Tune's ``max_num_trials_started=N``
  would start N+1).
- A trial ends exactly once: a completion, or an error (told as a failure); a second or unknown one is
  logged and ignored.
- The harness's pass-through constants are merged into each config after the optimiser has spoken, so
  no optimiser ever sees them, and none may shadow a searched parameter.
- Every metric is minimised; only a trial's final report counts (no scheduler of ours stops a trial).
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from typing import Any

from syne_tune.backend.trial_status import Trial
from syne_tune.optimizer.scheduler import SchedulerDecision, TrialScheduler, TrialSuggestion

from hyperion_bench.protocol import final_value

__all__ = ["KeyedScheduler", "final_value"]

logger = logging.getLogger(__name__)


class KeyedScheduler(TrialScheduler):
    def __init__(self, *, seed: int, max_trials: int | None, constants: dict[str, Any], searched: list[str]):
        super().__init__(random_seed=seed)
        shadowed = sorted(set(constants) & set(searched))
        assert not shadowed, f"constants would overwrite searched parameters: {shadowed}"
        assert max_trials is None or max_trials >= 0, max_trials
        self.seed, self.max_trials, self.constants = seed, max_trials, dict(constants)
        self.n_suggested = 0
        self.n_failed = 0
        self._unadded: int | None = None  # the key suggested last, until the Tuner adds its trial
        self._keys: dict[int, int] = {}  # Syne Tune trial id -> our key
        self._pending: set[int] = set()  # keys suggested and not yet told

    @abstractmethod
    def _told(self, key: int, result: dict[str, Any] | None) -> bool:
        """Tell the optimiser how suggestion ``key`` ended: its final report, or None for an error.
        Returns whether the trial counts as failed."""

    def _exhausted(self) -> bool:
        return self.max_trials is not None and self.n_suggested >= self.max_trials

    def _start(self, config: dict[str, Any]) -> TrialSuggestion:
        """Record the next key as suggested and hand the Tuner ``config`` with the constants merged in."""
        key = self.n_suggested
        self.n_suggested += 1
        self._pending.add(key)
        self._unadded = key
        return TrialSuggestion.start_suggestion({**config, **self.constants})

    def on_trial_add(self, trial: Trial) -> None:
        assert self._unadded is not None, f"trial {trial.trial_id} added without a suggestion"
        self._keys[trial.trial_id] = self._unadded
        self._unadded = None

    def on_trial_result(self, trial: Trial, result: dict[str, Any]) -> str:
        return SchedulerDecision.CONTINUE  # only the final value counts, and a trial always runs its epochs

    def on_trial_complete(self, trial: Trial, result: dict[str, Any]) -> None:
        self._finish(trial.trial_id, result)

    def on_trial_error(self, trial: Trial) -> None:
        self._finish(trial.trial_id, None)

    def _finish(self, trial_id: int, result: dict[str, Any] | None) -> None:
        key = self._keys.get(trial_id)
        if key is None or key not in self._pending:  # never added, or told already
            logger.warning("ignoring a second or unknown completion of trial %s", trial_id)
            return
        self._pending.discard(key)
        self.n_failed += self._told(key, result)

    def metric_mode(self) -> str:
        return "min"

    def metadata(self) -> dict[str, Any]:
        """What the Tuner writes to its metadata.json (JSON only: Syne Tune's default dumps ``__dict__``,
        which holds library objects). ``metric_names`` and ``metric_mode`` are what Syne Tune's
        ``load_experiment(...).best_config()`` reads back."""
        return {"scheduler_name": type(self).__name__, "metric_names": self.metric_names(),
                "metric_mode": self.metric_mode(), "seed": self.seed, "max_trials": self.max_trials}
