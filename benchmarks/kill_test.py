"""Kill a run at random moments, rerun it each time, let it finish, and check that nothing was lost.

Issue 14's acceptance test of trial-level resume:

    python benchmarks/kill_test.py --kills 20
    (= run --suite digits --methods random,tpe --max-trials 10 --seeds 2 --workers 2, killed 20 times)

Each round starts the command, waits a random time once its trials have started (start-up, the same
every round, is not what is tested), and SIGKILLs the driver alone (not its process group): the warm
workers must die by themselves (``worker.die_with_parent``). Then it checks:

- **no finished trial lost**: every row of ``trials.jsonl`` present right after a kill is in the final
  records, unchanged (same trial id, status, config and metrics);
- **nothing trained twice but what was running**: the trainings started (Syne Tune trial folders of
  every segment) equal the trials of the budget, plus the trials the resumes said they run again, plus
  at most one per kill that was started in the instant before its ask was logged (counted and printed);
- **no worker left behind**: the driver's process group is empty within 20 s of each kill.

Prints one table row per round and the totals. ``tests/test_kill.py`` runs a short form (3 kills, a
tiny suite); the numbers of the full run are in results/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

RESUMING = re.compile(r"\] (\S+)/(\S+)/seed-(\d+): resuming: (\d+) finished trials kept, (\d+) that were running")
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Outcome:
    kills: int = 0
    finished_early: int = 0  # 1 when the run finished before the last kill could come
    rows_before_kills: int = 0  # finished rows seen right after the kills (summed over kills)
    lost: list[str] = field(default_factory=list)  # rows seen after a kill and missing or changed at the end
    reruns: int = 0  # trials the resumes said they run again
    started: int = 0  # trainings started, all segments
    expected: int = 0  # trials of the budget (completed at the end)
    unlogged_starts: int = 0  # started - expected - reruns
    leftovers: int = 0  # kills after which a worker outlived the driver by more than 20 s
    final_rc: int | None = None
    final_error: str = ""  # the last lines of the final run's stderr when it failed
    unfinished: list[str] = field(default_factory=list)  # (method, seed) folders without done.json at the end
    seconds: float = 0.0


def _rows(out: Path) -> dict[tuple[str, int], dict]:
    """Every row of every trials.jsonl under ``out``, keyed by (folder, trial id)."""
    rows = {}
    for log in out.glob("*/*/seed-*/trials.jsonl"):
        for line in log.read_text().splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a torn last line: the resume drops it
            rows[(str(log.parent.relative_to(out)), int(row["trial_id"]))] = row
    return rows


def _stable(row: dict) -> dict:
    """A row without its wall-clock columns (a resumed run rewrites nothing, but be exact about what counts)."""
    return {k: v for k, v in row.items() if k not in ("start_time", "end_time")}


def _pump(proc: subprocess.Popen, lines: list[str], running: threading.Event) -> None:
    """Collect the run's stdout; ``running`` is set when it starts its trials (or ends)."""
    for line in proc.stdout:
        lines.append(line)
        if ": running (" in line:
            running.set()
    running.set()


def _wait_for_a_row(proc: subprocess.Popen, out: Path, rows_before: int, timeout_s: float = 300.0) -> None:
    """Until the run has finished one more trial than ``rows_before`` (or has ended)."""
    deadline = time.time() + timeout_s
    while proc.poll() is None and time.time() < deadline and len(_rows(out)) <= rows_before:
        time.sleep(0.1)


