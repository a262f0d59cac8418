"""Atomic file writes: a temporary file in the same folder, then a rename.

Why a module of its own: results, benchmark tables and records are all rewritten while a run goes on,
and a reader (or a run killed mid-write) must only ever see a complete file. It imports nothing
heavy, so the benchmark scripts can use it on a machine that has only torch and pandas.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
