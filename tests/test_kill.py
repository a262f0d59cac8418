"""The kill test of issue 14, short form: three SIGKILLs of the driver at random moments, a rerun after
each, then the run finishes; no finished trial is lost, nothing is trained twice but what was running at
a kill, and no worker outlives its driver. The full form (20 kills on the digits suite) is
``python benchmarks/kill_test.py``; the two share the code below."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from test_runner import FAST_DIGITS

from conftest import write_suite

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "kill_test.py"


def _module():
    spec = importlib.util.spec_from_file_location("kill_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_three_kills_lose_nothing_and_train_nothing_twice(tmp_path):
    kill = _module()
    suite = write_suite(tmp_path, FAST_DIGITS.replace("LRS", "0.05, 0.1"))
    command = ["run", "--suite", str(suite), "--methods", "random,tpe", "--max-trials", "8", "--seeds", "2",
               "--workers", "2"]
    # each kill comes 0.5-3 s after the round's first finished trial, so every kill follows progress on a
    # fast machine and a slow one alike (fixed delays from the start failed both ways in CI: the idle
    # machine finished the run before the second kill, one pinned core had finished no trial at any kill)
    outcome = kill.kill_test(command, tmp_path / "out", kills=3, max_trials=8, n_runs=4, min_delay_s=0.5,
                             max_delay_s=3.0, seed=1, log=lambda line: None, after_a_row=True)
    assert kill.check(outcome) == [], outcome
    assert outcome.kills >= 1 and outcome.rows_before_kills > 0, outcome
    assert outcome.started >= outcome.expected == 32


def test_the_check_fails_on_a_lost_trial_and_on_a_leftover_worker():
    kill = _module()
    good = kill.Outcome(kills=3, started=26, expected=24, reruns=2, final_rc=0)
    assert kill.check(good) == []
    assert kill.check(kill.Outcome(**{**good.__dict__, "lost": ["s/random/seed-0 trial 3"]}))
    assert kill.check(kill.Outcome(**{**good.__dict__, "leftovers": 1}))
    assert kill.check(kill.Outcome(**{**good.__dict__, "unlogged_starts": 4}))  # more than one per kill
    assert kill.check(kill.Outcome(**{**good.__dict__, "unlogged_starts": -1}))  # fewer starts than trials