def _group_gone(pgid: int, timeout_s: float) -> bool:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def kill_test(command: list[str], out: Path, kills: int, max_trials: int, n_runs: int, min_delay_s: float,
              max_delay_s: float, seed: int = 0, log=print, after_a_row: bool = False) -> Outcome:
    """Kill ``command`` (a ``run`` argument list without ``--out``) ``kills`` times (fewer when it finishes
    first: ``finished_early``), then let it finish. The delay counts from the run's first trial start, or
    with ``after_a_row`` from the first trial it finishes in that round (so that every kill comes after
    progress, however fast or slow the machine: the short form in tests/ uses it)."""
    rng = random.Random(seed)
    outcome, seen = Outcome(), {}
    args = [sys.executable, "-m", "hyperion_bench", *command, "--out", str(out), "--quiet"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    started_at = time.time()
    round_ = 0
    while outcome.kills < kills:  # until the run has been killed ``kills`` times, or has finished
        round_ += 1
        delay = rng.uniform(min_delay_s, max_delay_s)
        proc = subprocess.Popen(args, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        lines, running = [], threading.Event()
        pump = threading.Thread(target=_pump, args=(proc, lines, running), daemon=True)
        pump.start()
        running.wait(timeout=300)  # the delay counts from the first trial's start: start-up is not the test
        if after_a_row:
            _wait_for_a_row(proc, out, len(_rows(out)))
        try:
            proc.wait(timeout=delay)
            outcome.finished_early += 1
            pump.join()
            log(f"round {round_}: the run ended before its kill at {delay:.1f} s (exit {proc.returncode})")
            for match in RESUMING.finditer("".join(lines)):
                outcome.reruns += int(match.group(5))
            break  # finished: there is nothing left to kill
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)  # the driver alone: its workers must follow on their own
            proc.wait()
            pump.join()
            outcome.kills += 1
            gone = _group_gone(proc.pid, 20.0)
            if not gone:
                outcome.leftovers += 1
                os.killpg(proc.pid, signal.SIGKILL)
            rows = _rows(out)
            outcome.rows_before_kills += sum(r["status"] == "completed" for r in rows.values())
            seen.update(rows)
            log(f"round {round_}: killed {delay:.1f} s into its trials; {len(rows)} finished trials on disk; "
                f"workers {'gone' if gone else 'LEFT BEHIND'}")
        for match in RESUMING.finditer("".join(lines)):
            outcome.reruns += int(match.group(5))
    final = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    outcome.final_rc = final.returncode
    if final.returncode:
        outcome.final_error = "\n".join(final.stderr.strip().splitlines()[-15:])
    for match in RESUMING.finditer(final.stdout):
        outcome.reruns += int(match.group(5))
    rows = _rows(out)
    for key, row in seen.items():
        if key not in rows or _stable(rows[key]) != _stable(row):
            outcome.lost.append(f"{key[0]} trial {key[1]}")
    for folder in out.glob("*/*/seed-*"):
        if ".interrupted-" in folder.name:
            continue
        if not (folder / "done.json").exists():
            outcome.unfinished.append(str(folder.relative_to(out)))
        outcome.started += sum(1 for d in folder.glob("syne-tune*/*") if d.is_dir() and d.name.isdigit())
    outcome.expected = max_trials * n_runs
    outcome.unlogged_starts = outcome.started - outcome.expected - outcome.reruns
    outcome.seconds = time.time() - started_at
    return outcome


def check(outcome: Outcome) -> list[str]:
    """What went wrong (empty: the run survived every kill)."""
    problems = []
    if outcome.final_rc != 0:
        problems.append(f"the final run exited {outcome.final_rc}: {outcome.final_error}")
    if outcome.lost:
        problems.append(f"finished trials lost or changed: {', '.join(outcome.lost[:5])}")
    if outcome.unfinished:
        problems.append(f"unfinished: {', '.join(outcome.unfinished)}")
    if not 0 <= outcome.unlogged_starts <= outcome.kills:
        problems.append(f"{outcome.started} trainings started for {outcome.expected} trials and {outcome.reruns} "
                        f"reruns: {outcome.unlogged_starts} unexplained")
    if outcome.leftovers:
        problems.append(f"workers outlived the driver after {outcome.leftovers} kills")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--suite", default="digits")
    parser.add_argument("--methods", default="random,tpe")
    parser.add_argument("--max-trials", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--min-delay", type=float, default=3.0,
                        help="earliest kill, seconds after the run starts its trials")
    parser.add_argument("--max-delay", type=float, default=30.0, help="latest kill, seconds after that")
    parser.add_argument("--seed", type=int, default=0, help="of the kill moments")
    parser.add_argument("--out", default="/tmp/hb-kill-test")
    a = parser.parse_args(argv)
    out = Path(a.out)
    if out.exists() and any(out.iterdir()):
        parser.error(f"--out {out} is not empty")
    command = ["run", "--suite", a.suite, "--methods", a.methods, "--max-trials", str(a.max_trials),
               "--seeds", str(a.seeds), "--workers", str(a.workers)]
    print(f"# kill test: python -m hyperion_bench {' '.join(command)}, killed {a.kills} times "
          f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs)", flush=True)
    outcome = kill_test(command, out, a.kills, a.max_trials, len(a.methods.split(",")) * a.seeds, a.min_delay,
                        a.max_delay, a.seed, log=lambda line: print(line, flush=True))
    print()
    print("| kills | ended before the kill | finished rows seen after kills | lost | trainings started | "
          "trials | reruns said | started before logged | workers left | final exit | seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {outcome.kills} | {outcome.finished_early} | {outcome.rows_before_kills} | {len(outcome.lost)} | "
          f"{outcome.started} | {outcome.expected} | {outcome.reruns} | {outcome.unlogged_starts} | "
          f"{outcome.leftovers} | {outcome.final_rc} | {outcome.seconds:.0f} |")
    problems = check(outcome)
    for p in problems:
        print(f"FAIL: {p}")
    if not problems:
        print("OK: no finished trial lost, nothing trained twice but what was running at a kill, no worker left")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
