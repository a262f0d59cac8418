"""A Syne Tune scheduler around any ask/tell optimiser.

Why: Optuna, hyperopt and FLAML each have their own loop; the harness wants one kind of object (a
Syne Tune ``TrialScheduler``) so that the Tuner, the budget and the records are the same for all.
The bookkeeping every scheduler shares (keys, exact trial counts, constants, failures told once) is
:class:`~.keyed_scheduler.KeyedScheduler`'s; this base adds what a single-objective ask/tell optimiser
needs, so each method module only says how to ask and how to tell:

- library values are cleaned back into the domain (hyperopt gives 32.0 for an int, numpy scalars);
- a failed trial, or one whose final metric is missing or not finite, is told as a failure (None).
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from typing import Any

from hyperion_bench.methods.keyed_scheduler import KeyedScheduler, final_value
from hyperion_bench.space import JointSpace

logger = logging.getLogger(__name__)


class AskTellScheduler(KeyedScheduler):
    """Subclasses implement ``ask(key) -> config`` and ``tell(key, value | None)``.

    ``key`` numbers the suggestions 0, 1, 2, ... in the order they were asked; each is told at most
    once. Every scheduler minimises the single metric ``metric``.
    """

    def __init__(self, space: JointSpace, metric: str, seed: int, max_trials: int | None,
                 constants: dict[str, Any]):
        super().__init__(seed=seed, max_trials=max_trials, constants=constants, searched=space.names)
        self.space, self.metric = space, metric

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
    def _next_config(self) -> dict[str, Any] | None:
        return self.finalise(self.ask(self.n_suggested))

    def _told(self, key: int, result: dict[str, Any] | None) -> bool:
        value = None if result is None else final_value(result, self.metric)
        self.tell(key, value)
        return value is None

    def metric_names(self) -> list[str]:
        return [self.metric]

    def metadata(self) -> dict[str, Any]:
        return {**super().metadata(), "metric": self.metric}
