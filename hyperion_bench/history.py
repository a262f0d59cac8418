"""An optimiser's history, kept so that an interrupted (method, seed) resumes where it stopped.

Why: a paper-scale trial costs GPU-hours, and a run killed after 30 of 50 trials must not train those 30
again (issue 14). Resuming needs two things on disk: every finished trial's result (``trials.jsonl``,
:mod:`hyperion_bench.records`) and the order in which the optimiser asked and was told
(``history.jsonl``, written here by :class:`~hyperion_bench.methods.scheduler.OptimizerScheduler`).
With parallel workers the optimiser asks for trial 5 before it hears of trial 3; replaying the asks and
tells in their original order, into a fresh optimiser made with the same seed, brings it back to the
state it had, and every replayed ask is checked against the config it gave the first time. An optimiser
whose asks do not come back the same (it reads the clock, or draws from an unseeded generator) is
caught there and its (method, seed) restarts, said in one line.

Both logs are append-only JSON lines. A process killed while writing leaves at most a torn last line
(no newline, or not JSON): :func:`read_log` drops it and cuts the file back to its last whole line, so
the log can be appended to again. A damaged line anywhere else is not a crash artefact: a one-line
error naming the file and line.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hyperion_bench.errors import UserError

HISTORY_FILE = "history.jsonl"
FSYNC_EVERY_S = 1.0


class CannotReplay(Exception):
    """The history cannot bring a fresh optimiser back to where it was (the message says why)."""


@dataclass(frozen=True)
class LogRead:
    records: list[dict[str, Any]]
    torn: bool  # a torn last line was dropped (and cut from the file)


def read_log(path: Path) -> LogRead:
    """The records of a JSON-lines log; a torn last line is dropped and cut from the file."""
    path = Path(path)
    if not path.exists():
        return LogRead([], False)
    data = path.read_bytes()
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    records: list[dict[str, Any]] = []
    good = 0  # bytes of whole, valid lines
    torn = bool(tail.strip())
    for n, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            if n == len(lines) and not tail.strip():  # the last line: a write cut short by a kill
                torn = True
                break
            raise UserError(f"{path}: line {n} is damaged ({exc}); it is not a torn last line, so the "
                            f"file was changed by something else: fix or remove it") from None
        records.append(record)
        good += len(line) + 1
    if torn:
        with open(path, "r+b") as f:
            f.truncate(good)
    return LogRead(records, torn)


def jsonable(value: Any) -> Any:
    """``value`` as JSON can hold it: numpy scalars and arrays as plain Python, tuples as lists, keys as
    strings, anything else that is not a JSON value as its ``str`` (the schedulers' metadata holds such)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def same_config(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two configs are equal once both have been through JSON (the log's form)."""
    return json.loads(json.dumps(jsonable(a), sort_keys=True, default=str)) == \
        json.loads(json.dumps(jsonable(b), sort_keys=True, default=str))


class HistoryLog:
    """Appends an optimiser's events: ``{"ask": key, "trial_id": id, "config": {...}}`` when a
    suggestion becomes a trial (``"rerun": true`` when a resumed run starts a trial again that was
    running at the interruption) and ``{"tell": key, "error": bool}`` when the optimiser is told how it
    ended. Flushed at every event (a killed process loses nothing), fsync'd at most every second."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._file: Any = None
        self._fsync_at = -float("inf")

    def append(self, event: dict[str, Any]) -> None:
        if self._file is None:
            self._file = open(self.path, "a")
        self._file.write(json.dumps(jsonable(event), default=str) + "\n")
        self._file.flush()
        now = time.time()
        if now - self._fsync_at >= FSYNC_EVERY_S:
            os.fsync(self._file.fileno())
            self._fsync_at = now

    def close(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
