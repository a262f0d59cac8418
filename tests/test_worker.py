"""Warm trial workers die with the run that started them (worker.die_with_parent)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# A run that starts a worker, hands it a job and is then killed. The job's config file is a FIFO nobody
# writes to, so the worker stays busy (blocked opening it) the way a long trial would: a busy worker does
# not see its stdin close, only the parent-death signal can end it.
PARENT = """
import json, sys, time
from hyperion_bench.backend import _Worker
w = _Worker()
w.proc.stdin.write(json.dumps({"trial_path": sys.argv[1], "config_file": sys.argv[2]}) + "\\n")
w.proc.stdin.flush()
print(w.proc.pid, flush=True)
time.sleep(600)
"""


def gone(pid: int) -> bool:
    """Exited (a zombie waiting for a reaper counts: it runs nothing)."""
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in state


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_a_busy_worker_exits_when_its_run_is_killed(tmp_path):
    fifo = tmp_path / "config.json"
    os.mkfifo(fifo)
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path), str(fifo)], stdout=subprocess.PIPE,
                              text=True)
    worker = None
    try:
        worker = int(parent.stdout.readline())
        time.sleep(2.0)  # the worker imports, asks for the signal and blocks on its job
        assert not gone(worker)
        os.kill(parent.pid, signal.SIGKILL)  # no chance to shut the pool down
        parent.wait(timeout=10)
        deadline = time.time() + 30
        while not gone(worker) and time.time() < deadline:
            time.sleep(0.1)
        assert gone(worker), "the busy worker outlived its run"
    finally:
        parent.kill()
        if worker is not None and not gone(worker):
            os.kill(worker, signal.SIGKILL)


def test_a_worker_whose_parent_is_already_gone_exits_at_once():
    env = dict(os.environ, HYPERION_BENCH_WORKER_PARENT="1")  # not its parent: as if re-parented
    proc = subprocess.Popen([sys.executable, "-m", "hyperion_bench.worker"], stdin=subprocess.PIPE, env=env)
    try:
        assert proc.wait(timeout=120) == 0  # without the check it would wait on its open stdin
    finally:
        proc.kill()


def test_a_metric_line_caught_half_written_is_read_later_not_a_crash(tmp_path):
    """Seen in a real run (mnist1d, Hyperion, 2026-12-02): the Tuner read a trial's ``std.out`` while the
    worker was writing a report line; the half line's JSON did not parse and Syne Tune's ``retrieve``
    raised, ending the whole run. A line is only read once its newline is there."""
    from syne_tune.report import retrieve

    from hyperion_bench.backend import WarmWorkerBackend, WorkerPool

    backend = WarmWorkerBackend(WorkerPool())
    backend.set_path(results_root=str(tmp_path))
    trial_path = backend.trial_path(trial_id=0)
    trial_path.mkdir(parents=True)
    done = '[tune-metric]: {"epoch": 1, "genotype": "{\\"normal\\": [1]}"}\n'
    half = '[tune-metric]: {"epoch": 2, "genotype": "{\\"normal\\": [1]}'
    (trial_path / "std.out").write_text("starting\n" + done + half)
    assert backend.stdout(trial_id=0) == ["starting\n", done]
    assert retrieve(backend.stdout(trial_id=0)) == [{"epoch": 1, "genotype": '{"normal": [1]}'}]
    (trial_path / "std.out").write_text("starting\n" + done + half + ', "x": 0}\n')
    assert len(backend.stdout(trial_id=0)) == 3
