"""Writing results so that nothing is lost: ``trials.csv`` rewritten atomically as each trial ends.

Why a Syne Tune callback: the Tuner already sees every start, result, completion and failure; the
recorder turns them into one row per trial (config, every metric, status, times, error) plus every
per-epoch report in ``epochs.jsonl``. ``trials.csv`` is written to a temporary file and renamed, so a
killed run leaves the last complete version, never a half-written one.
"""

from __future__ import annotations

import json
import math
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from syne_tune.backend.trial_status import Status, Trial
from syne_tune.optimizer.scheduler import SchedulerDecision
from syne_tune.tuner_callback import TunerCallback

from hyperion_bench.atomic import write_text_atomic
from hyperion_bench.protocol import ERROR_TAG, split_config

TRIALS_FILE = "trials.csv"
EPOCHS_FILE = "epochs.jsonl"
CONFIG_PREFIX = "config_"


def write_csv_atomic(frame: pd.DataFrame, path: Path) -> None:
    write_text_atomic(path, frame.to_csv(index=False))


def write_json_atomic(data: dict[str, Any], path: Path) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, default=str))


def _clean_metrics(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if not k.startswith("st_")}


class TrialRecorder(TunerCallback):
    """Keeps ``trials.csv`` and ``epochs.jsonl`` of one (suite, method, seed) up to date."""

    def __init__(self, folder: Path, on_row: Any = None):
        self.folder = Path(folder)
        self.on_row = on_row  # called with each row as it is written (progress.Progress.row)
        self.rows: dict[int, dict[str, Any]] = {}
        self.started: dict[int, tuple[float, datetime, dict[str, Any]]] = {}
        self.last: dict[int, dict[str, Any]] = {}
        self.t0 = time.time()
        self.tuner: Any = None

    # ---- Syne Tune hooks
    def on_tuning_start(self, tuner: Any) -> None:
        self.tuner = tuner
        self.t0 = time.time()

    def on_start_trial(self, trial: Trial) -> None:
        self.started[trial.trial_id] = (time.time(), datetime.now(), dict(trial.config))

    def on_trial_result(self, trial: Trial, status: str, result: dict[str, Any], decision: str) -> None:
        metrics = _clean_metrics(result)
        self.last[trial.trial_id] = metrics
        with open(self.folder / EPOCHS_FILE, "a") as f:
            f.write(json.dumps({"trial_id": trial.trial_id, "time_s": time.time() - self.t0, **metrics}) + "\n")
        if decision == SchedulerDecision.STOP and status != Status.completed:
            # Syne Tune's trap: a trial the scheduler stops (MOASHA at a rung) never reaches
            # on_trial_complete. Its evaluation at this many epochs is finished: record it as completed.
            self.record(trial.trial_id, "completed", {**metrics, "scheduler_stopped": True})

    def on_trial_complete(self, trial: Trial, result: dict[str, Any]) -> None:
        self.record(trial.trial_id, "completed", _clean_metrics(result))

    def on_fetch_status_results(self, trial_status_dict: dict, new_results: list) -> None:
        for trial_id, (_trial, status) in trial_status_dict.items():
            if status == Status.failed and trial_id not in self.rows:
                self.record(trial_id, "failed", self.last.get(trial_id, {}), error=self._error(trial_id))

    def on_tuning_end(self) -> None:
        # trials still running when the budget ran out: the Tuner kills them right after this
        for trial_id in self.started:
            if trial_id not in self.rows:
                self.record(trial_id, "stopped", self.last.get(trial_id, {}), error="stopped: budget exhausted")

    # ---- rows
    def record(self, trial_id: int, status: str, metrics: dict[str, Any], error: str = "") -> None:
        start, start_dt, config = self.started.get(trial_id, (time.time(), datetime.now(), {}))
        params, constants = split_config(config)
        budget = {"budget_epochs": constants["epochs"]} if "epochs" in constants else {}  # multi-fidelity trials
        now = time.time()
        value = metrics.get("weighted_sum")
        if status == "completed" and (value is None or not math.isfinite(float(value))):
            status, error = "failed", error or "non-finite weighted_sum"
        self.rows[trial_id] = {
            "trial_id": trial_id,
            "status": status,
            "start_time": start_dt.isoformat(timespec="seconds"),
            "end_time": datetime.now().isoformat(timespec="seconds"),
            "start_s": round(start - self.t0, 3),
            "end_s": round(now - self.t0, 3),
            "error": error,
            **{f"{CONFIG_PREFIX}{k}": v for k, v in params.items()},
            **budget,
            **metrics,
        }
        frame = pd.DataFrame([self.rows[k] for k in sorted(self.rows)])
        write_csv_atomic(frame, self.folder / TRIALS_FILE)
        if self.on_row is not None:
            self.on_row(self.rows[trial_id])

    def _error(self, trial_id: int) -> str:
        try:
            lines = self.tuner.trial_backend.stderr(trial_id)
        except (OSError, AttributeError):
            return "failed (no stderr)"
        tagged = [ln.strip()[len(ERROR_TAG):].strip() for ln in lines if ln.startswith(ERROR_TAG)]
        if tagged:
            return tagged[-1]
        tail = [ln.strip() for ln in lines if ln.strip()]
        return tail[-1] if tail else "worker died without a message (killed, or out of memory?)"
