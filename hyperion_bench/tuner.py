"""The Tuner every run uses: Syne Tune's, with one change.

Why: a scheduler may say that it is waiting for results (``ready_to_suggest() is False``, e.g. a
synchronous successive-halving rung that is not complete). Syne Tune 0.16 treats a ``None`` suggestion
as "configuration space exhausted" and never asks again, which would end a synchronous method early;
here the Tuner sleeps and asks again later. The runner (:mod:`hyperion_bench.runner`) drives every
(method, seed) with it, whichever backend runs the trials.
"""

from __future__ import annotations

from typing import Any

from syne_tune import Tuner


class _WaitForResults(Exception):
    pass


class HarnessTuner(Tuner):
    """Syne Tune's Tuner, plus "the scheduler is waiting for results": sleep and ask again later."""

    def _schedule_new_tasks(self, running_trials_ids: set[int]) -> None:
        try:
            super()._schedule_new_tasks(running_trials_ids)
        except _WaitForResults:
            self._sleep()

    def _schedule_new_task(self) -> Any:
        ready = getattr(self.scheduler, "ready_to_suggest", None)
        if ready is not None and not ready():
            raise _WaitForResults
        return super()._schedule_new_task()
