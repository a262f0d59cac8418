"""The processed-tensor cache: split, normalised datasets saved with ``torch.save``.

Why: every trial is a fresh process that calls ``load_dataset``; decoding 27,000 EuroSAT JPEGs or
generating MNIST-1D takes seconds, memory-mapping a saved tensor file a few milliseconds. Entries are
written atomically (unique temp file in the same folder + ``os.replace``) because parallel trials may
write the same entry at once; readers then see either no file or a complete one. Nothing is ever
rewritten in place, which is also what makes memory-mapped loading safe.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import fields
from pathlib import Path

import torch

from hyperion_bench.atomic import write_atomic
from hyperion_bench.data._split import Dataset

FORMAT_VERSION = 1  # bump when the processing changes, so old entries are no longer found


def cache_dir() -> Path:
    """``$HYPERION_CACHE_DIR``, else ``~/.cache/hyperion_bench``."""
    value = os.environ.get("HYPERION_CACHE_DIR")
    return Path(value).expanduser() if value else Path.home() / ".cache" / "hyperion_bench"


def entry_path(name: str, key: str) -> Path:
    """One file per (dataset, source fingerprint, split parameters, format version)."""
    digest = hashlib.sha256(f"v{FORMAT_VERSION}|{name}|{key}".encode()).hexdigest()[:24]
    return cache_dir() / f"{name}-{digest}.pt"


def load(path: Path) -> Dataset | None:
    """The cached dataset, or None when there is no usable entry (a damaged one is removed and rebuilt).

    ``mmap=True`` maps the file instead of reading it (MNIST: ~0.02 s instead of ~0.2-1 s); the mapping
    is private, so a caller writing into the tensors never changes the file.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except FileNotFoundError:
        return None
    except Exception:  # any unreadable entry (truncated, foreign, older torch) is rebuilt, never trusted
        path.unlink(missing_ok=True)
        return None
    if not isinstance(state, dict) or set(state) != {f.name for f in fields(Dataset)}:
        path.unlink(missing_ok=True)
        return None
    return Dataset(**state)


def save(path: Path, data: Dataset) -> None:
    """Write atomically; a cache that cannot be written only costs speed, so it warns instead of failing."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda out: torch.save({f.name: getattr(data, f.name) for f in fields(data)}, out))
    except (OSError, RuntimeError) as e:  # torch's zip writer reports a full disk as RuntimeError
        warnings.warn(f"hyperion_bench: could not cache dataset {data.name!r} in {path.parent}: {e}",
                      stacklevel=3)
