"""Dataset loaders on data the tests make (torchvision layouts), the embedded sets, and clear errors."""

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import REPO
from hyperion_bench.data import load_dataset
from hyperion_bench.errors import UserError

SHARED = REPO.parent / "shared" / "datasets"


def write_idx(path: Path, array: np.ndarray, gz: bool) -> None:
    header = struct.pack(">I", 0x0800 + array.ndim) + b"".join(struct.pack(">I", n) for n in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)


def fake_mnist(root: Path, cls: str = "MNIST", gz: bool = True, n: int = 40) -> None:
    raw = root / cls / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, count in (("train", n), ("t10k", n // 2)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (count, 28, 28)), gz)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(count) % 10, gz)


def fake_cifar(root: Path, n: int = 20) -> None:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), "labels": list(np.arange(n) % 10)}
        (folder / name).write_bytes(pickle.dumps(batch))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"c{i}" for i in range(10)]}))


def fake_eurosat(root: Path, per_class: int = 5) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for c in ("AnnualCrop", "Forest", "River"):
        folder = root / "eurosat" / "2750" / c
        folder.mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(folder / f"{c}_{i}.jpg")


def fake_flowers(root: Path) -> None:
    folder = root / "flowers17-16px"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", 34), ("val", 17), ("test", 17)):
        np.save(folder / f"x_{split}.npy", rng.random((n, 16, 16, 3)))
        np.save(folder / f"y_{split}.npy", np.eye(17)[np.arange(n) % 17])


def test_digits_embedded():
    d = load_dataset("digits")
    assert d.in_shape == (1, 8, 8) and d.n_classes == 10
    assert len(d.x_train) + len(d.x_val) + len(d.x_test) == 1797
    assert d.x_train.dtype == torch.float32 and d.y_train.dtype == torch.int64
    assert torch.allclose(d.x_train.mean(), torch.tensor(0.0), atol=1e-5)  # normalised with train statistics
    assert abs(float(d.x_test.mean())) > 1e-6  # ... not with the test split's own


def test_mnist1d_embedded_is_the_published_split():
    d = load_dataset("mnist1d", val_fraction=0.2)
    assert d.in_shape == (1, 40) and d.n_classes == 10
    assert (len(d.x_train), len(d.x_val), len(d.x_test)) == (3200, 800, 1000)


def test_splits_are_seeded_and_disjoint():
    a, b, c = load_dataset("digits", split_seed=0), load_dataset("digits", split_seed=0), load_dataset("digits",
                                                                                                       split_seed=1)
    assert torch.equal(a.x_val, b.x_val)
    assert not torch.equal(a.x_val, c.x_val)
    rows = {tuple(r.tolist()) for r in a.x_train.flatten(1)}
    assert not any(tuple(r.tolist()) in rows for r in a.x_val.flatten(1))  # digits has no duplicate images
    assert not any(tuple(r.tolist()) in rows for r in a.x_test.flatten(1))


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("name,cls", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_idx_layouts(tmp_path, gz, name, cls):
    fake_mnist(tmp_path, cls, gz)
    d = load_dataset(name, tmp_path, val_fraction=0.25)
    assert d.in_shape == (1, 28, 28)
    assert (len(d.x_train), len(d.x_val), len(d.x_test)) == (30, 10, 20)
    assert not any(p.name.endswith(".tmp") for p in (tmp_path / cls / "raw").iterdir())
    assert sorted(p.name for p in (tmp_path / cls / "raw").iterdir())[0].endswith(".gz") == gz  # untouched


def test_cifar10_layout(tmp_path):
    fake_cifar(tmp_path)
    d = load_dataset("cifar10", tmp_path, val_fraction=0.5)
    assert d.in_shape == (3, 32, 32) and (len(d.x_train), len(d.x_val), len(d.x_test)) == (50, 50, 20)


def test_eurosat_layout(tmp_path):
    fake_eurosat(tmp_path)
    d = load_dataset("eurosat", tmp_path, val_fraction=0.25, test_fraction=0.2)
    assert d.in_shape == (3, 64, 64) and d.n_classes == 3
    assert len(d.x_train) + len(d.x_val) + len(d.x_test) == 15


def test_flowers17_keeps_the_papers_split(tmp_path):
    fake_flowers(tmp_path)
    d = load_dataset("flowers17", tmp_path)
    assert d.in_shape == (3, 16, 16) and d.n_classes == 17
    assert (len(d.x_train), len(d.x_val), len(d.x_test)) == (34, 17, 17)


@pytest.mark.parametrize("name,fragment", [("mnist", "train-images-idx3-ubyte"), ("fashion-mnist", "FashionMNIST"),
                                           ("cifar10", "data_batch_1"), ("eurosat", "2750"),
                                           ("flowers17", "x_train.npy")])
def test_missing_data_is_one_line_naming_folder_and_files(tmp_path, name, fragment):
    with pytest.raises(UserError) as info:
        load_dataset(name, tmp_path)
    text = str(info.value)
    assert "\n" not in text and str(tmp_path) in text and fragment in text and "--data-dir" in text


def test_no_data_dir_at_all(monkeypatch):
    monkeypatch.delenv("HYPERION_DATA_DIR", raising=False)
    with pytest.raises(UserError, match="needs a data directory"):
        load_dataset("mnist", None)


def test_data_dir_from_environment(tmp_path, monkeypatch):
    fake_flowers(tmp_path)
    monkeypatch.setenv("HYPERION_DATA_DIR", str(tmp_path))
    assert load_dataset("flowers17").n_classes == 17


def test_unknown_dataset():
    with pytest.raises(UserError, match="unknown dataset 'imagenet'"):
        load_dataset("imagenet")


def test_second_load_comes_from_the_cache(tmp_path, monkeypatch):
    from hyperion_bench.data import _files

    fake_flowers(tmp_path)
    first = load_dataset("flowers17", tmp_path)
    monkeypatch.setattr(_files, "read_flowers17", lambda *a: (_ for _ in ()).throw(AssertionError("read again")))
    second = load_dataset("flowers17", tmp_path)
    assert torch.equal(first.x_train, second.x_train)


@pytest.mark.skipif(not (SHARED / "MNIST" / "raw").is_dir(), reason="shared MNIST not present")
def test_real_mnist_from_the_shared_gz_files():
    d = load_dataset("mnist", SHARED, val_fraction=0.1)
    assert len(d.x_train) + len(d.x_val) == 60000 and len(d.x_test) == 10000
