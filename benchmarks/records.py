"""Harness cost per trial as a run grows: trials.csv rewritten after every trial vs. the append-only log.

Why: issue 14 found runs growing quadratically (``run --suite zdt1 --methods mo-random``: 21 s for 500
evaluations, 229 s for 2,000) because ``trials.csv`` was rewritten and fsync'd after every trial. The
recorder now appends each row to ``trials.jsonl`` and rewrites ``trials.csv`` at most every
``CSV_EVERY_S``. This script runs in-process zdt1 evaluations (the trial itself costs microseconds, so
what is measured is the harness: scheduler, Tuner, recorder) both ways, in one run, and prints a table.

    python benchmarks/records.py                     # 500, 1,500 (rewrite each trial); 1,000, 15,000 (log)
    python benchmarks/records.py --quick             # a smoke run: 200 and 400 trials each way
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hyperion_bench import runner  # noqa: E402
from hyperion_bench.hardware import cpu_model  # noqa: E402
from hyperion_bench.suites import load_suite  # noqa: E402


def timed_run(n: int, csv_every_s: float, method: str) -> float:
    """Wall-clock seconds of one (method, seed) of ``n`` in-process zdt1 evaluations."""
    runner.CSV_EVERY_S = csv_every_s
    with tempfile.TemporaryDirectory() as out:
        settings = runner.RunSettings(suite=load_suite("zdt1"), methods=[method],
                                      budget=runner.Budget(wallclock_s=None, max_trials=n), seeds=[0], workers=1,
                                      out=Path(out), device="cpu", quiet=True)
        started = time.perf_counter()
        runner.run_experiment(settings)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", default="mo-random")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    plan = ([("every trial", 0.0, 200), ("every trial", 0.0, 400), ("log + csv every 2 s", 2.0, 200),
             ("log + csv every 2 s", 2.0, 400)] if args.quick else
            [("every trial", 0.0, 500), ("every trial", 0.0, 1500), ("log + csv every 2 s", 2.0, 1000),
             ("log + csv every 2 s", 2.0, 15000)])
    print(f"`python benchmarks/records.py{' --quick' if args.quick else ''}`, method {args.method}, "
          f"{datetime.now():%Y-%m-%d %H:%M} UTC, {cpu_model()}, Python {platform.python_version()}\n")
    print("| trials.csv written | evaluations | total s | ms per evaluation |")
    print("|---|---|---|---|")
    for label, every, n in plan:
        seconds = timed_run(n, every, args.method)
        print(f"| {label} | {n:,} | {seconds:.1f} | {1000 * seconds / n:.2f} |", flush=True)


if __name__ == "__main__":
    main()
