"""The recorder: one row per trial, failures with their error, atomic rewrites, report aggregation."""

from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from syne_tune.backend.trial_status import Status, Trial

from hyperion_bench.records import EPOCHS_FILE, TRIALS_FILE, TrialRecorder, write_csv_atomic
from hyperion_bench.report import load_trials, render, summary_table
from hyperion_bench.trial import ERROR_TAG


class FakeBackend:
    def __init__(self, lines):
        self.lines = lines
        self.asked = []

    def stderr(self, trial_id):
        self.asked.append(trial_id)
        return self.lines


class FakeTuner:
    def __init__(self, lines):
        self.trial_backend = FakeBackend(lines)


def trial(i: int) -> Trial:
    config = {"lr": 0.1 * (i + 1), "hb_seed": 0, "hb_suite": "x.toml"}
    return Trial(trial_id=i, config=config, creation_time=datetime.now())


def result(ws: float, epoch: int = 1) -> dict:
    return {"epoch": epoch, "val_error": ws, "weighted_sum": ws, "n_params": 10, "st_worker_time": 1.0}


def test_rows_for_completed_failed_and_stopped_trials(tmp_path):
    rec = TrialRecorder(tmp_path)
    rec.on_tuning_start(FakeTuner(["Traceback ...\n", f"{ERROR_TAG} TrialDiverged: training loss became nan\n"]))
    for i in range(3):
        rec.on_start_trial(trial(i))
    rec.on_trial_result(trial(0), Status.in_progress, result(0.5, 1), "CONTINUE")
    rec.on_trial_result(trial(0), Status.in_progress, result(0.3, 2), "CONTINUE")
    rec.on_trial_complete(trial(0), result(0.3, 2))
    rec.on_fetch_status_results({1: (trial(1), Status.failed)}, [])
    rec.on_tuning_end()
    frame = pd.read_csv(tmp_path / TRIALS_FILE)
    assert list(frame["status"]) == ["completed", "failed", "stopped"]
    assert frame.loc[0, "weighted_sum"] == 0.3 and frame.loc[0, "config_lr"] == pytest.approx(0.1)
    assert "config_hb_seed" not in frame.columns and "st_worker_time" not in frame.columns
    assert frame.loc[1, "error"] == "TrialDiverged: training loss became nan"
    assert frame.loc[2, "error"].startswith("stopped")
    assert len((tmp_path / EPOCHS_FILE).read_text().splitlines()) == 2


def test_completed_with_nan_objective_is_a_failure(tmp_path):
    rec = TrialRecorder(tmp_path)
    rec.on_tuning_start(FakeTuner([]))
    rec.on_start_trial(trial(0))
    rec.on_trial_complete(trial(0), result(float("nan")))
    assert pd.read_csv(tmp_path / TRIALS_FILE).loc[0, "status"] == "failed"


def test_a_trial_that_reports_an_epoch_then_fails_is_failed_and_not_counted(tmp_path):
    rec = TrialRecorder(tmp_path / "s" / "m" / "seed-0")
    rec.folder.mkdir(parents=True)
    rec.on_tuning_start(FakeTuner([f"{ERROR_TAG} RuntimeError: CUDA out of memory\n"]))
    for i in range(2):
        rec.on_start_trial(trial(i))
    rec.on_trial_result(trial(0), Status.in_progress, result(0.4, 1), "CONTINUE")
    rec.on_trial_result(trial(1), Status.in_progress, result(0.1, 1), "CONTINUE")  # better, then crashes
    rec.on_trial_complete(trial(0), result(0.4, 1))
    rec.on_fetch_status_results({1: (trial(1), Status.failed)}, [])
    rec.on_fetch_status_results({1: (trial(1), Status.failed)}, [])  # seen again: still one row
    frame = pd.read_csv(rec.folder / TRIALS_FILE)
    assert list(frame["status"]) == ["completed", "failed"]
    assert frame.loc[1, "error"] == "RuntimeError: CUDA out of memory"
    assert frame.loc[1, "weighted_sum"] == 0.1 and frame.loc[1, "epoch"] == 1  # its last report is kept
    table = summary_table(load_trials(tmp_path), warn=False).iloc[0]
    assert table.n_failed == 1 and table.n_trials == 2
    assert table.best_weighted_sum_mean == 0.4  # the crashed trial's 0.1 is not a result


def test_a_trial_stopped_by_the_scheduler_is_completed_at_its_epoch(tmp_path):
    rec = TrialRecorder(tmp_path)
    rec.on_tuning_start(FakeTuner([]))
    rec.on_start_trial(trial(0))
    rec.on_trial_result(trial(0), Status.in_progress, result(0.6, 1), "STOP")
    frame = pd.read_csv(tmp_path / TRIALS_FILE)
    assert frame.loc[0, "trial_id"] == 0
    assert frame.loc[0, "status"] == "completed" and bool(frame.loc[0, "scheduler_stopped"])
    assert frame.loc[0, "weighted_sum"] == 0.6


class Clock:
    def __init__(self, now):
        self.now = now

    def time(self):
        return self.now


