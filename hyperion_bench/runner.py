"""Run methods x seeds on a suite under one budget, through Syne Tune's Tuner.

Why it exists: the budget accounting is the heart of a fair comparison, so it lives in one place.
Every (method, seed) gets the same wall-clock limit and/or trial count, the same workers, the same
device and the same suite; its results go to ``<out>/<suite>/<method>/seed-<k>/`` with a
``metadata.json`` recording the command, versions, hardware, budget and seed. A finished
(method, seed) is skipped when the command is run again; an interrupted one resumes: its finished
trials are kept and replayed into a fresh optimiser (:meth:`OptimizerScheduler.replay`), the trials that
were running are run again, and it goes on with what is left of its budget (the wall-clock of every
segment counts). One whose history cannot be replayed is set aside (renamed, never deleted) and run
again, said in one line.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from hyperion_bench.errors import UserError
from hyperion_bench.hardware import cpu_model
from hyperion_bench.method_settings import inner_loop, inner_loop_options
from hyperion_bench.placement import GpuPlan, gpu_plan, shard_runs, visible_gpus
from hyperion_bench.problems import problem_of
from hyperion_bench.progress import Progress
from hyperion_bench.protocol import ONESHOT_KEY, TrialConstants
from hyperion_bench.records import CSV_EVERY_S, SyneTuneResults, TrialRecorder, write_json_atomic
from hyperion_bench.registry import SEARCHING_METHODS
from hyperion_bench.resume import METADATA_FILE, EarlierAttempt, close_segment, open_segment, read_attempt
from hyperion_bench.runlock import RunLock
from hyperion_bench.suites import Suite

DONE_FILE = "done.json"
SYNE_TUNE_DIR = "syne-tune"  # Syne Tune's own folder inside a (method, seed)'s (tuner_name below)
METRIC = "weighted_sum"
PACKAGES = ("hyperion-bench", "torch", "torchvision", "syne-tune", "optuna", "hyperopt", "flaml", "numpy",
            "pandas", "scikit-learn", "pymoo", "botorch")


@dataclass(frozen=True)
class Budget:
    """Per (method, seed). At least one of the two is set."""

    wallclock_s: float | None = None
    max_trials: int | None = None

    def __post_init__(self) -> None:
        if self.wallclock_s is None and self.max_trials is None:
            raise UserError("no budget: give --budget (e.g. 5m) and/or --max-trials N, or set them in the suite")
        if self.wallclock_s is not None and not self.wallclock_s > 0:
            raise UserError(f"budget must be positive, got {self.wallclock_s} s")
        if self.max_trials is not None and self.max_trials < 1:
            raise UserError(f"--max-trials must be at least 1, got {self.max_trials}")


@dataclass(frozen=True)
class RunSettings:
    suite: Suite
    methods: list[str]
    budget: Budget
    seeds: list[int]
    workers: int
    out: Path
    device: str = "cpu"
    data_dir: str | None = None
    download: bool = False
    command: str = ""
    # per method: meta-parameter overrides from the command line (--method-option m.key=value)
    method_options: dict[str, dict[str, str]] = field(default_factory=dict)
    quiet: bool = False  # no per-trial progress lines on stderr
    gpus: str | None = None  # --gpus 0,1,2,3 (None: every visible GPU); placement.py
    gpus_per_trial: float | None = None  # --gpus-per-trial (None: placement.gpu_plan's default)
    shard: tuple[int, int] | None = None  # --shard i/n: this command's part of the (method, seed) runs
    cpus: int | None = None  # the CPU cores this run may use (None: this process's; a Ray task: what it declared)
    # called with a (method, seed)'s folder when it starts, after each finished trial and at its end: the
    # Ray engine copies the folder back to the driver with it
    on_progress: Callable[[Path], None] | None = None
    segment_meta: dict[str, Any] = field(default_factory=dict)  # recorded with this segment (a Ray task's node)


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def hardware(device: str, plan: GpuPlan | None = None) -> dict[str, Any]:
    """The machine; on GPUs, the model of each GPU the run may use (``plan``) and each trial's share."""
    import torch

    info: dict[str, Any] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable_cpus(),
        "device": device,
        "cuda_available": torch.cuda.is_available(),
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        visible = visible_gpus()
        indexes = [visible.index(g) for g in plan.gpus if g in visible] if plan is not None else [0]
        indexes = indexes or [0]
        info["gpu"] = "; ".join(sorted({torch.cuda.get_device_name(i) for i in indexes}))
        info["gpu_memory_gb"] = round(min(torch.cuda.get_device_properties(i).total_memory for i in indexes) / 2**30, 1)
    if plan is not None:
        info["gpus"], info["gpus_per_trial"] = list(plan.gpus), plan.per_trial
    return info


