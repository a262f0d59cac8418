"""What a dataset family provides (find its files, read them) and the one-line messages for missing data.

Why locating and reading are separate: locating is a few ``stat`` calls, so it runs on every load: it
gives the cache key a fingerprint of the files (a replaced data set is never served from a stale cache)
and reports missing data as one line. Reading (decoding, generating) only runs on a cache miss.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hyperion_bench.data._split import Raw
from hyperion_bench.errors import UserError

FIX = "pass --data-dir DIR (or set HYPERION_DATA_DIR), or add --download where there is internet"
FIX_NO_DOWNLOAD = "pass --data-dir DIR (or set HYPERION_DATA_DIR)"

Splits = Literal["carve-test", "official-test", "fixed"]


@dataclass(frozen=True)
class Source:
    """One dataset family.

    ``locate(name, data_dir, download)`` returns the paths it will read (their size and mtime go into
    the cache key) or raises a one-line ``UserError``; ``read(paths)`` returns the raw arrays.
    ``splits`` says which split parameters matter, so that irrelevant ones do not multiply cache entries:
    "carve-test" (val and test fractions), "official-test" (val fraction), "fixed" (neither).
    """

    locate: Callable[[str, Path | None, bool], list[Path]]
    read: Callable[[list[Path]], Raw]
    splits: Splits


def fingerprint(paths: Sequence[Path]) -> str:
    """Path, size and modification time of each file or folder: cheap, and changes when the data does."""
    if not paths:
        return "embedded"
    parts = []
    for p in paths:
        st = p.stat()
        parts.append(f"{p.resolve()}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def no_data_dir(name: str, expected: str, fix: str = FIX) -> UserError:
    return UserError(f"dataset {name!r}: no data directory given; it needs {expected} under it; {fix}")


def missing(name: str, folder: Path, files: Sequence[str], fix: str = FIX) -> UserError:
    where = f"{folder} (no such folder)" if not folder.is_dir() else str(folder)
    return UserError(f"dataset {name!r}: missing files in {where}: {', '.join(files)}; {fix}")
