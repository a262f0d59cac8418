"""Fault injection (issue 14, part 7): a trial that runs out of memory, or whose worker process aborts or is
SIGKILLed mid-trial, is recorded as failed, and the run goes on with every other trial kept.

The faults are injected into the real worker processes: a ``sitecustomize.py`` on the run's PYTHONPATH
(inherited by the workers) wraps the training problem's ``evaluate`` so that the second trial of the run
fails in the chosen way. Nothing in the package knows about it.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest
from test_runner import fast_suite

from conftest import REPO

INJECT = '''
import os

if os.environ.get("HB_FAULT"):
    import hyperion_bench.problems as problems

    real = problems.TrainingProblem.evaluate

    def evaluate(self, params, data, given, report):
        counter = os.path.join(os.environ["HB_FAULT_DIR"], "trials")
        n = int(open(counter).read()) + 1 if os.path.exists(counter) else 1
        open(counter, "w").write(str(n))
        if n == 2:
            kind = os.environ["HB_FAULT"]
            if kind == "oom":
                import torch
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (injected)")
            if kind == "abort":
                os.abort()
            if kind == "kill":
                os.kill(os.getpid(), 9)
        return real(self, params, data, given, report)

    problems.TrainingProblem.evaluate = evaluate
'''


@pytest.mark.parametrize("kind, error", [
    ("oom", "OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB (injected)"),
    ("abort", "worker died"),
    ("kill", "worker died"),
])
def test_a_failing_trial_is_recorded_and_the_run_goes_on(tmp_path, kind, error):
    inject = tmp_path / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(INJECT)
    out = tmp_path / "out"
    env = {**os.environ, "HB_FAULT": kind, "HB_FAULT_DIR": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([str(inject), str(REPO)])}
    run = subprocess.run([sys.executable, "-m", "hyperion_bench", "run", "--suite", fast_suite(tmp_path),
                          "--methods", "random", "--max-trials", "4", "--out", str(out)],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "trials").read_text() == "4"  # the fault was injected: four trials reached evaluate
    frame = pd.read_csv(out / "s" / "random" / "seed-0" / "trials.csv")
    assert len(frame) == 4 and frame["status"].tolist().count("failed") == 1, frame[["status", "error"]]
    failed = frame[frame["status"] == "failed"].iloc[0]
    assert error in str(failed["error"]), failed["error"]
    assert (frame[frame["status"] == "completed"]["weighted_sum"].notna()).all()
    assert (out / "s" / "random" / "seed-0" / "done.json").exists()
