"""Live progress on stderr: one line per finished trial, and a summary per (method, seed).

Why: a run used to print nothing until a (method, seed) ended, and then "1 trials (0 failed)" above a row
of NaN when its only trial was cut by the wall clock (issue 14). Each line names the run, how much of
its budget is used (trials k/N, or seconds of the wall clock), the trial's status and objective, and the
best so far; on a terminal a progress bar stays under the lines; ``--quiet`` silences both. It listens
to :class:`~hyperion_bench.records.TrialRecorder`, so a line is printed exactly when a row of
``trials.csv`` is written, with the same status.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import Any, TextIO

from hyperion_bench.protocol import final_value

CLEAR = "\033[K"  # erase to the end of the line


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Progress:
    def __init__(self, label: str, metric: str, max_trials: int | None, wallclock_s: float | None,
                 stream: TextIO | None = None, quiet: bool = False, earlier_rows: list[dict[str, Any]] | None = None,
                 used_s: float = 0.0):
        """``earlier_rows`` and ``used_s``: what a resumed run's earlier segments finished and used; they
        count in k/N, the time used and the best so far, without a line of their own."""
        self.label, self.metric = label, metric
        self.max_trials, self.wallclock_s = max_trials, wallclock_s
        self.stream, self.quiet = stream, quiet
        self.t0 = time.time() - used_s
        self.counts: Counter[str] = Counter()
        self.best: float | None = None
        for row in earlier_rows or []:
            self._count(row)

    def _count(self, row: dict[str, Any]) -> float | None:
        status = row["status"]
        self.counts[status] += 1
        value = final_value(row, self.metric)
        if status == "completed" and value is not None and (self.best is None or value < self.best):
            self.best = value
        return value

    def _out(self, line: str) -> None:
        """A line; on a terminal the bar stays under the lines: cleared before one, drawn again after it."""
        if self.quiet:
            return
        stream = self.stream or sys.stderr
        if _is_terminal(stream):
            stream.write(f"\r{CLEAR}{line}\n{self.bar()}")
            stream.flush()
        else:
            print(line, file=stream, flush=True)

    def bar(self, width: int = 30) -> str:
        """``label [#####.....] k/N`` (or seconds of the wall-clock budget), whichever budget ends first."""
        done = sum(self.counts.values())
        shares = []
        if self.max_trials:
            shares.append((done / self.max_trials, f"{done}/{self.max_trials} trials"))
        if self.wallclock_s:
            used = time.time() - self.t0
            shares.append((used / self.wallclock_s, f"{used:.0f}/{self.wallclock_s:.0f} s"))
        share, text = max(shares) if shares else (0.0, f"{done} trials")
        filled = int(round(min(max(share, 0.0), 1.0) * width))
        return f"{self.label} [{'#' * filled}{'.' * (width - filled)}] {text}"

    def end(self) -> None:
        """Clear the bar (on a terminal) before the end-of-run lines."""
        stream = self.stream or sys.stderr
        if not self.quiet and _is_terminal(stream):
            stream.write(f"\r{CLEAR}")
            stream.flush()

    def row(self, row: dict[str, Any]) -> None:
        """Called by the recorder each time it writes a trial's row."""
        status = row["status"]
        value = self._count(row)
        used = sum(self.counts.values())
        parts = [f"trial {used}/{self.max_trials}" if self.max_trials else f"trial {used}"]
        if self.wallclock_s:
            parts.append(f"{time.time() - self.t0:.0f}/{self.wallclock_s:.0f} s")
        parts.append(status)
        if value is not None:
            parts.append(f"{self.metric} {value:.4g}")
        if row.get("error") and status != "completed":
            parts.append(str(row["error"])[:80])
        if self.best is not None:
            parts.append(f"best {self.best:.4g}")
        self._out(f"[hyperion-bench] {self.label}: " + ", ".join(parts))

    def summary(self) -> str:
        """The end-of-run line: completed / stopped / failed counts, and a warning when nothing completed."""
        c = self.counts
        line = (f"{sum(c.values())} trials: {c['completed']} completed, {c['stopped']} stopped by the budget, "
                f"{c['failed']} failed")
        if not c["completed"]:
            line += ("; WARNING: no trial completed, so this run has no result (a larger budget, or a smaller "
                     "configuration, may let one finish)")
        return line
