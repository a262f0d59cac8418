"""The append-only trial log (issue 14, part 3): every row is in trials.jsonl the moment the trial ends,
trials.csv is derived from the rows at most every ``csv_every_s`` and always at the end of the run."""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
from syne_tune.backend.trial_status import Trial

from hyperion_bench.records import TRIALS_FILE, TRIALS_LOG, TrialRecorder


class FakeTuner:
    class trial_backend:  # noqa: N801
        @staticmethod
        def stderr(trial_id):
            return []


def test_rows_reach_the_log_at_once_and_the_csv_at_the_end(tmp_path):
    rec = TrialRecorder(tmp_path, csv_every_s=3600.0)
    rec.on_tuning_start(FakeTuner())
    for i in range(3):
        config = {"lr": [0.1, 0.2, 0.5][i], "hb_seed": 0}
        rec.on_start_trial(Trial(trial_id=i, config=config, creation_time=datetime.now()))
        rec.on_trial_complete(Trial(trial_id=i, config={}, creation_time=datetime.now()),
                              {"weighted_sum": 1.0 / (i + 1), "epoch": 1})
    log = [json.loads(line) for line in (tmp_path / TRIALS_LOG).read_text().splitlines()]
    assert [r["trial_id"] for r in log] == [0, 1, 2] and log[2]["config_lr"] == 0.5 and "hb_seed" not in str(log)
    assert len(pd.read_csv(tmp_path / TRIALS_FILE)) == 1  # written after the first trial, then not again yet
    rec.on_tuning_end()
    frame = pd.read_csv(tmp_path / TRIALS_FILE)
    assert frame["trial_id"].tolist() == [0, 1, 2]
    assert frame.fillna({"error": ""}).drop(columns=["start_time", "end_time"]).to_dict("records") == [
        {k: v for k, v in r.items() if k not in ("start_time", "end_time")} for r in log]
