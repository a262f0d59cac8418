"""Datasets read from files under a data directory, in the layouts torchvision and the papers use.

Why adapters around torchvision: torchvision knows the formats but (a) its MNIST reader wants the
extracted IDX files while shared copies often hold only the ``.gz`` originals, (b) it verifies md5
sums meant for downloads, which a locally made or re-packed copy fails, and (c) it raises tracebacks
for missing files. Here a missing file is one line naming the directory and the expected files.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
from pathlib import Path

import numpy as np

from hyperion_bench.data._common import Raw, cache_dir
from hyperion_bench.errors import UserError

FIX = "pass --data-dir DIR (or set HYPERION_DATA_DIR), or add --download where there is internet"
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
CIFAR_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch", "batches.meta")
FLOWERS_FILES = tuple(f"{a}_{s}.npy" for s in ("train", "val", "test") for a in ("x", "y"))


def missing(name: str, folder: Path, files: list[str]) -> UserError:
    return UserError(f"dataset {name!r}: missing files in {folder}: {', '.join(files)}; {FIX}")


def need_dir(name: str, data_dir: Path | None, expected: str) -> Path:
    if data_dir is None:
        raise UserError(f"dataset {name!r} needs a data directory holding {expected}; {FIX}")
    return data_dir


def read_idx(name: str, cls_name: str, data_dir: Path | None, download: bool) -> Raw:
    """MNIST / Fashion-MNIST in torchvision's layout ``<dir>/<Class>/raw/``, extracted or ``.gz``."""
    import torchvision.datasets as tvd
    from torchvision.datasets.mnist import read_image_file, read_label_file

    cls = getattr(tvd, cls_name)
    data_dir = need_dir(name, data_dir, f"{cls_name}/raw/{IDX_FILES[0]}(.gz), ...")
    if download:
        train, test = cls(str(data_dir), train=True, download=True), cls(str(data_dir), train=False, download=True)
        return Raw(train.data.numpy()[:, None], train.targets.numpy(), test.data.numpy()[:, None],
                   test.targets.numpy())
    raw = data_dir / cls_name / "raw"
    paths = {}
    for f in IDX_FILES:
        if (raw / f).exists():
            paths[f] = raw / f
        elif (raw / f"{f}.gz").exists():
            paths[f] = _gunzip(raw / f"{f}.gz", cls_name)
    absent = [f"{f}(.gz)" for f in IDX_FILES if f not in paths]
    if absent:
        raise missing(name, raw, absent)
    x, y = read_image_file(str(paths[IDX_FILES[0]])), read_label_file(str(paths[IDX_FILES[1]]))
    xt, yt = read_image_file(str(paths[IDX_FILES[2]])), read_label_file(str(paths[IDX_FILES[3]]))
    return Raw(x.numpy()[:, None] / 255.0, y.numpy(), xt.numpy()[:, None] / 255.0, yt.numpy())


def _gunzip(path: Path, cls_name: str) -> Path:
    """Extract into the cache (never into the user's data directory, which may be read-only)."""
    stat = path.stat()
    tag = hashlib.sha1(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    out = cache_dir() / "extracted" / cls_name / tag / path.stem
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        with gzip.open(path, "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst)
        tmp.replace(out)
    return out


def read_cifar10(name: str, data_dir: Path | None, download: bool) -> Raw:
    """CIFAR-10 python batches under ``<dir>/cifar-10-batches-py/``."""
    from torchvision.datasets import CIFAR10

    data_dir = need_dir(name, data_dir, "cifar-10-batches-py/data_batch_1..5, test_batch")
    folder = data_dir / "cifar-10-batches-py"
    absent = [f for f in CIFAR_FILES if not (folder / f).exists()]
    if absent and not download:
        raise missing(name, folder, absent)

    class LocalCIFAR10(CIFAR10):  # presence, not the download's md5 sums, decides whether a local copy is usable
        train_list = [[f, None] for f, _ in CIFAR10.train_list]
        test_list = [[f, None] for f, _ in CIFAR10.test_list]
        meta = {**CIFAR10.meta, "md5": None}

    cls = CIFAR10 if download else LocalCIFAR10
    train, test = cls(str(data_dir), train=True, download=download), cls(str(data_dir), train=False, download=download)

    def chw(a: np.ndarray) -> np.ndarray:
        return a.transpose(0, 3, 1, 2) / 255.0

    return Raw(chw(train.data), np.asarray(train.targets), chw(test.data), np.asarray(test.targets))


def read_eurosat(name: str, data_dir: Path | None, download: bool) -> Raw:
    """EuroSAT RGB: ``<dir>/eurosat/2750/<class>/*.jpg`` (torchvision's layout), decoded once."""
    from torchvision.datasets import EuroSAT

    data_dir = need_dir(name, data_dir, "eurosat/2750/<class>/*.jpg")
    folder = data_dir / "eurosat" / "2750"
    if not download and (not folder.is_dir() or not any(folder.glob("*/*.jpg"))):
        raise missing(name, folder, ["<class>/*.jpg (e.g. AnnualCrop/AnnualCrop_1.jpg)"])
    ds = EuroSAT(str(data_dir), download=download)
    images = [np.asarray(ds.loader(path), dtype=np.uint8) for path, _ in ds.samples]
    x = np.stack(images).transpose(0, 3, 1, 2) / 255.0
    return Raw(x, np.asarray(ds.targets))


def read_flowers17(name: str, data_dir: Path | None, download: bool) -> Raw:
    """The bag-of-baselines Flowers-17 files (16x16 RGB, fixed 680/340/340 split)."""
    data_dir = need_dir(name, data_dir, "flowers17-16px/x_train.npy, ...")
    folder = data_dir / "flowers17-16px"
    absent = [f for f in FLOWERS_FILES if not (folder / f).exists()]
    if absent:
        raise missing(name, folder, absent)  # no public download of this preprocessed copy

    def load(stem: str) -> np.ndarray:
        return np.load(folder / f"{stem}.npy")

    def chw(a: np.ndarray) -> np.ndarray:
        return a.transpose(0, 3, 1, 2)

    return Raw(chw(load("x_train")), load("y_train").argmax(1), chw(load("x_test")), load("y_test").argmax(1),
               chw(load("x_val")), load("y_val").argmax(1))
