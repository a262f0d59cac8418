"""Datasets that ship inside packages: scikit-learn's digits and MNIST-1D (no files, no download)."""

from __future__ import annotations

import numpy as np

from hyperion_bench.data._common import Raw


def read_digits() -> Raw:
    """1,797 real 8x8 digits; pixel values 0..16 scaled to [0, 1]."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return Raw((d.data / 16.0).reshape(-1, 1, 8, 8), d.target)


def read_mnist1d() -> Raw:
    """The published 4,000 / 1,000 MNIST-1D split, generated offline and deterministically.

    ``mnist1d.data.get_dataset`` tries a download first; ``make_dataset`` builds the same data locally.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    d = make_dataset(get_dataset_args())
    return Raw(np.asarray(d["x"])[:, None, :], np.asarray(d["y"]), np.asarray(d["x_test"])[:, None, :],
               np.asarray(d["y_test"]))
