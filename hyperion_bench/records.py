"""Writing results so that nothing is lost: every trial's row appended to ``trials.jsonl`` as it ends,
``trials.csv`` derived from the rows.

Why a Syne Tune callback: the Tuner already sees every start, result, completion and failure; the
recorder turns them into one row per trial (config, every metric, status, times, error) plus every
per-epoch report in ``epochs.jsonl``.

Cost per trial is O(1) where it can be: a row is one appended, flushed line of ``trials.jsonl`` (fsync'd
at most every ``FSYNC_EVERY_S``: a killed process loses nothing it wrote, a lost machine at most that
second). ``trials.csv`` is the whole table, so writing it costs O(rows); it is rewritten atomically (temp
file + rename: a reader never sees half of it) after each trial when ``csv_every_s`` is 0, else at most
that often, and always when the run ends. Rewriting it after every trial made a run quadratic (2,000
in-process evaluations: 229 s against 21 s for 500, issue 14); the runner uses ``CSV_EVERY_S``.
"""

from __future__ import annotations

import json
import math
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from syne_tune.backend.trial_status import Status, Trial
from syne_tune.constants import ST_TRIAL_ID, ST_TUNER_TIME
from syne_tune.optimizer.scheduler import SchedulerDecision
from syne_tune.results_callback import StoreResultsCallback
from syne_tune.tuner_callback import TunerCallback

from hyperion_bench.atomic import write_atomic, write_text_atomic
from hyperion_bench.protocol import ERROR_TAG, split_config

TRIALS_FILE = "trials.csv"
TRIALS_LOG = "trials.jsonl"
EPOCHS_FILE = "epochs.jsonl"
CSV_EVERY_S = 2.0  # the runner's trials.csv interval
FSYNC_EVERY_S = 1.0
CONFIG_PREFIX = "config_"
ROW_COLUMNS = ("trial_id", "status", "start_time", "end_time", "start_s", "end_s", "error", "gpus", "budget_epochs")


def write_csv_atomic(frame: pd.DataFrame, path: Path) -> None:
    write_text_atomic(path, frame.to_csv(index=False))


def write_json_atomic(data: dict[str, Any], path: Path) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, default=str))


def json_line(record: dict[str, Any]) -> str:
    """One line of ``trials.jsonl`` / ``epochs.jsonl``. A value JSON cannot hold must not stop the run (the
    recorder is a Tuner callback: an exception there ends the experiment): a numpy or torch value is
    written as its Python number (or list), anything else (a datetime, a path) as its text."""
    return json.dumps(record, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v)) + "\n"


def _clean_metrics(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if not k.startswith("st_")}


def metrics_of_row(row: dict[str, Any]) -> dict[str, Any]:
    """The trial's last report as the recorder received it (Syne Tune's ``st_`` keys aside): a row
    without its own columns and config."""
    return {k: v for k, v in row.items() if k not in ROW_COLUMNS and not k.startswith(CONFIG_PREFIX)}


