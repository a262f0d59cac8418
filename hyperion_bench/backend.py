"""Syne Tune's LocalBackend, but trials run in warm worker processes instead of fresh ones.

Why: see ``hyperion_bench.worker`` (start-up costs longer than a small trial). Everything else is
Syne Tune's: the trial folder layout, metrics parsed from ``std.out``, time stamps, stop/pause files.
The only change is what stands behind ``self.trial_subprocess[trial_id]``: a :class:`_Job` whose
``poll()`` reads the worker's ``exit_code`` file and whose ``pid`` is the worker's, so Syne Tune's
``_kill_process`` (stop, pause, end of budget) kills that worker; the pool replaces it on demand.
A worker that dies mid-trial (segfault, out-of-memory kill) fails the trial, not the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from syne_tune.backend import LocalBackend

from hyperion_bench import trial as trial_module
from hyperion_bench.worker import EXIT_CODE_FILE, PARENT_ENV


class _Worker:
    def __init__(self, env: dict[str, str] | None = None, gpus: tuple[str, ...] | None = None):
        env = {**(os.environ if env is None else env), PARENT_ENV: str(os.getpid())}  # see worker.die_with_parent
        if gpus is not None:  # its slot (placement.GpuPlan): the only GPUs its trials can see
            env["CUDA_VISIBLE_DEVICES"] = ",".join(gpus)
        self.gpus = gpus
        self.proc = subprocess.Popen([sys.executable, "-m", "hyperion_bench.worker"], stdin=subprocess.PIPE,
                                     text=True, env=env)
        self.job: _Job | None = None

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    @property
    def idle(self) -> bool:
        return self.alive and (self.job is None or self.job.poll() is not None)

    def submit(self, job: _Job, config_file: Path) -> None:
        self.job = job
        self.proc.stdin.write(json.dumps({"trial_path": str(job.trial_path), "config_file": str(config_file)}) + "\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        if self.alive:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()


class _Job:
    """Quacks like the ``subprocess.Popen`` LocalBackend keeps per trial."""

    def __init__(self, worker: _Worker, trial_path: Path):
        self.worker, self.trial_path = worker, trial_path

    @property
    def pid(self) -> int:
        return self.worker.proc.pid

    def poll(self) -> int | None:
        code_file = self.trial_path / EXIT_CODE_FILE
        if code_file.exists():
            return int(code_file.read_text())
        if not self.worker.alive:  # killed, or crashed hard: the trial did not finish
            return self.worker.proc.returncode or -9
        return None

    def kill(self) -> None:
        self.worker.proc.kill()


class WorkerPool:
    """Persistent workers, shared by the Tuners of one experiment (every method and seed), so the
    interpreter, CUDA context and dataset are paid for once per worker, not once per Tuner.

    With GPU ``slots`` (:meth:`hyperion_bench.placement.GpuPlan.slots`) each worker is started on a slot
    no live worker holds, and a worker that dies gives its slot to its replacement."""

    def __init__(self, env: dict[str, str] | None = None, slots: list[tuple[str, ...]] | None = None):
        self.env = env
        self.slots = slots
        self.workers: list[_Worker] = []

    def idle_worker(self) -> _Worker:
        self.workers = [w for w in self.workers if w.alive]
        worker = next((w for w in self.workers if w.idle), None)
        if worker is None:
            worker = _Worker(self.env, self._free_slot())
            self.workers.append(worker)
        return worker

    def _free_slot(self) -> tuple[str, ...] | None:
        if self.slots is None:
            return None
        held = [w.gpus for w in self.workers]
        for slot in self.slots:
            if slot in held:
                held.remove(slot)  # a shared GPU appears once per share
            else:
                return slot
        raise RuntimeError(f"more busy workers than GPU slots ({len(self.slots)})")  # placement checks --workers

    def shutdown(self) -> None:
        """Let idle workers exit; kill busy ones (their Tuner has already stopped their trials)."""
        for w in self.workers:
            if w.idle:
                w.close()
            elif w.alive:
                w.proc.kill()
        self.workers = []


class WarmWorkerBackend(LocalBackend):
    """A LocalBackend whose trials run in a pool of persistent ``hyperion_bench.worker`` processes."""

    def __init__(self, pool: WorkerPool):
        super().__init__(entry_point=trial_module.__file__, pass_args_as_json=True, rotate_gpus=False)
        self.pool = pool

    def _schedule(self, trial_id: int, config: dict[str, Any]) -> None:
        trial_path = self.trial_path(trial_id)
        trial_path.mkdir(parents=True, exist_ok=True)
        (trial_path / EXIT_CODE_FILE).unlink(missing_ok=True)  # a resumed trial runs again
        for name in ("std.out", "std.err"):  # Syne Tune may read them before the worker writes
            (trial_path / name).touch()
        config_file = trial_path / "config.json"
        config_file.write_text(json.dumps(config))
        worker = self.pool.idle_worker()
        job = _Job(worker, trial_path)
        self.trial_subprocess[trial_id] = job
        worker.submit(job, config_file)
        self._busy_trial_id_candidates.add(trial_id)

    def placement(self, trial_id: int) -> str:
        """The GPUs (``CUDA_VISIBLE_DEVICES``) trial ``trial_id`` ran on; "" without a GPU plan."""
        job = self.trial_subprocess.get(trial_id)
        gpus = getattr(getattr(job, "worker", None), "gpus", None)
        return ",".join(gpus) if gpus else ""

    def stdout(self, trial_id: int) -> list[str]:
        """The trial's complete ``std.out`` lines. Syne Tune reads the file while the worker writes it, and
        a reader can catch a report line half written (a write crossing a page boundary is not atomic
        for a concurrent reader); its ``retrieve`` then fails to parse the half line's JSON and the
        whole run ends (seen on 2026-12-02, a Hyperion run on mnist1d). The unfinished last line is read
        at the next poll instead."""
        lines = super().stdout(trial_id)
        if lines and not lines[-1].endswith("\n"):
            lines.pop()
        return lines
