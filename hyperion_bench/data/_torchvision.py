"""MNIST, Fashion-MNIST, CIFAR-10 and EuroSAT, read from torchvision's on-disk layouts.

Why read the layouts here instead of through ``torchvision.datasets``: torchvision's MNIST reader
(``read_sn3_pascalvincent_tensor``) only opens extracted files by path, while shared copies hold the
``.gz`` originals, and extracting them would mean writing into the user's data directory; its CIFAR-10
class insists on the download's md5 sums, which any locally made copy fails; importing it costs seconds
on every cache miss; and its failures are tracebacks. The formats are small and fixed, so they are
parsed here, and torchvision is used for what it alone can do: ``download=True``.
"""

from __future__ import annotations

import gzip
import os
import pickle
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from math import prod
from pathlib import Path
from typing import Any

import numpy as np

from hyperion_bench.data._source import Source, missing, no_data_dir
from hyperion_bench.data._split import Raw
from hyperion_bench.errors import UserError

IDX_STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte")
CIFAR_FILES = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta")
# ImageFolder's IMG_EXTENSIONS
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def download(name: str, cls_name: str, root: Path) -> None:
    """Let torchvision fetch and extract the data into ``root`` in its own layout: the only network access."""
    import torchvision.datasets

    root.mkdir(parents=True, exist_ok=True)
    try:
        getattr(torchvision.datasets, cls_name)(str(root), download=True)
    except Exception as e:  # no network, a changed mirror, a bad checksum: all one line for people
        reason = " ".join(str(e).split()) or type(e).__name__
        raise UserError(f"dataset {name!r}: download into {root} failed: {reason}; fetch the files elsewhere "
                        "and pass --data-dir DIR (or set HYPERION_DATA_DIR)") from e


# ---- MNIST and Fashion-MNIST: <dir>/<MNIST|FashionMNIST>/raw/*-idx?-ubyte[.gz]


def _find_idx(raw: Path) -> dict[str, Path]:
    """Each IDX file, extracted if present (faster to read), else its ``.gz`` original."""
    found = {}
    for stem in IDX_STEMS:
        for candidate in (raw / stem, raw / f"{stem}.gz"):
            if candidate.is_file():
                found[stem] = candidate
                break
    return found


def locate_idx(cls_name: str, name: str, data_dir: Path | None, want_download: bool) -> list[Path]:
    if data_dir is None:
        raise no_data_dir(name, f"{cls_name}/raw/{IDX_STEMS[0]}(.gz) and the other three IDX files")
    raw = data_dir / cls_name / "raw"
    found = _find_idx(raw)
    if len(found) < len(IDX_STEMS) and want_download:
        download(name, cls_name, data_dir)
        found = _find_idx(raw)
    if len(found) < len(IDX_STEMS):
        raise missing(name, raw, [f"{stem}(.gz)" for stem in IDX_STEMS if stem not in found])
    return [found[stem] for stem in IDX_STEMS]


def read_idx(path: Path) -> np.ndarray:
    """One IDX file (LeCun's format: big-endian header, dtype code, dims, data), plain or gzipped."""
    try:
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as e:
        raise UserError(f"cannot read {path}: {e}") from e
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise UserError(f"{path} is not an IDX file (bad magic number); the data files look damaged")
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    offset = 4 + 4 * ndim
    if len(data) - offset < prod(shape) * dtype.itemsize:
        raise UserError(f"{path} is truncated: its header promises shape {tuple(shape)}")
    return np.frombuffer(data, dtype=dtype, count=prod(shape), offset=offset).reshape(shape)


def read_idx_dataset(paths: list[Path]) -> Raw:
    x, y, x_test, y_test = (read_idx(p) for p in paths)
    for images, labels, p in ((x, y, paths[0]), (x_test, y_test, paths[2])):
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise UserError(f"{p}: {images.shape} images do not match {labels.shape} labels; "
                            "the data files look damaged")
    return Raw(x[:, None], y, n_classes=10, x_test=x_test[:, None], y_test=y_test)


# ---- CIFAR-10: <dir>/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}


def locate_cifar10(name: str, data_dir: Path | None, want_download: bool) -> list[Path]:
    if data_dir is None:
        raise no_data_dir(name, "cifar-10-batches-py/data_batch_1..5, test_batch and batches.meta")
    folder = data_dir / "cifar-10-batches-py"
    absent = [f for f in CIFAR_FILES if not (folder / f).is_file()]
    if absent and want_download:
        download(name, "CIFAR10", data_dir)
        absent = [f for f in CIFAR_FILES if not (folder / f).is_file()]
    if absent:
        raise missing(name, folder, absent)
    return [folder / f for f in CIFAR_FILES]