def usable_cpus() -> int:
    """The cores this process may actually use: its CPU affinity (a container's cpuset, ``taskset``),
    capped by a cgroup v2 CPU quota (``cpu.max``, e.g. ``docker --cpus 2``). ``os.cpu_count()`` counts the
    host's cores, and sizing torch's thread pools by it oversubscribes a shared machine: small nets then
    run many times slower (seen here: up to 40x)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cpus = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(cpus, 1)


def threads_per_trial(workers: int, device: str, cpus: int | None = None) -> int:
    """Share the usable CPU cores (or ``cpus``, what a Ray task declared) between concurrent trials (GPU
    trials need only one host thread)."""
    if device.startswith("cuda"):
        return 1
    return max(1, (cpus or usable_cpus()) // workers)


def planned_runs(settings: RunSettings) -> list[tuple[str, int]]:
    """The (method, seed) runs this command does, after the checks every engine shares (one line, exit 2,
    before anything runs: method names and options, workers, paths); a shard says which it takes."""
    from hyperion_bench.methods import check_method_options, method_info

    for m in settings.methods:
        method_info(m)  # an unknown name: one line, before anything runs
    if settings.workers < 1:
        raise UserError(f"--workers must be at least 1, got {settings.workers}")
    check_paths(settings)
    check_method_options(settings.methods, settings.method_options, settings.suite)  # bad overrides
    runs = shard_runs(settings.methods, settings.seeds, settings.shard)
    if settings.shard is not None:
        print(f"[hyperion-bench] shard {settings.shard[0]}/{settings.shard[1]}: {len(runs)} (method, seed) runs: "
              + ", ".join(f"{m}/seed-{s}" for m, s in runs), flush=True)
    return runs


def run_experiment(settings: RunSettings) -> list[Path]:
    """Run every (method, seed) here; returns the result folders. Checks the data before starting.
    (``--backend ray``: :func:`hyperion_bench.ray_engine.run_on_ray`, which calls this in each task.)"""
    import torch

    from hyperion_bench.evaluate import resolve_device

    runs = planned_runs(settings)
    suite = settings.suite
    device = str(resolve_device(settings.device))
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("--device cuda asked for, but torch sees no CUDA device here; use --device cpu or auto")
    plan = gpu_plan(device, settings.gpus, settings.gpus_per_trial, settings.workers)  # bad GPU asks: one line
    problem = problem_of(suite)
    if problem.in_process:  # cheap trials run in this process (inprocess.py): no data, no workers
        return [run_one(settings, method, seed, device, None) for method, seed in runs]
    # fail fast (one line, exit 2) on missing data, and warm the dataset cache for the workers
    problem.load_data(settings.data_dir, download=settings.download)
    from hyperion_bench.backend import WorkerPool

    threads = threads_per_trial(settings.workers, device, settings.cpus)
    pool = WorkerPool(env=dict(os.environ, OMP_NUM_THREADS=str(threads)), slots=plan.slots() if plan else None)
    try:
        return [run_one(settings, method, seed, device, pool, plan) for method, seed in runs]
    finally:
        pool.shutdown()


def check_paths(settings: RunSettings) -> None:
    """One line (exit 2), before anything runs, for an --out that is a file or cannot be created and a
    --data-dir that is not a folder (they used to end a run with a traceback)."""
    from hyperion_bench.data import resolve_data_dir

    out = Path(settings.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {out}: cannot create it ({exc.strerror})") from None
    data = resolve_data_dir(settings.data_dir)
    if data is not None and data.exists() and not data.is_dir():
        raise UserError(f"--data-dir {data}: exists and is not a folder")


def run_one(settings: RunSettings, method: str, seed: int, device: str, pool: Any, plan: GpuPlan | None = None) -> Path:
    """Run one (method, seed) into its folder, holding the folder's lock (:mod:`hyperion_bench.runlock`)."""
    suite = settings.suite
    folder = settings.out / suite.name / method / f"seed-{seed}"
    if (folder / DONE_FILE).exists():
        print(f"[hyperion-bench] {suite.name}/{method}/seed-{seed}: already done, skipped", flush=True)
        return folder
    lock = RunLock(folder)  # one writer per folder: a live run's folder is never renamed or written by another
    note = lock.acquire()
    if note:
        print(note, flush=True)
    try:
        return _run_locked(settings, method, seed, device, pool, folder, plan)
    finally:
        lock.release()


