"""Live progress (issue 14, part 4). Reported from outside: a run printed nothing until a (method, seed)
ended, then "1 trials (0 failed)" above a row of NaN when its only trial was cut by the wall clock."""

from __future__ import annotations

import io

from hyperion_bench.cli import main
from hyperion_bench.progress import Progress

RUN = ["run", "--suite", "zdt1", "--methods", "random", "--max-trials", "3", "--seeds", "1"]


def test_one_line_per_finished_trial_then_the_counts(tmp_path, capsys):
    assert main([*RUN, "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().err.strip().splitlines()
    trials = [ln for ln in lines if ": trial " in ln]
    assert [ln.split(": ", 1)[1].split(",")[0] for ln in trials] == ["trial 1/3", "trial 2/3", "trial 3/3"]
    assert all(ln.startswith("[hyperion-bench] zdt1/random/seed-0: ") and "completed" in ln
               and "weighted_sum" in ln and "best" in ln for ln in trials), trials
    assert lines[-1].endswith("3 trials: 3 completed, 0 stopped by the budget, 0 failed"), lines[-1]


def test_quiet_leaves_only_the_counts(tmp_path, capsys):
    assert main([*RUN, "--out", str(tmp_path), "--quiet"]) == 0
    assert capsys.readouterr().err.strip().splitlines() == [
        "[hyperion-bench] zdt1/random/seed-0: 3 trials: 3 completed, 0 stopped by the budget, 0 failed"]


def test_a_run_where_nothing_completed_says_so():
    stream = io.StringIO()
    progress = Progress("digits/random/seed-0", "weighted_sum", None, 40.0, stream=stream)
    progress.row({"status": "stopped", "weighted_sum": float("nan"), "error": "stopped: budget exhausted"})
    line = stream.getvalue().strip()
    assert "trial 1" in line and "/40 s" in line and "stopped" in line and "best" not in line, line
    assert "WARNING: no trial completed" in progress.summary()
    progress.row({"status": "completed", "weighted_sum": 0.25})
    progress.row({"status": "completed", "weighted_sum": 0.5})
    assert stream.getvalue().strip().splitlines()[-1].endswith("weighted_sum 0.5, best 0.25")
    assert "WARNING" not in progress.summary()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_under_the_lines_and_a_file_none():
    tty = _Terminal()
    progress = Progress("zdt1/random/seed-0", "weighted_sum", 4, None, stream=tty)
    progress.row({"status": "completed", "weighted_sum": 0.5})
    progress.row({"status": "failed", "weighted_sum": float("nan"), "error": "boom"})
    out = tty.getvalue()
    assert out.endswith("zdt1/random/seed-0 [" + "#" * 15 + "." * 15 + "] 2/4 trials")  # the bar, last
    assert out.count("\r\033[K[hyperion-bench] zdt1/random/seed-0: trial") == 2  # each line clears the bar
    progress.end()
    assert tty.getvalue().endswith("\r\033[K")
    plain = io.StringIO()
    quiet_file = Progress("zdt1/random/seed-0", "weighted_sum", 4, None, stream=plain)
    quiet_file.row({"status": "completed", "weighted_sum": 0.5})
    quiet_file.end()
    assert "[" + "#" not in plain.getvalue() and "\r" not in plain.getvalue()
    silent = _Terminal()
    muted = Progress("zdt1/random/seed-0", "weighted_sum", 4, None, stream=silent, quiet=True)
    muted.row({"status": "completed", "weighted_sum": 0.5})
    muted.end()
    assert silent.getvalue() == ""
