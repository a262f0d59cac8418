"""Atomic file writes: a temporary file in the same folder, flushed to disk, then a rename.

Why a module of its own: results, records, checkpoints, caches and benchmark tables are all rewritten
while a run goes on, and a reader (or a run killed mid-write, or a machine that loses power) must only
ever see a complete file, the old one or the new one. One writer for all of them: the temporary name
is unique per writer (parallel trials may write the same cache file), the data is fsynced before the
rename, and a failed write leaves no temporary file behind. It imports nothing heavy, so the benchmark
scripts can use it on a machine that has only torch and pandas.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomic(path: Path | str, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(f)`` on a fresh binary file beside ``path``, fsync it, and rename it onto ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as f:  # not mkstemp: its 0600 would ignore the umask
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # only left when the write or the rename failed


def write_bytes_atomic(path: Path | str, data: bytes) -> None:
    write_atomic(path, lambda f: f.write(data))


def write_text_atomic(path: Path | str, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))