def _run_locked(settings: RunSettings, method: str, seed: int, device: str, pool: Any, folder: Path,
                plan: GpuPlan | None = None) -> Path:
    from syne_tune import StoppingCriterion

    from hyperion_bench.inprocess import InProcessBackend
    from hyperion_bench.trial import run_trial
    from hyperion_bench.tuner import HarnessTuner

    suite = settings.suite
    label = f"{suite.name}/{method}/seed-{seed}"
    if (folder / DONE_FILE).exists():  # finished by another run between the first check and the lock
        print(f"[hyperion-bench] {label}: already done, skipped", flush=True)
        return folder
    earlier = read_attempt(folder) if folder.exists() and any(folder.iterdir()) else None
    scheduler = _make_scheduler(settings, method, seed, device, folder, remaining_s=_remaining(settings, earlier))
    rerun: list[int] = []
    if earlier is not None and earlier.has_trials:
        why = _changed(settings, earlier) or _replay(scheduler, earlier)
        if isinstance(why, str):
            aside = folder.with_name(f"{folder.name}.interrupted-{datetime.now():%Y%m%d-%H%M%S}")
            folder.rename(aside)
            print(f"[hyperion-bench] {label}: cannot resume ({why}); the earlier attempt is kept as {aside.name} "
                  f"and this (method, seed) starts again", flush=True)
            earlier = None
            scheduler = _make_scheduler(settings, method, seed, device, folder, remaining_s=_remaining(settings, None))
        else:
            rerun = why
    folder.mkdir(parents=True, exist_ok=True)
    if earlier is not None:
        n_kept = sum(r.get("status") in ("completed", "failed") for r in earlier.rows.values())
        torn = f"; dropped a torn last line of {', '.join(earlier.torn)}" if earlier.torn else ""
        print(f"[hyperion-bench] {label}: resuming: {n_kept} finished trials kept, {len(rerun)} that were running "
              f"run again, {earlier.used_s:.0f} s of the wall-clock used{torn}", flush=True)
        _set_aside_syne_tune_folder(folder, len(earlier.segments))

    metric_names = scheduler.metric_names()
    threads = threads_per_trial(settings.workers, device, settings.cpus)
    meta = {
        "suite": suite.name,
        "suite_file": str(suite.path),
        "suite_sha256": hashlib.sha256(suite.path.read_bytes()).hexdigest(),
        "method": method,
        "seed": seed,
        "budget": asdict(settings.budget),
        "workers": settings.workers,
        "threads_per_trial": threads,
        "command": settings.command,
        "started": datetime.now().isoformat(timespec="seconds"),
        "versions": versions(),
        "hardware": hardware(device, plan),
        "metric": metric_names[0] if len(metric_names) == 1 else metric_names,
        "objectives": asdict(suite.objectives),
        "method_settings": scheduler.metadata().get("settings", {}),
    }
    if method in SEARCHING_METHODS:  # the one-shot loop its searching trials ran (--method-option darts.KEY too)
        meta["inner_loop"] = inner_loop(suite.oneshot, suite.hyperdarts, scheduler.constants.get(ONESHOT_KEY, {}))
    if earlier is not None and earlier.segments:
        meta["started"] = earlier.meta.get("started", meta["started"])
    open_segment(meta, earlier)
    meta["segments"][-1].update(settings.segment_meta)
    write_json_atomic(meta, folder / METADATA_FILE)
    if settings.on_progress is not None:
        settings.on_progress(folder)

    used_s = earlier.used_s if earlier is not None else 0.0
    offset = earlier.next_trial_id if earlier is not None else 0
    left_s = _remaining(settings, earlier) if settings.budget.wallclock_s else None
    recorder = TrialRecorder(folder, csv_every_s=CSV_EVERY_S, earlier_rows=earlier.rows if earlier else None,
                             trial_offset=offset, time_offset_s=used_s)
    progress = Progress(label, metric_names[0], settings.budget.max_trials, settings.budget.wallclock_s,
                        quiet=settings.quiet, earlier_rows=list(recorder.rows.values()), used_s=used_s)
    recorder.on_row = progress.row
    if settings.on_progress is not None:
        recorder.on_row = _and_then(progress.row, settings.on_progress, folder)
    if hasattr(scheduler, "attach_history"):
        from hyperion_bench.history import HISTORY_FILE, HistoryLog

        scheduler.attach_history(HistoryLog(folder / HISTORY_FILE), trial_offset=offset)
    if left_s is not None and left_s <= 0:
        print(f"[hyperion-bench] {label}: its wall-clock budget was used up before the interruption", flush=True)
        recorder.flush()
    else:
        os.environ["SYNETUNE_FOLDER"] = str(folder)
        if pool is None:  # synthetic suite: the fast path
            backend = InProcessBackend(run_trial)
        else:
            from hyperion_bench.backend import WarmWorkerBackend

            backend = WarmWorkerBackend(pool)
        stop = StoppingCriterion(max_wallclock_time=left_s) if left_s is not None else (lambda status: False)
        tuner = HarnessTuner(
            trial_backend=backend,
            scheduler=scheduler,
            stop_criterion=stop,
            n_workers=settings.workers,
            sleep_time=0.1 if pool is not None else 0.0,
            results_update_interval=30.0,
            print_update_interval=10**9,
            max_failures=10**9,  # a failed trial is a result, not a reason to stop
            tuner_name=SYNE_TUNE_DIR,
            suffix_tuner_name=False,
            save_tuner=False,
            callbacks=[SyneTuneResults(_earlier_syne_tune_results(folder, earlier), offset, used_s), recorder],
            output_logger=_quiet_logger(),
        )
        print(f"[hyperion-bench] {label}: running ({_budget_text(settings.budget)}, {settings.workers} workers, "
              f"{device})", flush=True)
        with open(folder / "tuner.log", "a") as log, contextlib.redirect_stdout(log):
            tuner.run()  # Syne Tune prints a status table at the end; it goes to tuner.log
    if hasattr(scheduler, "close_history"):
        scheduler.close_history()
    statuses = [r["status"] for r in recorder.rows.values()]
    meta.update(finished=datetime.now().isoformat(timespec="seconds"), wallclock_used_s=round(close_segment(meta), 1),
                n_trials=len(statuses), n_failed=statuses.count("failed"))
    write_json_atomic(meta, folder / METADATA_FILE)
    write_json_atomic({"finished": meta["finished"]}, folder / DONE_FILE)
    if settings.on_progress is not None:
        settings.on_progress(folder)
    print(f"[hyperion-bench] {label}: {len(statuses)} trials "
          f"({statuses.count('failed')} failed) in {meta['wallclock_used_s']} s", flush=True)
    progress.end()
    print(f"[hyperion-bench] {label}: {progress.summary()}", file=sys.stderr, flush=True)
    return folder