def test_row_layout_times_budget_and_epoch_log(tmp_path, monkeypatch):
    import json

    import hyperion_bench.records as records

    clock = Clock(1000.0)
    monkeypatch.setattr(records, "time", clock)
    rec = TrialRecorder(tmp_path)
    rec.on_tuning_start(FakeTuner([]))
    clock.now = 1001.23456
    rec.on_start_trial(Trial(trial_id=0, config={"lr": 0.5, "hb_epochs": 3, "st_x": 1}, creation_time=datetime.now()))
    clock.now = 1002.5
    rec.on_trial_result(trial(0), Status.in_progress, result(0.4, 1), "CONTINUE")
    rec.on_fetch_status_results({0: (trial(0), Status.in_progress)}, [])  # running: no row yet
    assert not (tmp_path / TRIALS_FILE).exists()
    clock.now = 1003.00042
    rec.on_trial_complete(trial(0), result(0.3, 3))
    text = (tmp_path / TRIALS_FILE).read_text()
    assert text.splitlines()[0] == ("trial_id,status,start_time,end_time,start_s,end_s,error,config_lr,budget_epochs,"
                                    "epoch,val_error,weighted_sum,n_params")  # no index column, no st_/hb_ keys
    row = pd.read_csv(tmp_path / TRIALS_FILE).iloc[0]
    assert (row.start_s, row.end_s, row.budget_epochs) == (1.235, 3.0, 3)
    assert datetime.fromisoformat(row.start_time) <= datetime.fromisoformat(row.end_time)
    [line] = (tmp_path / EPOCHS_FILE).read_text().splitlines()
    assert json.loads(line) == {"trial_id": 0, "time_s": 2.5, "epoch": 1, "val_error": 0.4, "weighted_sum": 0.4,
                                "n_params": 10}


def test_error_messages_of_failed_trials(tmp_path):
    rec = TrialRecorder(tmp_path)
    rec.on_tuning_start(FakeTuner(["Traceback (most recent call last):\n", "  File x\n", "  Killed  \n", "\n"]))
    assert rec._error(7) == "Killed" and rec.tuner.trial_backend.asked == [7]  # the last non-empty line
    rec.tuner = FakeTuner(["\n", "  \n"])
    assert rec._error(7) == "worker died without a message (killed, or out of memory?)"
    rec.tuner = None
    assert rec._error(7) == "failed (no stderr)"
    rec.on_start_trial(trial(0))
    rec.on_trial_complete(trial(0), {"val_error": 0.1, "n_params": 3})  # no weighted_sum at all
    rec.on_fetch_status_results({5: (trial(5), Status.failed)}, [])  # a trial the recorder never saw start
    frame = pd.read_csv(tmp_path / TRIALS_FILE)
    assert frame[["trial_id", "status", "error"]].values.tolist() == [
        [0, "failed", "non-finite weighted_sum"], [5, "failed", "failed (no stderr)"]]


def test_trials_running_at_the_end_keep_their_last_report(tmp_path):
    rec = TrialRecorder(tmp_path)
    rec.on_tuning_start(FakeTuner([]))
    rec.on_start_trial(trial(0))
    rec.on_trial_result(trial(0), Status.in_progress, result(0.7, 2), "CONTINUE")
    rec.on_tuning_end()
    row = pd.read_csv(tmp_path / TRIALS_FILE).iloc[0]
    assert (row.status, row.weighted_sum, row.epoch) == ("stopped", 0.7, 2)


def test_atomic_write_leaves_no_temp_file_and_replaces(tmp_path):
    path = tmp_path / TRIALS_FILE
    write_csv_atomic(pd.DataFrame({"a": [1]}), path)
    write_csv_atomic(pd.DataFrame({"a": [1, 2]}), path)
    assert len(pd.read_csv(path)) == 2
    assert [p.name for p in tmp_path.iterdir()] == [TRIALS_FILE]


def write_run(root, method, seed, values, test_errors, statuses=None):
    folder = root / "s" / method / f"seed-{seed}"
    folder.mkdir(parents=True)
    n = len(values)
    pd.DataFrame({"trial_id": range(n), "status": statuses or ["completed"] * n, "val_error": values,
                  "weighted_sum": values, "test_error": test_errors}).to_csv(folder / TRIALS_FILE, index=False)


def test_report_aggregates_over_seeds(tmp_path):
    write_run(tmp_path, "a", 0, [0.5, 0.2, 0.4], [0.6, 0.25, 0.1])
    write_run(tmp_path, "a", 1, [0.3, 0.1], [0.35, 0.15])
    write_run(tmp_path, "b", 0, [0.9, np.nan], [0.9, np.nan], ["completed", "failed"])
    (tmp_path / "s" / "a" / "seed-2.interrupted-1").mkdir()  # ignored
    table = summary_table(load_trials(tmp_path))
    a = table[table.method == "a"].iloc[0]
    assert a.n_seeds == 2 and a.n_trials == 5
    assert a.best_val_error_mean == pytest.approx(0.15)
    assert a.best_val_error_std == pytest.approx(np.std([0.2, 0.1], ddof=1))
    assert a.test_error_of_best_mean == pytest.approx((0.25 + 0.15) / 2)  # test error of the best, not the best test
    b = table[table.method == "b"].iloc[0]
    assert b.n_failed == 1 and b.best_val_error_mean == pytest.approx(0.9)
    csv = render(table, "csv")
    assert csv.splitlines()[0].startswith("suite,method,n_seeds,n_trials")
    assert render(table, "md").startswith("| suite | method |")
