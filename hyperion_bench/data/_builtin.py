"""Datasets that ship inside packages: scikit-learn's digits and MNIST-1D (no files, no download)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hyperion_bench.data._source import Source
from hyperion_bench.data._split import Raw


def _embedded(name: str, data_dir: Path | None, download: bool) -> list[Path]:
    """Nothing to find: the data directory and ``download`` do not apply."""
    return []


def read_digits(paths: list[Path]) -> Raw:
    """1,797 real 8x8 digits; pixel values 0..16 scaled to [0, 1]. No official test split."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return Raw((d.images / 16.0).astype(np.float32)[:, None], d.target, n_classes=10)


def mnist1d_args() -> Any:
    """The published generation settings (a function so that tests can shrink them)."""
    from mnist1d.data import get_dataset_args

    return get_dataset_args()


def read_mnist1d(paths: list[Path]) -> Raw:
    """The published 4,000 / 1,000 MNIST-1D split, generated offline and deterministically (seed 42).

    ``mnist1d.data.get_dataset`` tries a download first; ``make_dataset`` builds the same data locally
    (a few seconds, hence the cache).
    """
    from mnist1d.data import make_dataset

    d = make_dataset(mnist1d_args())
    return Raw(np.asarray(d["x"])[:, None, :], np.asarray(d["y"]), n_classes=10,
               x_test=np.asarray(d["x_test"])[:, None, :], y_test=np.asarray(d["y_test"]))


DIGITS = Source(locate=_embedded, read=read_digits, splits="carve-test")
MNIST1D = Source(locate=_embedded, read=read_mnist1d, splits="official-test")