def _and_then(row_hook: Callable[[dict[str, Any]], None], folder_hook: Callable[[Path], None],
              folder: Path) -> Callable[[dict[str, Any]], None]:
    def hook(row: dict[str, Any]) -> None:
        row_hook(row)
        folder_hook(folder)
    return hook


def _remaining(settings: RunSettings, earlier: EarlierAttempt | None) -> float:
    """The wall-clock left to a (method, seed) (0 without a wall-clock budget)."""
    if not settings.budget.wallclock_s:
        return 0.0
    return settings.budget.wallclock_s - (earlier.used_s if earlier is not None else 0.0)


def _make_scheduler(settings: RunSettings, method: str, seed: int, device: str, folder: Path,
                    remaining_s: float) -> Any:
    from hyperion_bench.methods import make_run_scheduler

    constants = TrialConstants(
        suite=str(settings.suite.path),
        seed=seed,
        device=device,
        threads=threads_per_trial(settings.workers, device, settings.cpus),
        data_dir=settings.data_dir or "",
        download=settings.download,
        # when this (method, seed)'s wall-clock budget ends: a one-shot search stops in time (oneshot.py)
        deadline=time.time() + remaining_s if settings.budget.wallclock_s else 0,
        # the budget and result folder, for MO optimisers that plan by time or keep files (methods.optimizer.Context)
        wallclock_s=settings.budget.wallclock_s or 0,
        folder=str(folder),
        # --method-option darts.KEY / hyperdarts.KEY: the inner loop of every searching trial of the run
        oneshot=inner_loop_options(settings.method_options, settings.suite.oneshot, settings.suite.hyperdarts),
    ).to_config()
    return make_run_scheduler(method, suite=settings.suite, seed=seed, max_trials=settings.budget.max_trials,
                              constants=constants, options=settings.method_options.get(method, {}))


