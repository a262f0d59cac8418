"""End to end through Syne Tune: exact trial counts, failures recorded, kill leaves rows, rerun resumes."""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from conftest import REPO, write_suite
from hyperion_bench.cli import main

FAST_DIGITS = """
[data]
dataset = "digits"

[network]
family = "cell"
nodes = 1

[training]
epochs = 1
batch_size = 64
channels = 4
cells = 1

[params.lr]
role = "pipeline"
type = "choice"
choices = [LRS]

[params.op]
role = "fusion"
type = "choice"
choices = ["conv", "skip", "max_pool"]

[objectives]
weighted_sum = { val_error = 1.0, n_params = 1e-6 }
"""


def fast_suite(tmp_path, lrs="0.05, 0.1"):
    return str(write_suite(tmp_path, FAST_DIGITS.replace("LRS", lrs)))


def test_two_methods_two_workers_exact_trial_counts(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["run", "--suite", fast_suite(tmp_path), "--methods", "random,tpe", "--max-trials", "3",
                 "--workers", "2", "--out", str(out)])
    assert code == 0
    for method in ("random", "tpe"):
        folder = out / "s" / method / "seed-0"
        frame = pd.read_csv(folder / "trials.csv")
        assert len(frame) == 3 and set(frame["status"]) == {"completed"}
        assert frame["test_error"].notna().all() and (frame["n_params"] > 0).all()
        meta = json.loads((folder / "metadata.json").read_text())
        assert meta["budget"] == {"wallclock_s": None, "max_trials": 3}
        assert meta["workers"] == 2 and "torch" in meta["versions"] and meta["n_trials"] == 3
        assert (folder / "done.json").exists()
    table = capsys.readouterr().out
    assert "| s | random |" in table and "| s | tpe |" in table


def test_diverging_trials_are_recorded_as_failed_and_the_run_goes_on(tmp_path):
    out = tmp_path / "out"
    assert main(["run", "--suite", fast_suite(tmp_path, "1e30"), "--methods", "random", "--max-trials", "2",
                 "--out", str(out)]) == 0
    frame = pd.read_csv(out / "s" / "random" / "seed-0" / "trials.csv")
    assert list(frame["status"]) == ["failed", "failed"]
    assert frame["error"].str.contains("TrialDiverged").all()


def test_wallclock_budget_ends_the_run(tmp_path):
    out = tmp_path / "out"
    started = time.time()
    args = ["run", "--suite", fast_suite(tmp_path), "--methods", "random", "--budget", "8s", "--out", str(out)]
    assert main(args) == 0
    assert time.time() - started < 60
    frame = pd.read_csv(out / "s" / "random" / "seed-0" / "trials.csv")
    assert len(frame) >= 1


def test_finished_runs_are_skipped_on_rerun(tmp_path, capsys):
    args = ["run", "--suite", fast_suite(tmp_path), "--methods", "random", "--max-trials", "1", "--out",
            str(tmp_path / "out")]
    assert main(args) == 0
    assert main(args) == 0
    assert "already done, skipped" in capsys.readouterr().out


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs process groups")
def test_killing_a_run_keeps_finished_rows_and_rerun_resumes(tmp_path):
    out = tmp_path / "out"
    args = [sys.executable, "-m", "hyperion_bench", "run", "--suite", fast_suite(tmp_path), "--methods", "random",
            "--max-trials", "40", "--out", str(out)]
    trials = out / "s" / "random" / "seed-0" / "trials.csv"
    proc = subprocess.Popen(args, cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 180
        while time.time() < deadline:
            if trials.exists() and len(pd.read_csv(trials)) >= 2:
                break
            time.sleep(0.2)
        else:
            pytest.fail("no trial finished in time")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    frame = pd.read_csv(trials)  # readable, no partial line
    assert len(frame) >= 2 and set(frame["status"]) == {"completed"}
    assert not (trials.parent / "done.json").exists()
    # rerunning with another budget sets the unfinished attempt aside (nothing deleted) and runs again
    # (the same command resumes it: tests/test_resume.py, tests/test_kill.py)
    rerun = subprocess.run(args[:-4] + ["--max-trials", "1", "--out", str(out)], cwd=REPO, capture_output=True,
                           text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    kept = [p for p in trials.parent.parent.iterdir() if p.name.startswith("seed-0.interrupted-")]
    assert len(kept) == 1 and len(pd.read_csv(kept[0] / "trials.csv")) == len(frame)
    assert (trials.parent / "done.json").exists()


def test_threads_per_trial_follow_the_usable_cores_not_the_hosts(monkeypatch, tmp_path):
    from hyperion_bench import runner

    monkeypatch.setattr(os, "cpu_count", lambda: 64)  # the host
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)  # our cpuset
    real_read = runner.Path.read_text

    def cgroup(path, *args, **kwargs):
        if str(path) == "/sys/fs/cgroup/cpu.max":
            return quota
        return real_read(path, *args, **kwargs)

    monkeypatch.setattr(runner.Path, "read_text", cgroup)
    quota = "max 100000\n"
    assert runner.usable_cpus() == 4
    assert runner.threads_per_trial(2, "cpu") == 2 and runner.threads_per_trial(8, "cpu") == 1
    assert runner.threads_per_trial(1, "cuda") == 1
    quota = "250000 100000\n"  # docker --cpus 2.5
    assert runner.usable_cpus() == 2
