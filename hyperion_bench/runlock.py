"""One writer per result folder: a lock file per (suite, method, seed).

Why: two commands with the same ``--out`` used to destroy each other (issue 14): the second found the
first's folder unfinished, renamed it aside as an interrupted attempt, and the first died with a
traceback writing into a folder that had moved. Now a run takes ``.seed-<k>.lock`` beside the folder
(created with O_EXCL, holding host, pid and start time) before it touches the folder, and removes it at
the end. A second command finds the lock: when its holder is alive (or on another host, where it cannot
be checked) it stops with one line naming the holder; when the holder's process is gone from this host
(killed, crashed) the lock is stale and is taken over, said in one line. The lock sits beside the
folder, not in it, so setting an interrupted attempt aside never moves it.
"""

from __future__ import annotations

import json
import os
import socket
import time
from datetime import datetime
from pathlib import Path

from hyperion_bench.errors import UserError

FRESH_S = 10.0  # an unreadable lock younger than this is being written by its holder: treat it as live


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class RunLock:
    def __init__(self, folder: Path):
        self.folder = folder
        self.path = folder.with_name(f".{folder.name}.lock")
        self.held = False

    def _holder(self) -> dict | None:
        try:
            holder = json.loads(self.path.read_text())
            return holder if isinstance(holder, dict) and {"host", "pid"} <= set(holder) else None
        except (OSError, ValueError):
            return None

    def acquire(self) -> str | None:
        """Take the lock; returns a line to print when a stale lock was taken over. A live holder is a
        :class:`UserError` naming it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        note = None
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._holder()
                if holder is None:
                    try:
                        young = time.time() - self.path.stat().st_mtime < FRESH_S
                    except FileNotFoundError:  # released meanwhile: try again
                        continue
                    if young:
                        raise UserError(f"{self.folder}: another run is starting to write it (lock {self.path}); "
                                        f"wait for it, or pass another --out") from None
                    note = f"[hyperion-bench] {self.folder}: an unreadable lock {self.path.name} was taken over"
                elif holder["host"] == socket.gethostname() and not _alive(int(holder["pid"])):
                    note = (f"[hyperion-bench] {self.folder}: the lock of a run that is gone (pid {holder['pid']}, "
                            f"started {holder.get('started', '?')}) was taken over")
                else:
                    raise UserError(f"{self.folder}: another run is writing it (pid {holder['pid']} on "
                                    f"{holder['host']}, since {holder.get('started', '?')}); wait for it, or pass "
                                    f"another --out (if that run is gone, delete {self.path})") from None
                self.path.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w") as f:
                json.dump({"host": socket.gethostname(), "pid": os.getpid(),
                           "started": datetime.now().isoformat(timespec="seconds")}, f)
                f.flush()
                os.fsync(f.fileno())
            self.held = True
            return note
        raise UserError(f"{self.folder}: could not take the lock {self.path} (another run keeps taking it)")

    def release(self) -> None:
        if self.held:
            holder = self._holder()
            if holder is not None and int(holder["pid"]) == os.getpid():
                self.path.unlink(missing_ok=True)
            self.held = False