def _replay(scheduler: Any, earlier: EarlierAttempt) -> list[int] | str:
    """The keys to run again after replaying ``earlier`` into ``scheduler``, or why it cannot be replayed."""
    from hyperion_bench.history import CannotReplay

    if not hasattr(scheduler, "replay"):
        return f"{type(scheduler).__name__} keeps no history to replay"
    if not earlier.events:
        return "it has no history.jsonl (made before trial-level resume existed)"
    try:
        return scheduler.replay(earlier.events, earlier.results())
    except CannotReplay as exc:
        return str(exc)


def _changed(settings: RunSettings, earlier: EarlierAttempt) -> str:
    """What differs between this command and the earlier attempt's (suite file, budget, workers), or ""."""
    before = earlier.meta
    now = {"suite_sha256": hashlib.sha256(settings.suite.path.read_bytes()).hexdigest(),
           "budget": asdict(settings.budget), "workers": settings.workers}
    changed = [name for name, value in now.items() if name in before and before[name] != value]
    return f"its {' and '.join(changed)} changed since the earlier attempt" if changed else ""


def _set_aside_syne_tune_folder(folder: Path, n_segments: int) -> None:
    """Syne Tune numbers each segment's trial folders from 0 again: keep the earlier segments' (their
    stdout and stderr) under ``syne-tune.segment-<k>``."""
    st = folder / SYNE_TUNE_DIR
    if st.exists():
        st.rename(folder / f"{SYNE_TUNE_DIR}.segment-{max(n_segments, 1)}")


def _earlier_syne_tune_results(folder: Path, earlier: EarlierAttempt | None) -> Any:
    """The earlier segments' Syne Tune results (``results.csv.zip``), or None."""
    if earlier is None:
        return None
    import pandas as pd
    from syne_tune.constants import ST_RESULTS_DATAFRAME_FILENAME

    found = sorted(folder.glob(f"{SYNE_TUNE_DIR}.segment-*/{ST_RESULTS_DATAFRAME_FILENAME}"),
                   key=lambda p: int(p.parent.name.rsplit("-", 1)[1]))
    if not found:
        return None
    try:
        return pd.read_csv(found[-1])
    except Exception as exc:  # a damaged file (written in place by an older version, cut by a kill): go on
        print(f"[hyperion-bench] {found[-1]}: unreadable ({type(exc).__name__}); Syne Tune's results of the "
              f"earlier attempts start again from here (trials.csv keeps every trial)", flush=True)
        return None


def _budget_text(budget: Budget) -> str:
    parts = []
    if budget.wallclock_s:
        parts.append(f"{budget.wallclock_s:g} s")
    if budget.max_trials:
        parts.append(f"{budget.max_trials} trials")
    return " / ".join(parts)


def _quiet_logger() -> Any:
    """Syne Tune's TunerLogger prints a banner per trial; keep only its errors and warnings."""
    from syne_tune.tuner_logger import TunerLogger

    class QuietLogger(TunerLogger):
        pass

    for name in dir(TunerLogger):
        if name.startswith("print_") and name not in ("print_error", "print_warning", "print_failure_logs"):
            setattr(QuietLogger, name, lambda self, *a, **k: None)
    return QuietLogger(use_colors=False, use_emojis=False)


def main_command() -> str:
    return " ".join(["python -m hyperion_bench", *sys.argv[1:]])
