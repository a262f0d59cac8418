"""A warm trial worker: ``python -m hyperion_bench.worker`` runs trials sent as JSON lines on stdin.

Why: a fresh trial process pays ~4-8 s here to import torch, torchvision and scikit-learn and to load
its dataset, which is longer than a whole digits trial. The worker keeps the interpreter, the CUDA
context and the cached dataset between trials. Each job line is
``{"trial_path": ..., "config_file": ...}``; the trial's stdout/stderr go to ``std.out``/``std.err``
in its folder (Syne Tune reads metrics from ``std.out``) and its exit code to ``exit_code``, written
atomically last, which is how the backend learns that it finished.

A worker dies with the process that started it (Linux: ``PR_SET_PDEATHSIG``): a run killed by a signal
(``kill -9``, the OOM killer, a lost SSH session) cannot shut its pool down, and its workers would
otherwise finish their trial into a folder nobody reads, holding a CPU or GPU the next run needs.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import signal
import sys
from pathlib import Path

from hyperion_bench.atomic import write_text_atomic
from hyperion_bench.trial import run_reported

EXIT_CODE_FILE = "exit_code"
PARENT_ENV = "HYPERION_BENCH_WORKER_PARENT"  # the pid that started this worker
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask the kernel for SIGTERM when the parent exits; exit now if it already has (it died before
    this ran, and the worker was re-parented). No-op where prctl does not exist."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):  # pragma: no cover - an exotic libc
            pass
    parent = os.environ.get(PARENT_ENV)
    if parent and os.getppid() != int(parent):
        sys.exit(0)


def serve() -> None:
    real_out, real_err = sys.stdout, sys.stderr
    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        trial_path = Path(job["trial_path"])
        with open(job["config_file"]) as f:
            config = json.load(f)
        with (
            open(trial_path / "std.out", "a", buffering=1) as out,
            open(trial_path / "std.err", "a", buffering=1) as err,
        ):
            sys.stdout, sys.stderr = out, err
            try:
                code = run_reported(config)
            finally:
                sys.stdout, sys.stderr = real_out, real_err
        _release_memory()
        write_text_atomic(trial_path / EXIT_CODE_FILE, str(code))


def _release_memory() -> None:
    gc.collect()
    dynamo = sys.modules.get("torch._dynamo")
    if dynamo is not None:  # a compiled search that raised kept its graphs and CUDA-graph pools (oneshot.run_search)
        dynamo.reset()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # pragma: no cover
        pass


if __name__ == "__main__":
    die_with_parent()
    serve()
