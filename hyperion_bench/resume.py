"""What an interrupted (method, seed) left in its folder, read back so that the run can go on from there.

Why a module of its own: the runner decides *whether* to resume; this says *what there is*: the
finished trials (``trials.jsonl``, the records' source of truth), the optimiser's history
(``history.jsonl``), the budget already spent (``metadata.json``'s segments), and the first free trial
id. Torn last lines of the logs (a process killed mid-write) are dropped here and cut from the files.

The wall-clock a killed segment used is not written anywhere when it dies, so it is taken as the time
from the segment's start to the last write into its logs (an epoch report, a finished trial, an ask):
the time between that write and the kill is lost work, counted by no one, and is at most one epoch.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hyperion_bench.errors import UserError
from hyperion_bench.history import HISTORY_FILE, read_log
from hyperion_bench.records import EPOCHS_FILE, TRIALS_LOG, metrics_of_row

METADATA_FILE = "metadata.json"
TOLD_STATUSES = ("completed", "failed")  # rows whose trial the optimiser was told about


@dataclass
class EarlierAttempt:
    rows: dict[int, dict[str, Any]]  # trial id -> its row in trials.jsonl
    events: list[dict[str, Any]]  # history.jsonl
    segments: list[dict[str, Any]]  # metadata.json's segments, the last one closed here
    meta: dict[str, Any] = field(default_factory=dict)  # the earlier attempt's metadata.json ({} if none)
    torn: list[str] = field(default_factory=list)  # logs whose torn last line was dropped

    @property
    def used_s(self) -> float:
        return used_seconds(self.segments)

    @property
    def next_trial_id(self) -> int:
        ids = [*self.rows, *(int(e["trial_id"]) for e in self.events if "trial_id" in e)]
        return max(ids) + 1 if ids else 0

    @property
    def has_trials(self) -> bool:
        return bool(self.rows or self.events)

    def results(self) -> dict[int, dict[str, Any]]:
        """What the optimiser was told of each finished trial (for :meth:`OptimizerScheduler.replay`)."""
        return {tid: metrics_of_row(row) for tid, row in self.rows.items() if row.get("status") in TOLD_STATUSES}


def read_attempt(folder: Path) -> EarlierAttempt:
    """The earlier attempt's records in ``folder`` (which exists and is not finished)."""
    folder = Path(folder)
    torn = []
    rows_log = read_log(folder / TRIALS_LOG)
    events_log = read_log(folder / HISTORY_FILE)
    for name, log in ((TRIALS_LOG, rows_log), (HISTORY_FILE, events_log)):
        if log.torn:
            torn.append(name)
    rows = {int(r["trial_id"]): r for r in rows_log.records}  # a trial rewritten later: the last row counts
    meta = _metadata(folder)
    return EarlierAttempt(rows=rows, events=events_log.records, segments=_segments(folder, meta), meta=meta,
                          torn=torn)


def _metadata(folder: Path) -> dict[str, Any]:
    path = folder / METADATA_FILE
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: unreadable ({exc}); remove the folder {folder} to start this run again") from None


def _segments(folder: Path, meta: dict[str, Any]) -> list[dict[str, Any]]:
    """The segments recorded in metadata.json; one still open (its process was killed) is closed at the
    last write into the folder's logs."""
    segments = [dict(s) for s in meta.get("segments", [])]
    if not segments and "started_unix" in meta:
        segments = [{"started_unix": meta["started_unix"]}]
    for s in segments:
        if s.get("ended_unix") is None:
            s["ended_unix"] = max([s["started_unix"], *_last_writes(folder)])
    return segments


def _last_writes(folder: Path) -> list[float]:
    return [p.stat().st_mtime for p in (folder / TRIALS_LOG, folder / EPOCHS_FILE, folder / HISTORY_FILE) if p.exists()]


def open_segment(meta: dict[str, Any], earlier: EarlierAttempt | None) -> None:
    """Start a new segment in ``meta`` (closed segments of the earlier attempt first)."""
    segments = list(earlier.segments) if earlier is not None else []
    segments.append({"started": time.strftime("%Y-%m-%dT%H:%M:%S"), "started_unix": time.time(), "ended_unix": None})
    meta["segments"] = segments
    meta["started_unix"] = segments[0]["started_unix"]


def close_segment(meta: dict[str, Any]) -> float:
    """Close the open segment; returns the wall-clock used by all segments."""
    meta["segments"][-1]["ended_unix"] = time.time()
    return used_seconds(meta["segments"])


def used_seconds(segments: list[dict[str, Any]]) -> float:
    """The wall-clock the (closed) ``segments`` used."""
    return sum(s["ended_unix"] - s["started_unix"] for s in segments)
