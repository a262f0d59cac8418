"""Where work goes (issue 17, parts 1-2): GPU slots per warm worker, seed ranges, shards, merged reports.

No GPU here: the GPU plan is checked as arithmetic, and its effect (each worker started with its own
``CUDA_VISIBLE_DEVICES``, each trial's row naming its GPUs) on CPU trials run under a made-up plan."""

from __future__ import annotations

import io
import json
import os
import signal
import time

import pandas as pd
import pytest
from test_runner import FAST_DIGITS

from conftest import write_suite
from hyperion_bench.backend import WorkerPool
from hyperion_bench.cli import main
from hyperion_bench.errors import UserError
from hyperion_bench.placement import GpuPlan, gpu_plan, parse_seeds, parse_shard, shard_runs


def test_slots_give_each_trial_its_share_and_spread_shares_over_gpus():
    assert GpuPlan(("0", "1", "2", "3"), 1).slots() == [("0",), ("1",), ("2",), ("3",)]
    assert GpuPlan(("0", "1"), 0.5).slots() == [("0",), ("1",), ("0",), ("1",)]
    assert GpuPlan(("0", "1"), 0.25).slots() == [("0",), ("1",)] * 4
    assert GpuPlan(("4", "5", "6", "7"), 2).slots() == [("4", "5"), ("6", "7")]
    assert GpuPlan(("0", "1", "2"), 2).slots() == [("0", "1")]  # the odd GPU out is unused


@pytest.mark.parametrize("gpus, share, message", [
    (("0",), 0.3, "must be 1/k"),
    (("0", "1"), 1.5, "whole number"),
    (("0", "1"), 3, "needs 3 GPUs"),
    (("0", "0"), 1, "named twice"),
    (("0",), 0, "must be positive"),
    ((), 1, "no GPU"),
])
def test_impossible_gpu_plans_are_one_line_errors(gpus, share, message):
    with pytest.raises(UserError, match=message):
        GpuPlan(gpus, share)


def test_more_workers_than_slots_is_refused_and_the_default_share_fits_the_workers(monkeypatch):
    with pytest.raises(UserError, match=r"--workers 5 needs 5 GPU slots; --gpus 0,1 with --gpus-per-trial 1 gives 2"):
        gpu_plan("cuda", "0,1", 1, 5)
    assert gpu_plan("cuda", "0,1", None, 2).per_trial == 1
    assert gpu_plan("cuda", "0,1", None, 3).per_trial == 0.5  # 2 GPUs, 3 workers: halves, 4 slots
    assert gpu_plan("cuda", "0", None, 4).per_trial == 0.25
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    assert gpu_plan("cuda", None, None, 1).gpus == ("3", "5")  # default: what this process may see
    assert gpu_plan("cpu", None, None, 4) is None
    with pytest.raises(UserError, match="need --device cuda"):
        gpu_plan("cpu", "0,1", None, 1)


def _environ(pid: int) -> dict[str, str]:
    """The environment a process started with; waits for its exec (before it, /proc shows the parent's)."""
    deadline = time.time() + 30
    while b"hyperion_bench.worker" not in open(f"/proc/{pid}/cmdline", "rb").read():
        assert time.time() < deadline, f"process {pid} did not exec"
        time.sleep(0.01)
    raw = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


@pytest.mark.skipif(not os.path.exists("/proc/self/environ"), reason="reads /proc")
def test_each_worker_sees_only_its_slot_and_a_replacement_takes_the_dead_ones():
    pool = WorkerPool(slots=GpuPlan(("0", "1"), 0.5).slots())
    try:
        workers = []
        for _ in range(4):
            worker = pool.idle_worker()
            worker.job = type("Busy", (), {"poll": lambda self: None})()  # keep it busy: the next one is new
            workers.append(worker)
        assert [_environ(w.proc.pid)["CUDA_VISIBLE_DEVICES"] for w in workers] == ["0", "1", "0", "1"]
        with pytest.raises(RuntimeError, match="more busy workers than GPU slots"):
            pool.idle_worker()
        os.kill(workers[1].proc.pid, signal.SIGKILL)
        workers[1].proc.wait()
        replacement = pool.idle_worker()
        assert _environ(replacement.proc.pid)["CUDA_VISIBLE_DEVICES"] == "1"
    finally:
        for w in pool.workers:
            w.proc.kill()
        pool.workers = []


