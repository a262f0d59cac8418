"""One writer per result folder (issue 14, part 1): a second command into a folder a live run is writing
stops with one line and leaves that run alone; a lock left by a dead run is taken over."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

from hyperion_bench.cli import main

RUN = ["run", "--suite", "zdt1", "--methods", "random", "--max-trials", "3", "--seeds", "1"]


def holder_lock(folder, pid):
    """The lock file a run with ``pid`` on this host would hold for ``folder``."""
    lock = folder.with_name(f".{folder.name}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(json.dumps({"host": socket.gethostname(), "pid": pid, "started": "2026-12-02T10:00:00"}))
    return lock


def test_a_folder_a_live_run_writes_is_neither_renamed_nor_written(tmp_path, capsys):
    """Reported from outside: the same command started twice, 4 s apart; the second renamed the first's
    live folder to seed-0.interrupted-... and the first died with a traceback."""
    folder = tmp_path / "zdt1" / "random" / "seed-0"
    folder.mkdir(parents=True)
    (folder / "trials.csv").write_text("trial_id,status\n0,completed\n")  # the live run's first row
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        holder_lock(folder, live.pid)
        assert main([*RUN, "--out", str(tmp_path)]) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and "another run" in err and str(live.pid) in err, err
        assert sorted(p.name for p in folder.parent.iterdir()) == [".seed-0.lock", "seed-0"]
        assert (folder / "trials.csv").read_text() == "trial_id,status\n0,completed\n"
    finally:
        live.kill()
        live.wait()


def test_a_lock_left_by_a_dead_run_is_taken_over_and_released(tmp_path, capsys):
    folder = tmp_path / "zdt1" / "random" / "seed-0"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock = holder_lock(folder, dead.pid)
    assert main([*RUN, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"pid {dead.pid}" in out and "taken over" in out
    assert not lock.exists()  # released at the end
    assert (folder / "done.json").exists()
