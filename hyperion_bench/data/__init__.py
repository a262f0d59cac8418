"""Dataset loaders: name + data directory -> normalised train/validation/test tensors on the CPU.

``load_dataset`` is the only entry point; every suite's data comes through it, split with the suite's
seed and cached as processed tensors, because every trial is a fresh process that loads its data again.
Nothing here touches the network unless ``download=True``.
"""

from __future__ import annotations

import math
import numbers
import os
from pathlib import Path
from typing import Any

from hyperion_bench.data import _builtin, _cache, _flowers, _torchvision, _ucr
from hyperion_bench.data._source import Source, fingerprint
from hyperion_bench.data._split import Dataset, split_and_normalise
from hyperion_bench.errors import UserError
from hyperion_bench.suites import Suite

__all__ = ["DATASETS", "Dataset", "is_ucr", "load_dataset", "load_suite_data", "resolve_data_dir"]

_REGISTRY: dict[str, Source] = {
    "digits": _builtin.DIGITS,
    "mnist1d": _builtin.MNIST1D,
    "mnist": _torchvision.MNIST,
    "fashion-mnist": _torchvision.FASHION_MNIST,
    "cifar10": _torchvision.CIFAR10,
    "eurosat": _torchvision.EUROSAT,
    "flowers17": _flowers.FLOWERS17,
}
DATASETS: tuple[str, ...] = tuple(_REGISTRY)
UCR_PREFIX = _ucr.PREFIX  # "ucr:<Name>": any UCR/UEA problem, through aeon (see _ucr.py)


def is_ucr(name: str) -> bool:
    return name.startswith(UCR_PREFIX)


def resolve_data_dir(data_dir: str | Path | None) -> Path | None:
    """The argument, else ``$HYPERION_DATA_DIR``, else None (an empty string counts as not given)."""
    value = data_dir if data_dir not in (None, "") else os.environ.get("HYPERION_DATA_DIR")
    return Path(value).expanduser().resolve() if value else None


def load_suite_data(suite: Suite, data_dir: str | Path | None = None, download: bool = False) -> Dataset:
    """A suite's dataset with the suite's split and data options: the one call every trial and run makes."""
    return load_dataset(suite.dataset, data_dir, split_seed=suite.split_seed, val_fraction=suite.val_fraction,
                        test_fraction=suite.test_fraction, download=download, **suite.data_options)


def load_dataset(name: str, data_dir: str | Path | None = None, *, split_seed: int = 0,
                 val_fraction: float = 0.2, test_fraction: float = 0.2, download: bool = False,
                 **options: Any) -> Dataset:
    """The named dataset, split and normalised; from the cache when these files were split this way before.

    Official test splits are kept and ``val_fraction`` of the official training set becomes validation;
    without one (digits, eurosat), ``test_fraction`` of everything is the test set first. flowers17 keeps
    its published splits. ``options`` are a source's own settings (``ucr:<Name>``: ``unequal``, ``length``),
    part of the cache key. Missing data, bad fractions and unknown names raise a one-line ``UserError``.
    """
    extra_key = ""
    if is_ucr(name):
        source, extra_key = _ucr.source(**options)
    else:
        source = _REGISTRY.get(name)
        if source is None:
            raise UserError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}, {UCR_PREFIX}<Name>")
        if options:
            raise UserError(f"dataset {name!r} takes no options ({', '.join(sorted(options))})")
    for label, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not (isinstance(value, int | float) and math.isfinite(value) and 0 < value < 1):
            raise UserError(f"{label} must be a number strictly between 0 and 1, got {value!r}")
    if not isinstance(split_seed, numbers.Integral) or isinstance(split_seed, bool):
        raise UserError(f"split_seed must be an integer, got {split_seed!r}")
    paths = source.locate(name, resolve_data_dir(data_dir), download)
    seed, val, test = int(split_seed), float(val_fraction), float(test_fraction)  # plain types: stable keys
    params = {"carve-test": f"seed={seed}|val={val!r}|test={test!r}",
              "official-test": f"seed={seed}|val={val!r}",
              "fixed": "fixed"}[source.splits]
    key = f"{fingerprint(paths)}|{params}" + (f"|{extra_key}" if extra_key else "")  # old entries stay valid
    entry = _cache.entry_path(name.replace(":", "-"), key)
    data = _cache.load(entry)
    if data is None:
        raw = source.read(paths)
        data = split_and_normalise(name, raw, split_seed=seed, val_fraction=val, test_fraction=test)
        _cache.save(entry, data)
    return data
