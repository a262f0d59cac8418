"""Dataset loaders: name + data directory -> normalised train/validation/test tensors.

``load_dataset`` is the only entry point; every suite's data comes through it, split with the
suite's seed and cached as processed tensors so that trials start fast.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from hyperion_bench.data import _builtin, _files
from hyperion_bench.data._common import Dataset, Raw, cached
from hyperion_bench.errors import UserError

__all__ = ["DATASETS", "Dataset", "load_dataset", "resolve_data_dir"]

_READERS: dict[str, Callable[[Path | None, bool], Raw]] = {
    "digits": lambda d, dl: _builtin.read_digits(),
    "mnist1d": lambda d, dl: _builtin.read_mnist1d(),
    "mnist": lambda d, dl: _files.read_idx("mnist", "MNIST", d, dl),
    "fashion-mnist": lambda d, dl: _files.read_idx("fashion-mnist", "FashionMNIST", d, dl),
    "cifar10": lambda d, dl: _files.read_cifar10("cifar10", d, dl),
    "eurosat": lambda d, dl: _files.read_eurosat("eurosat", d, dl),
    "flowers17": lambda d, dl: _files.read_flowers17("flowers17", d, dl),
}
DATASETS = tuple(_READERS)
_EMBEDDED = {"digits", "mnist1d"}


def resolve_data_dir(data_dir: str | Path | None) -> Path | None:
    """The argument, else ``$HYPERION_DATA_DIR``, else None."""
    value = data_dir if data_dir else os.environ.get("HYPERION_DATA_DIR")
    return Path(value).expanduser().resolve() if value else None


def load_dataset(name: str, data_dir: str | Path | None = None, *, split_seed: int = 0, val_fraction: float = 0.2,
                 test_fraction: float = 0.2, download: bool = False) -> Dataset:
    if name not in _READERS:
        raise UserError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")
    folder = None if name in _EMBEDDED else resolve_data_dir(data_dir)
    if folder is not None and not download and not folder.is_dir():
        raise UserError(f"dataset {name!r}: data directory {folder} does not exist; {_files.FIX}")
    source = "embedded" if folder is None else str(folder)
    return cached(name, source, split_seed, val_fraction, test_fraction, lambda: _READERS[name](folder, download))
