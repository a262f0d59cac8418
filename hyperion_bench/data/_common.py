"""The Dataset container, deterministic splits, normalisation and the processed-tensor cache.

Why a cache: every trial runs ``load_dataset``; decoding 27,000 EuroSAT JPEGs or generating
MNIST-1D takes seconds to minutes, loading a saved tensor file a fraction of a second. The cache key
covers the dataset, its source, the split parameters and a format version, and files are written
atomically (temp file + rename) because parallel workers may write the same entry at once.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split

FORMAT_VERSION = 1


@dataclass
class Dataset:
    """Normalised float32 inputs (N, C, H, W) or (N, C, L) and int64 labels, on the CPU."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int

    @property
    def in_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


@dataclass
class Raw:
    """What a source reader returns: unnormalised arrays, an official test split or None."""

    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    x_val: np.ndarray | None = None  # only when the source fixes a validation split (flowers17)
    y_val: np.ndarray | None = None


def cache_dir() -> Path:
    return Path(os.environ.get("HYPERION_CACHE_DIR", Path.home() / ".cache" / "hyperion_bench"))


def split_and_normalise(name: str, raw: Raw, split_seed: int, val_fraction: float, test_fraction: float) -> Dataset:
    """Stratified, seeded splits; the test split is the official one when the source has one."""
    x, y = raw.x, raw.y
    if raw.x_test is None:
        x, x_test, y, y_test = train_test_split(x, y, test_size=test_fraction, stratify=y, random_state=split_seed)
    else:
        x_test, y_test = raw.x_test, raw.y_test
    if raw.x_val is None:
        x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=val_fraction, stratify=y,
                                                          random_state=split_seed)
    else:
        x_train, y_train, x_val, y_val = x, y, raw.x_val, raw.y_val
    x_train = torch.as_tensor(np.asarray(x_train, dtype=np.float32))
    axes = [0] + list(range(2, x_train.dim()))  # per channel
    mean = x_train.mean(dim=axes, keepdim=True)
    std = x_train.std(dim=axes, keepdim=True).clamp_min(1e-8)

    def norm(a: np.ndarray) -> torch.Tensor:
        return ((torch.as_tensor(np.asarray(a, dtype=np.float32)) - mean) / std).contiguous()

    def labels(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(a, dtype=np.int64))

    n_classes = int(max(np.max(y_train), np.max(y_val), np.max(y_test))) + 1
    return Dataset(name, (x_train - mean) / std, labels(y_train), norm(x_val), labels(y_val), norm(x_test),
                   labels(y_test), n_classes)


def cached(name: str, source: str, split_seed: int, val_fraction: float, test_fraction: float,
           read: Callable[[], Raw]) -> Dataset:
    """Load the processed dataset from the cache, or read, split, normalise and store it."""
    key = f"{name}|{source}|{split_seed}|{val_fraction}|{test_fraction}|{FORMAT_VERSION}"
    path = cache_dir() / f"{name}-{hashlib.sha1(key.encode()).hexdigest()[:16]}.pt"
    if path.exists():
        try:
            return Dataset(**torch.load(path, weights_only=True))
        except (OSError, RuntimeError, EOFError, TypeError):
            path.unlink(missing_ok=True)  # a damaged entry is rebuilt, never trusted
    data = split_and_normalise(name, read(), split_seed, val_fraction, test_fraction)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save({f.name: getattr(data, f.name) for f in fields(data)}, tmp)
    os.replace(tmp, path)
    return data