def test_trials_record_the_gpus_they_ran_on(tmp_path, monkeypatch):
    """A made-up plan on the CPU: each worker starts with its own CUDA_VISIBLE_DEVICES, every row names it,
    metadata.json records the plan, and the report's hardware column names the share."""
    from hyperion_bench import runner

    monkeypatch.setattr(runner, "gpu_plan", lambda device, gpus, per_trial, workers: GpuPlan(("7", "8"), 1))
    suite = write_suite(tmp_path, FAST_DIGITS.replace("LRS", "0.05, 0.1"))
    out = tmp_path / "out"
    assert main(["run", "--suite", str(suite), "--methods", "random", "--max-trials", "6", "--workers", "2",
                 "--out", str(out), "--quiet"]) == 0
    folder = out / "s" / "random" / "seed-0"
    frame = pd.read_csv(folder / "trials.csv", dtype={"gpus": str})
    assert set(frame["gpus"]) == {"7", "8"}
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["hardware"]["gpus"] == ["7", "8"] and meta["hardware"]["gpus_per_trial"] == 1


def test_gpus_on_the_cpu_is_a_one_line_error(tmp_path, capsys):
    assert main(["run", "--suite", "zdt1", "--methods", "random", "--max-trials", "2", "--device", "cpu",
                 "--gpus", "0,1", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["error: --gpus and --gpus-per-trial need --device cuda (or auto on a "
                                        "machine with GPUs)"]


def test_seed_counts_ranges_and_starts():
    assert parse_seeds("3") == [0, 1, 2]
    assert parse_seeds("5-9") == [5, 6, 7, 8, 9]
    assert parse_seeds("2", start=10) == [10, 11]
    for bad, message in [("0", "at least 1"), ("9-5", "empty"), ("a", "a count"), ("1,2", "a count")]:
        with pytest.raises(UserError, match=message):
            parse_seeds(bad)
    with pytest.raises(UserError, match="not a range"):
        parse_seeds("5-9", start=3)


def test_shards_are_equal_disjoint_and_cover_every_run():
    methods, seeds = ["random", "tpe", "anneal"], list(range(5))
    parts = [shard_runs(methods, seeds, (i, 4)) for i in range(4)]
    every = [run for part in parts for run in part]
    assert sorted(every) == sorted(shard_runs(methods, seeds, None)) and len(every) == len(set(every)) == 15
    assert {len(p) for p in parts} <= {3, 4}
    assert parse_shard("2/4") == (2, 4) and parse_shard(None) is None
    for bad in ("4/4", "1", "a/b", "0/0"):
        with pytest.raises(UserError, match="give i/n"):
            parse_shard(bad)


def test_two_shards_into_two_folders_report_as_one_and_a_run_twice_is_said(tmp_path, capsys):
    a, b = tmp_path / "machine-a", tmp_path / "machine-b"
    common = ["run", "--suite", "zdt1", "--methods", "random,tpe", "--max-trials", "3", "--seeds", "5-6", "--quiet"]
    assert main([*common, "--shard", "0/2", "--out", str(a)]) == 0
    assert "shard 0/2: 2 (method, seed) runs: random/seed-5, tpe/seed-5" in capsys.readouterr().out
    assert main([*common, "--shard", "1/2", "--out", str(b)]) == 0
    assert sorted(p.name for p in (a / "zdt1").glob("*/seed-*")) == ["seed-5", "seed-5"]
    capsys.readouterr()
    assert main(["report", str(a), str(b), "--format", "csv"]) == 0
    merged = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert merged.set_index("method")["n_seeds"].to_dict() == {"random": 2, "tpe": 2}
    assert main(["report", str(a), str(b), str(a), "--format", "csv"]) == 0  # a folder given twice
    err = capsys.readouterr().err
    assert "warning: zdt1/random/seed-5 is in" in err and "the report keeps the one in" in err


def test_the_report_flags_a_method_that_ran_with_another_gpu_share(tmp_path):
    from test_report import write_seed

    from hyperion_bench.report import load_trials, summary_table

    for method, share in (("alpha", 1), ("beta", 1), ("gamma", 0.5)):
        write_seed(tmp_path, method, 0, [("completed", 0.5, 2.0, 0.55, 10, 100.0)],
                   hardware={"device": "cuda", "gpu": "Test GPU", "gpus": ["0", "1"], "gpus_per_trial": share})
    table = summary_table(load_trials(tmp_path), warn=False).set_index("method")
    assert table.loc["alpha", "hardware"] == "cuda: Test GPU, 1 GPU/trial" and table.loc["alpha", "fairness"] == "ok"
    assert "hardware cuda: Test GPU, 0.5 GPU/trial" in table.loc["gamma", "fairness"]
