"""Raw arrays -> the ``Dataset`` every suite trains on: seeded stratified splits, train-statistics scaling.

Why split indices instead of arrays: sources stay in their compact dtype (uint8 pixels) until the split
is known, so a 60,000-image set is converted to float32 once, never copied as float64. Why no /255:
per-channel standardisation is invariant to scaling the input, so it would change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hyperion_bench.errors import UserError


@dataclass
class Dataset:
    """Normalised float32 inputs, (N, C, H, W) images or (N, C, L) signals, int64 labels; on the CPU."""

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
    """What a source reader returns: channel-first arrays in any numeric dtype, plus official splits.

    ``x_test`` is set when the source has an official test split (it is then kept as it is);
    ``x_val`` only when the source also fixes the validation split (flowers17).
    """

    x: np.ndarray
    y: np.ndarray
    n_classes: int
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None


def split_and_normalise(name: str, raw: Raw, *, split_seed: int, val_fraction: float,
                        test_fraction: float) -> Dataset:
    """Carve test (if not official) then validation out of the rest; scale by the train split's statistics."""
    x, y = raw.x, raw.y
    if raw.x_test is None:
        x, y, x_test, y_test = _carve(name, x, y, test_fraction, split_seed, "test")
    else:
        x_test, y_test = raw.x_test, raw.y_test
    if raw.x_val is None:
        x, y, x_val, y_val = _carve(name, x, y, val_fraction, split_seed, "validation")
    else:
        x_val, y_val = raw.x_val, raw.y_val
    x_train = _float(x)
    dims = [0, *range(2, x_train.dim())]  # everything but the channel axis
    std, mean = torch.std_mean(x_train, dim=dims, keepdim=True)
    std = std.clamp_min(1e-8)  # a constant channel becomes zeros rather than NaN
    return Dataset(
        name=name,
        x_train=x_train.sub_(mean).div_(std),
        y_train=_labels(name, y, raw.n_classes),
        x_val=_float(x_val).sub_(mean).div_(std),
        y_val=_labels(name, y_val, raw.n_classes),
        x_test=_float(x_test).sub_(mean).div_(std),
        y_test=_labels(name, y_test, raw.n_classes),
        n_classes=raw.n_classes,
    )


def _carve(name: str, x: np.ndarray, y: np.ndarray, fraction: float, seed: int,
           what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(rest_x, rest_y, part_x, part_y): a stratified ``fraction`` of the samples, fixed by ``seed``."""
    from sklearn.model_selection import train_test_split  # imported here: a cache hit never needs sklearn

    try:
        keep, part = train_test_split(np.arange(len(y)), test_size=fraction, stratify=y, random_state=seed)
    except ValueError as e:  # too few samples of some class for a stratified split
        raise UserError(f"dataset {name!r}: cannot carve a stratified {what} split of {fraction} from "
                        f"{len(y)} samples: {' '.join(str(e).split())}") from e
    return x[keep], y[keep], x[part], y[part]


def _float(a: np.ndarray) -> torch.Tensor:
    """A fresh float32 copy: the caller scales it in place, and sources may be read-only buffers."""
    return torch.from_numpy(np.array(a, dtype=np.float32, order="C"))


def _labels(name: str, y: np.ndarray, n_classes: int) -> torch.Tensor:
    labels = torch.from_numpy(np.asarray(y).astype(np.int64))
    if len(labels) and (int(labels.min()) < 0 or int(labels.max()) >= n_classes):
        raise UserError(f"dataset {name!r}: labels outside 0..{n_classes - 1} "
                        f"(found {int(labels.min())}..{int(labels.max())}); the data files look damaged")
    return labels
