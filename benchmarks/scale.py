"""What spreading a run costs: per-trial start overhead of the warm worker pool against Syne Tune's stock
``LocalBackend`` (a fresh Python process per trial), and per-run dispatch overhead of ``--backend ray``
against the local engine. One run, one table.

Why: the warm pool exists because starting a process (interpreter, torch, the suite) costs more than a
small trial (issue 17 measured it from outside: warm 0.24 s, stock 2.95 s per trial); Ray adds a task, an
actor and file copies per run. The trial measured is the cheapest there is, a zdt1 evaluation through
``hyperion_bench/trial.py`` (microseconds of work), so what each row times is the engine itself.

    python benchmarks/scale.py            # 20 trials per backend; 4 runs x 5 trials per engine
    python benchmarks/scale.py --quick    # 6 trials; 2 runs x 3 trials
    python benchmarks/scale.py --out DIR  # also DIR/per_trial.csv, DIR/engines.csv: the numbers behind the table
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hyperion_bench import runner  # noqa: E402
from hyperion_bench.hardware import cpu_model  # noqa: E402
from hyperion_bench.suites import load_suite  # noqa: E402


def per_trial_seconds(backend_kind: str, n_trials: int, out: Path) -> list[float]:
    """Each trial's wall time (start to the Tuner seeing it finished) of ``n_trials`` zdt1 evaluations run
    one at a time through ``backend_kind``: "warm" (our pool) or "stock" (Syne Tune's LocalBackend)."""
    from syne_tune.backend import LocalBackend

    from hyperion_bench import trial as trial_module
    from hyperion_bench.backend import WarmWorkerBackend, WorkerPool
    from hyperion_bench.methods import make_run_scheduler
    from hyperion_bench.protocol import TrialConstants
    from hyperion_bench.records import TrialRecorder
    from hyperion_bench.tuner import HarnessTuner

    suite = load_suite("zdt1")
    constants = TrialConstants(suite=str(suite.path), seed=0, threads=1).to_config()
    scheduler = make_run_scheduler("random", suite=suite, seed=0, max_trials=n_trials, constants=constants)
    pool = WorkerPool(env=dict(os.environ, OMP_NUM_THREADS="1"))
    if backend_kind == "warm":
        backend = WarmWorkerBackend(pool)
    else:
        backend = LocalBackend(entry_point=trial_module.__file__, pass_args_as_json=True, rotate_gpus=False)
    folder = out / backend_kind
    folder.mkdir(parents=True)
    os.environ["SYNETUNE_FOLDER"] = str(folder)
    recorder = TrialRecorder(folder)
    tuner = HarnessTuner(trial_backend=backend, scheduler=scheduler, stop_criterion=lambda status: False,
                         n_workers=1, sleep_time=0.01, print_update_interval=10**9, results_update_interval=10**9,
                         max_failures=0, tuner_name="scale", suffix_tuner_name=False, save_tuner=False,
                         callbacks=[recorder], output_logger=runner._quiet_logger())
    try:
        with open(folder / "tuner.log", "w") as log, __import__("contextlib").redirect_stdout(log):
            tuner.run()
    finally:
        pool.shutdown()
    rows = [recorder.rows[k] for k in sorted(recorder.rows)]
    assert len(rows) == n_trials and all(r["status"] == "completed" for r in rows), rows[:2]
    return [r["end_s"] - r["start_s"] for r in rows]


def engine_seconds(engine: str, n_runs: int, n_trials: int, out: Path) -> float:
    """Wall time of ``n_runs`` zdt1 (method, seed) runs of ``n_trials`` each through ``engine`` ("local" or
    "ray", with Ray already started: its start-up is timed apart)."""
    from hyperion_bench.runner import Budget, RunSettings, run_experiment

    settings = RunSettings(suite=load_suite("zdt1"), methods=["random"], budget=Budget(max_trials=n_trials),
                           seeds=list(range(n_runs)), workers=1, out=out / engine, quiet=True)
    started = time.perf_counter()
    if engine == "ray":
        from hyperion_bench.ray_engine import run_on_ray

        run_on_ray(settings)
    else:
        run_experiment(settings)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", help="a folder for the raw numbers (per_trial.csv, engines.csv)")
    a = parser.parse_args(argv)
    n_trials, n_runs, run_trials = (6, 2, 3) if a.quick else (20, 4, 5)
    with tempfile.TemporaryDirectory(prefix="hb-scale-") as tmp:
        out = Path(tmp)
        warm = per_trial_seconds("warm", n_trials, out)
        stock = per_trial_seconds("stock", n_trials, out)
        import ray

        t0 = time.perf_counter()
        ray.init(include_dashboard=False, configure_logging=False, log_to_driver=False)
        ray_start = time.perf_counter() - t0
        try:
            local_s = engine_seconds("local", n_runs, run_trials, out)
            ray_s = engine_seconds("ray", n_runs, run_trials, out)
        finally:
            ray.shutdown()
    print(f"# benchmarks/scale.py{' --quick' if a.quick else ''}: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
          f"{cpu_model()} ({runner.usable_cpus()} usable of {os.cpu_count()} CPUs), Python {platform.python_version()}")
    print()
    print("| what | measured | per unit |")
    print("|---|---|---|")
    print(f"| trial start to finish, warm worker pool ({n_trials} zdt1 trials, 1 worker) | median "
          f"{statistics.median(warm):.3f} s, max {max(warm):.3f} s | {statistics.median(warm):.3f} s per trial |")
    print(f"| trial start to finish, Syne Tune's stock LocalBackend (a process per trial) | median "
          f"{statistics.median(stock):.3f} s, max {max(stock):.3f} s | {statistics.median(stock):.3f} s per trial |")
    print(f"| ratio stock / warm (medians) | {statistics.median(stock) / statistics.median(warm):.1f}x | |")
    print(f"| {n_runs} runs x {run_trials} trials, local engine | {local_s:.2f} s | {local_s / n_runs:.2f} s per run |")
    print(f"| the same through --backend ray (local instance, started apart) | {ray_s:.2f} s | "
          f"{ray_s / n_runs:.2f} s per run; dispatch overhead {(ray_s - local_s) / n_runs:+.2f} s per run |")
    print(f"| starting the local Ray instance | {ray_start:.2f} s | once per command |")
    if a.out:
        out = Path(a.out)
        out.mkdir(parents=True, exist_ok=True)
        rows = [f"{kind},{i},{t:.6f}" for kind, times in (("warm", warm), ("stock", stock))
                for i, t in enumerate(times)]
        (out / "per_trial.csv").write_text("backend,trial,seconds\n" + "\n".join(rows) + "\n")
        (out / "engines.csv").write_text(
            f"what,runs,trials_per_run,seconds\nlocal,{n_runs},{run_trials},{local_s:.6f}\n"
            f"ray,{n_runs},{run_trials},{ray_s:.6f}\nray_start,,,{ray_start:.6f}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
