"""The recorder: one row per trial, failures with their error, atomic rewrites, report aggregation."""

import json
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


def test_json_is_written_whole_indented_and_with_any_value_as_text(tmp_path):
    from hyperion_bench.records import write_json_atomic

    path = tmp_path / "metadata.json"
    data = {"folder": tmp_path, "n": 3, "nested": {"when": datetime(2026, 12, 2, 22, 0)}}
    write_json_atomic(data, path)
    assert path.read_text() == json.dumps(data, indent=2, default=str)  # 2-space indent: diffs stay readable
    assert json.loads(path.read_text())["folder"] == str(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["metadata.json"]  # no temp file left


def test_metrics_of_a_row_are_what_the_trial_reported_and_nothing_else():
    from hyperion_bench.records import CONFIG_PREFIX, ROW_COLUMNS, metrics_of_row

    row = {**dict.fromkeys(ROW_COLUMNS, 1), f"{CONFIG_PREFIX}lr": 0.1, f"{CONFIG_PREFIX}op@0": "skip",
           "objective": 0.25, "val_accuracy": 0.75, "lr_found": 0.1}
    assert metrics_of_row(row) == {"objective": 0.25, "val_accuracy": 0.75, "lr_found": 0.1}
    assert metrics_of_row({}) == {}


def test_syne_tune_results_continue_the_earlier_segments_ids_and_times_atomically(tmp_path, monkeypatch):
    """A resumed run's results.csv.zip keeps the earlier segments' rows and numbers this segment's trials
    and tuner times after them (Syne Tune's own callback would start again from 0 and overwrite)."""
    import zipfile

    from syne_tune.constants import ST_TRIAL_ID, ST_TUNER_TIME

    from hyperion_bench.records import SyneTuneResults

    earlier = pd.DataFrame({ST_TRIAL_ID: [0, 1], ST_TUNER_TIME: [1.0, 2.0], "objective": [0.5, 0.4]})
    cb = SyneTuneResults(earlier, trial_offset=2, time_offset_s=10.0)
    cb.results = [{ST_TRIAL_ID: 0, ST_TUNER_TIME: 0.5, "objective": 0.3},
                  {ST_TRIAL_ID: 1, ST_TUNER_TIME: 1.5, "objective": 0.2}]
    frame = cb.dataframe()
    assert frame[ST_TRIAL_ID].tolist() == [0, 1, 2, 3]
    assert frame[ST_TUNER_TIME].tolist() == [1.0, 2.0, 10.5, 11.5]
    assert frame["objective"].tolist() == [0.5, 0.4, 0.3, 0.2]
    assert list(frame.index) == [0, 1, 2, 3]

    cb.store_results()  # no csv_file yet (before on_tuning_start): nothing is written
    assert list(tmp_path.iterdir()) == []
    cb.csv_file = str(tmp_path / "results.csv.zip")
    cb.store_results()
    with zipfile.ZipFile(cb.csv_file) as z:
        assert z.namelist() == ["results.csv"]  # what pandas and load_experiment expect inside
    back = pd.read_csv(cb.csv_file, compression="zip")
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv.zip"]

    # a write that fails half-way leaves the last complete file in place
    before = (tmp_path / "results.csv.zip").read_bytes()
    cb.results.append({ST_TRIAL_ID: 2, ST_TUNER_TIME: 2.5, "objective": 0.1})

    def torn(self, f, **kw):
        f.write(b"trial_id,st_tun")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", torn)
    with pytest.raises(OSError):
        cb.store_results()
    assert (tmp_path / "results.csv.zip").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv.zip"]


def test_syne_tune_results_without_earlier_rows_or_this_segments_rows():
    from syne_tune.constants import ST_TRIAL_ID, ST_TUNER_TIME

    from hyperion_bench.records import SyneTuneResults

    fresh = SyneTuneResults()
    assert fresh.dataframe().empty
    fresh.results = [{ST_TRIAL_ID: 0, "objective": 0.3}]  # no tuner time column (add_wallclock_time off)
    assert fresh.dataframe().to_dict("records") == [{ST_TRIAL_ID: 0, "objective": 0.3}]
    fresh.results = [{ST_TRIAL_ID: 0, ST_TUNER_TIME: 2.0}]  # a first segment: nothing shifted
    assert fresh.dataframe().to_dict("records") == [{ST_TRIAL_ID: 0, ST_TUNER_TIME: 2.0}]
    earlier = pd.DataFrame({ST_TRIAL_ID: [0], ST_TUNER_TIME: [1.0]})
    nothing_new = SyneTuneResults(earlier, trial_offset=1, time_offset_s=5.0)
    pd.testing.assert_frame_equal(nothing_new.dataframe(), earlier)
    assert SyneTuneResults(pd.DataFrame(), 3, 1.0).dataframe().empty


def test_a_resumed_segment_continues_ids_and_times_and_hands_each_row_on(tmp_path, monkeypatch):
    import hyperion_bench.records as records

    clock = Clock(1000.0)
    monkeypatch.setattr(records, "time", clock)
    earlier = {0: {"trial_id": 0, "status": "completed", "weighted_sum": 0.9}}
    seen = []
    rec = TrialRecorder(tmp_path, on_row=seen.append, earlier_rows=earlier, trial_offset=10, time_offset_s=100.0)
    tuner = FakeTuner([f"{ERROR_TAG} ValueError: bad\n"])
    tuner.trial_backend.placement = lambda trial_id: {0: "0,1"}.get(trial_id, "")  # the worker's GPU slots
    rec.on_tuning_start(tuner)  # the earlier segments used 100 s: this one's clock starts there
    clock.now = 1001.5
    rec.on_start_trial(trial(0))
    rec.on_start_trial(trial(1))
    clock.now = 1002.25
    odd = {"when": datetime(2026, 12, 2), "n_cells": np.int64(3), "lr_found": np.float32(0.25)}  # not JSON types
    rec.on_trial_result(trial(0), Status.in_progress, {**result(0.4), **odd}, "CONTINUE")
    rec.on_trial_result(trial(1), Status.in_progress, result(0.6), "CONTINUE")
    clock.now = 1003.1234
    rec.on_trial_complete(trial(0), {**result(0.3), **odd})  # they must not stop the run
    for _ in range(2):  # seen failed twice: one row
        rec.on_fetch_status_results({0: (trial(0), Status.completed), 1: (trial(1), Status.failed)}, [])
    rec.on_tuning_end()
    assert tuner.trial_backend.asked == [1]  # the failed trial's own stderr
    assert [r["trial_id"] for r in seen] == [10, 11]
    frame = pd.read_csv(tmp_path / TRIALS_FILE)
    assert frame["trial_id"].tolist() == [0, 10, 11] and frame["status"].tolist() == ["completed"] * 2 + ["failed"]
    assert (frame.loc[1, "start_s"], frame.loc[1, "end_s"]) == (101.5, 103.123)
    assert frame.loc[1, "gpus"] == "0,1" and pd.isna(frame.loc[2, "gpus"])  # no slot: no value
    assert frame.loc[2, "error"] == "ValueError: bad"
    log = [json.loads(line) for line in (tmp_path / records.TRIALS_LOG).read_text().splitlines()]
    assert [r["trial_id"] for r in log] == [10, 11]  # this segment's rows, each once
    epoch, other = [json.loads(line) for line in (tmp_path / EPOCHS_FILE).read_text().splitlines()]
    assert (epoch["trial_id"], epoch["time_s"], other["trial_id"]) == (10, 102.25, 11)
    for line in (epoch, log[0]):  # numbers stay numbers (a resume tells them to the optimiser again)
        assert (line["when"], line["n_cells"], line["lr_found"]) == ("2026-12-02 00:00:00", 3, 0.25)


def test_the_log_is_fsynced_at_most_every_second_and_the_table_at_most_every_csv_every_s(tmp_path, monkeypatch):
    """The recorder's cost per trial (module docstring): a flushed line per row, an fsync at most every
    FSYNC_EVERY_S, trials.csv rewritten at most every csv_every_s and once more when the run ends."""
    import os

    import hyperion_bench.records as records

    clock = Clock(1000.0)
    monkeypatch.setattr(records, "time", clock)
    synced, written = [], []
    real_fsync, real_write = os.fsync, records.write_csv_atomic
    monkeypatch.setattr(records.os, "fsync", lambda fd: (synced.append((fd, clock.now)), real_fsync(fd)))
    monkeypatch.setattr(records, "write_csv_atomic", lambda frame, path: (written.append(len(frame)),
                                                                           real_write(frame, path)))
    rec = TrialRecorder(tmp_path, csv_every_s=2.0)
    rec.on_tuning_start(FakeTuner([]))
    rec.flush()
    assert (synced, written) == ([], [])  # nothing recorded: nothing to write
    for i, t in enumerate([1000.0, 1000.5, 1001.0, 1001.5, 1002.0]):
        clock.now = t
        rec.on_start_trial(trial(i))
        rec.on_trial_complete(trial(i), result(0.5))
    log_syncs = [t for fd, t in synced if fd == rec._log.fileno()]  # (trials.csv's atomic writes fsync too)
    assert log_syncs == [1000.0, 1001.0, 1002.0]  # the first row, then whenever a second has passed (inclusive)
    assert written == [1, 5]  # the first row, then 2 s later (inclusive)
    log = rec._log
    rec.flush()
    assert written == [1, 5] and log.closed  # the table was up to date; the log is let go
    clock.now = 1002.1
    rec.on_start_trial(trial(5))
    rec.on_trial_complete(trial(5), result(0.5))  # a row after a flush reopens the log
    rec.flush()
    assert written == [1, 5, 6]
    assert len((tmp_path / records.TRIALS_LOG).read_text().splitlines()) == 6
