"""Flowers-17 at 16x16 as published with the bag-of-baselines code: ``<dir>/flowers17-16px/{x,y}_*.npy``.

Why the paper's split is kept as it is: results are only comparable with the paper's on the same
680 / 340 / 340 images, so ``split_seed`` and the fractions do not apply.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hyperion_bench.data._source import FIX_NO_DOWNLOAD, Source, missing, no_data_dir
from hyperion_bench.data._split import Raw
from hyperion_bench.errors import UserError

FILES = tuple(f"{a}_{s}.npy" for s in ("train", "val", "test") for a in ("x", "y"))
_FIX = f"{FIX_NO_DOWNLOAD}; this preprocessed copy has no download"


def locate_flowers17(name: str, data_dir: Path | None, want_download: bool) -> list[Path]:
    if data_dir is None:
        raise no_data_dir(name, f"flowers17-16px/{', '.join(FILES)}", _FIX)
    folder = data_dir / "flowers17-16px"
    absent = [f for f in FILES if not (folder / f).is_file()]
    if absent:
        raise missing(name, folder, absent, _FIX)
    return [folder / f for f in FILES]


def read_flowers17(paths: list[Path]) -> Raw:
    """NHWC float64 in [0, 1] -> NCHW; one-hot labels -> class indices."""
    arrays = {}
    for p in paths:
        try:
            arrays[p.stem] = np.load(p, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise UserError(f"cannot read {p}: {' '.join(str(e).split())}") from e
    for split in ("train", "val", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 4 or y.ndim != 2 or len(x) != len(y):
            raise UserError(f"{paths[0].parent}: x_{split}.npy {x.shape} and y_{split}.npy {y.shape} do not "
                            "fit (expected N x H x W x C images and N x classes one-hot labels)")

    def chw(stem: str) -> np.ndarray:
        return arrays[stem].transpose(0, 3, 1, 2)

    def labels(stem: str) -> np.ndarray:
        return arrays[stem].argmax(axis=1)

    return Raw(chw("x_train"), labels("y_train"), n_classes=arrays["y_train"].shape[1],
               x_test=chw("x_test"), y_test=labels("y_test"), x_val=chw("x_val"), y_val=labels("y_val"))


FLOWERS17 = Source(locate=locate_flowers17, read=read_flowers17, splits="fixed")
