"""The fast path for cheap trials: a Syne Tune backend that runs each trial in the tuning process.

Why: a synthetic trial (ZDT) takes microseconds, but a trial through the warm-worker backend costs a
config file, a worker round trip, ``std.out`` parsing and at least one ``sleep_time`` of the Tuner's
loop. :class:`InProcessBackend` runs the trial function synchronously when the Tuner starts it and
hands its reports back on the next ``fetch_status_results``, so the scheduler objects, the Tuner, the
recorder and every result file stay exactly the same; only where the trial body runs changes.
A trial that raises is ``failed`` with its error on ``stderr`` (one ``HB_ERROR:`` line, as a worker
writes it), so the recorder copies it into ``trials.csv``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from syne_tune.backend.trial_backend import TrialBackend
from syne_tune.backend.trial_status import Status, TrialResult
from syne_tune.constants import ST_WORKER_ITER, ST_WORKER_TIME, ST_WORKER_TIMESTAMP

from hyperion_bench.protocol import error_line

TrialFunction = Callable[[dict[str, Any], Callable[..., None]], Any]


class InProcessBackend(TrialBackend):
    """Runs ``trial_fn(config, report)`` inside ``start_trial``; no processes, no files, no sleeping."""

    def __init__(self, trial_fn: TrialFunction):
        super().__init__(delete_checkpoints=False, pass_args_as_json=False)
        self.trial_fn = trial_fn
        self._results: dict[int, list[dict[str, Any]]] = {}
        self._status: dict[int, str] = {}
        self._stderr: dict[int, list[str]] = {}
        self._ended: dict[int, datetime] = {}

    def _schedule(self, trial_id: int, config: dict[str, Any]) -> None:
        results: list[dict[str, Any]] = []
        started = time.time()

        def report(**metrics: Any) -> None:
            now = time.time()
            results.append({**metrics, ST_WORKER_TIMESTAMP: now, ST_WORKER_TIME: now - started,
                            ST_WORKER_ITER: len(results)})

        self._results[trial_id] = results
        try:
            self.trial_fn(config, report)
            self._status[trial_id] = Status.completed
        except Exception as exc:  # every failure becomes a failed trial, never a crashed run
            self._stderr[trial_id] = [error_line(exc) + "\n"]
            self._status[trial_id] = Status.failed
        self._ended[trial_id] = datetime.now()

    def _all_trial_results(self, trial_ids: list[int]) -> list[TrialResult]:
        out = []
        for trial_id in trial_ids:
            trial = self._trial_dict[trial_id]
            out.append(TrialResult(trial_id=trial_id, config=trial.config, creation_time=trial.creation_time,
                                   status=self._status.get(trial_id, Status.in_progress),
                                   metrics=list(self._results.get(trial_id, [])),
                                   training_end_time=self._ended.get(trial_id)))
        return out

    def busy_trial_ids(self) -> list[tuple[int, str]]:
        return [(t, Status.in_progress) for t in self.trial_ids if t not in self._status]

    def _pause_trial(self, trial_id: int, result: dict | None) -> None:
        pass  # a trial has already finished when the scheduler sees it

    def _resume_trial(self, trial_id: int) -> None:
        raise NotImplementedError("in-process trials cannot be resumed")

    def _stop_trial(self, trial_id: int, result: dict | None) -> None:
        pass

    def stdout(self, trial_id: int) -> list[str]:
        return []

    def stderr(self, trial_id: int) -> list[str]:
        return list(self._stderr.get(trial_id, []))

    def entrypoint_path(self) -> Path:
        return Path(__file__)

    def set_entrypoint(self, entry_point: str) -> None:
        pass

    def copy_checkpoint(self, src_trial_id: int, tgt_trial_id: int) -> None:
        pass

    def delete_checkpoint(self, trial_id: int) -> None:
        pass