def _unpickle(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return pickle.load(f, encoding="latin1")  # the batches were pickled by Python 2
    except (OSError, EOFError, pickle.UnpicklingError, ValueError) as e:
        raise UserError(f"cannot read {path}: {' '.join(str(e).split())}") from e


def read_cifar10(paths: list[Path]) -> Raw:
    """Rows of 3072 bytes are already channel-first (1024 R, 1024 G, 1024 B): reshape, no transpose."""
    batches = [_unpickle(p) for p in paths[:6]]
    try:
        n_classes = len(_unpickle(paths[6])["label_names"])

        def images(bs: list[dict[str, Any]]) -> np.ndarray:
            return np.concatenate([np.asarray(b["data"], dtype=np.uint8).reshape(-1, 3, 32, 32) for b in bs])

        def labels(bs: list[dict[str, Any]]) -> np.ndarray:
            return np.concatenate([np.asarray(b.get("labels", b.get("fine_labels"))) for b in bs])

        return Raw(images(batches[:5]), labels(batches[:5]), n_classes=n_classes,
                   x_test=images(batches[5:]), y_test=labels(batches[5:]))
    except (KeyError, TypeError, ValueError) as e:
        raise UserError(f"{paths[0].parent}: unexpected CIFAR-10 batch contents ({type(e).__name__}: {e}); "
                        "the data files look damaged") from e


# ---- EuroSAT (RGB): <dir>/eurosat/2750/<class>/*.jpg, an ImageFolder


def _class_dirs(folder: Path) -> list[Path]:
    """Every sub-folder, sorted by name: ImageFolder's classes and label order."""
    if not folder.is_dir():
        return []
    return sorted((Path(e.path) for e in os.scandir(folder) if e.is_dir()), key=lambda p: p.name)


def locate_eurosat(name: str, data_dir: Path | None, want_download: bool) -> list[Path]:
    """The image folder and its class folders (their mtimes change when images are added or removed)."""
    if data_dir is None:
        raise no_data_dir(name, "eurosat/2750/<class>/*.jpg")
    folder = data_dir / "eurosat" / "2750"
    classes = _class_dirs(folder)
    if not classes and want_download:
        download(name, "EuroSAT", data_dir)
        classes = _class_dirs(folder)
    if not classes:
        raise missing(name, folder, ["<class>/*.jpg (e.g. AnnualCrop/AnnualCrop_1.jpg)"])
    return [folder, *classes]


def _images_in(class_dir: Path) -> list[str]:
    """ImageFolder's order: walk sorted, file names sorted, known image extensions only."""
    return [os.path.join(root, f) for root, _, files in sorted(os.walk(class_dir, followlinks=True))
            for f in sorted(files) if f.lower().endswith(IMAGE_EXTENSIONS)]


def _decode(path: str) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except OSError as e:
        raise UserError(f"cannot decode image {path}: {e}") from e


def read_eurosat(paths: list[Path]) -> Raw:
    """Every image decoded once (threads: PIL releases the GIL while decoding); no official test split."""
    classes = paths[1:]
    files: list[str] = []
    labels: list[int] = []
    for label, class_dir in enumerate(classes):
        found = _images_in(class_dir)
        if not found:
            raise UserError(f"EuroSAT class folder {class_dir} holds no images "
                            f"({', '.join(IMAGE_EXTENSIONS)})")
        files += found
        labels += [label] * len(found)
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        images = list(pool.map(_decode, files))
    odd = next((f for f, im in zip(files, images, strict=True) if im.shape != images[0].shape), None)
    if odd is not None:
        raise UserError(f"EuroSAT images differ in size: {files[0]} is {images[0].shape[:2]}, {odd} is not")
    x = np.stack(images).transpose(0, 3, 1, 2)
    return Raw(x, np.asarray(labels), n_classes=len(classes))


MNIST = Source(partial(locate_idx, "MNIST"), read_idx_dataset, "official-test")
FASHION_MNIST = Source(partial(locate_idx, "FashionMNIST"), read_idx_dataset, "official-test")
CIFAR10 = Source(locate=locate_cifar10, read=read_cifar10, splits="official-test")
EUROSAT = Source(locate=locate_eurosat, read=read_eurosat, splits="carve-test")