class TrialRecorder(TunerCallback):
    """Keeps ``trials.csv`` and ``epochs.jsonl`` of one (suite, method, seed) up to date."""

    def __init__(self, folder: Path, on_row: Any = None, csv_every_s: float = 0.0,
                 earlier_rows: dict[int, dict[str, Any]] | None = None, trial_offset: int = 0,
                 time_offset_s: float = 0.0):
        """``earlier_rows`` are the rows of a resumed run's earlier segments (kept in trials.csv);
        this segment's Syne Tune trial ids are shifted by ``trial_offset`` and its times by
        ``time_offset_s`` (the wall-clock the earlier segments used), so ids and times continue."""
        self.folder = Path(folder)
        self.on_row = on_row  # called with each row as it is written (progress.Progress.row)
        self.csv_every_s = csv_every_s
        self._csv_at = -math.inf  # when trials.csv was last written
        self._csv_stale = False
        self._log: Any = None  # trials.jsonl, opened at the first row
        self._fsync_at = -math.inf
        self.rows: dict[int, dict[str, Any]] = dict(earlier_rows or {})
        self.trial_offset, self.time_offset_s = trial_offset, time_offset_s
        self.started: dict[int, tuple[float, datetime, dict[str, Any]]] = {}
        self.last: dict[int, dict[str, Any]] = {}
        self.t0 = time.time() - time_offset_s
        self.tuner: Any = None

    # ---- Syne Tune hooks
    def on_tuning_start(self, tuner: Any) -> None:
        self.tuner = tuner
        self.t0 = time.time() - self.time_offset_s

    def on_start_trial(self, trial: Trial) -> None:
        self.started[trial.trial_id] = (time.time(), datetime.now(), dict(trial.config))

    def on_trial_result(self, trial: Trial, status: str, result: dict[str, Any], decision: str) -> None:
        metrics = _clean_metrics(result)
        self.last[trial.trial_id] = metrics
        with open(self.folder / EPOCHS_FILE, "a") as f:
            f.write(json_line({"trial_id": self.trial_offset + trial.trial_id, "time_s": time.time() - self.t0,
                               **metrics}))
        if decision == SchedulerDecision.STOP and status != Status.completed:
            # Syne Tune's trap: a trial the scheduler stops (MOASHA at a rung) never reaches
            # on_trial_complete. Its evaluation at this many epochs is finished: record it as completed.
            self.record(trial.trial_id, "completed", {**metrics, "scheduler_stopped": True})

    def on_trial_complete(self, trial: Trial, result: dict[str, Any]) -> None:
        self.record(trial.trial_id, "completed", _clean_metrics(result))

    def on_fetch_status_results(self, trial_status_dict: dict, new_results: list) -> None:
        for trial_id, (_trial, status) in trial_status_dict.items():
            if status == Status.failed and self.trial_offset + trial_id not in self.rows:
                self.record(trial_id, "failed", self.last.get(trial_id, {}), error=self._error(trial_id))

    def on_tuning_end(self) -> None:
        # trials still running when the budget ran out: the Tuner kills them right after this
        for trial_id in self.started:
            if self.trial_offset + trial_id not in self.rows:
                self.record(trial_id, "stopped", self.last.get(trial_id, {}), error="stopped: budget exhausted")
        self.flush()

    def flush(self) -> None:
        """trials.csv up to date, the log on disk."""
        if self._csv_stale:
            self._write_csv()
        if self._log is not None:
            self._log.flush()
            os.fsync(self._log.fileno())
            self._log.close()
            self._log = None

    # ---- rows
    def record(self, trial_id: int, status: str, metrics: dict[str, Any], error: str = "") -> None:
        """Write the row of this segment's trial ``trial_id`` (a Syne Tune id; the row's is shifted)."""
        start, start_dt, config = self.started.get(trial_id, (time.time(), datetime.now(), {}))
        row_id = self.trial_offset + trial_id
        params, constants = split_config(config)
        budget = {"budget_epochs": constants["epochs"]} if "epochs" in constants else {}  # multi-fidelity trials
        now = time.time()
        value = metrics.get("weighted_sum")
        if status == "completed" and (value is None or not math.isfinite(float(value))):
            status, error = "failed", error or "non-finite weighted_sum"
        placement = getattr(getattr(self.tuner, "trial_backend", None), "placement", None)
        gpus = placement(trial_id) if placement is not None else ""  # the worker's GPU slot (placement.py)
        self.rows[row_id] = {
            "trial_id": row_id,
            "status": status,
            "start_time": start_dt.isoformat(timespec="seconds"),
            "end_time": datetime.now().isoformat(timespec="seconds"),
            "start_s": round(start - self.t0, 3),
            "end_s": round(now - self.t0, 3),
            "error": error,
            **({"gpus": gpus} if gpus else {}),
            **{f"{CONFIG_PREFIX}{k}": v for k, v in params.items()},
            **budget,
            **metrics,
        }
        self._append(self.rows[row_id])
        self._csv_stale = True
        if time.time() - self._csv_at >= self.csv_every_s:
            self._write_csv()
        if self.on_row is not None:
            self.on_row(self.rows[row_id])

    def _append(self, row: dict[str, Any]) -> None:
        if self._log is None:
            self._log = open(self.folder / TRIALS_LOG, "a")
        self._log.write(json_line(row))
        self._log.flush()  # in the OS's hands: a killed process loses nothing
        now = time.time()
        if now - self._fsync_at >= FSYNC_EVERY_S:
            os.fsync(self._log.fileno())
            self._fsync_at = now

    def _write_csv(self) -> None:
        frame = pd.DataFrame([self.rows[k] for k in sorted(self.rows)])
        write_csv_atomic(frame, self.folder / TRIALS_FILE)
        self._csv_at, self._csv_stale = time.time(), False

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


class SyneTuneResults(StoreResultsCallback):
    """Syne Tune's own ``results.csv.zip`` (what ``syne_tune.experiments.load_experiment`` reads) across
    the segments of a resumed run: the earlier segments' rows are kept, and this segment's trial ids and
    tuner times are shifted so that they continue (Syne Tune's callback would overwrite the file with this
    segment's results alone, numbered from 0 again)."""

    def __init__(self, earlier: pd.DataFrame | None = None, trial_offset: int = 0, time_offset_s: float = 0.0):
        super().__init__()
        self.earlier, self.trial_offset, self.time_offset_s = earlier, trial_offset, time_offset_s

    def store_results(self) -> None:
        """As Syne Tune's, but atomic: its ``to_csv`` writes the zip in place, and a kill in the middle
        left a file that made every later resume crash reading it back (seen in the kill test)."""
        if self.csv_file is not None:
            frame = self.dataframe()
            write_atomic(self.csv_file, lambda f: frame.to_csv(
                f, index=False, compression={"method": "zip", "archive_name": Path(self.csv_file).stem}))

    def dataframe(self) -> pd.DataFrame:
        frame = super().dataframe()
        if not frame.empty:
            frame[ST_TRIAL_ID] = frame[ST_TRIAL_ID] + self.trial_offset
            if ST_TUNER_TIME in frame:
                frame[ST_TUNER_TIME] = frame[ST_TUNER_TIME] + self.time_offset_s
        if self.earlier is None or self.earlier.empty:
            return frame
        return pd.concat([self.earlier, frame], ignore_index=True)
