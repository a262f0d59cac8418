"""Dataset loaders: embedded sets, tiny fakes in torchvision's layouts, splits, the cache, one-line errors.

Every test gets its own cache folder, so no entry leaks between tests; nothing here touches the network.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import pickle
import struct
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

import hyperion_bench.data as data_module
from hyperion_bench.data import DATASETS, Dataset, _builtin, _torchvision, load_dataset, resolve_data_dir
from hyperion_bench.data._split import Raw, split_and_normalise
from hyperion_bench.errors import UserError

# the shared dataset copies: $HYPERION_SHARED_DATASETS, else ../shared/datasets next to the checkout
SHARED = Path(os.environ.get("HYPERION_SHARED_DATASETS") or Path(__file__).resolve().parents[2] / "shared" / "datasets")
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]  # the published test set


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HYPERION_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("HYPERION_DATA_DIR", raising=False)


# ---- tiny fakes in the real layouts


def write_idx(path: Path, array: np.ndarray, gz: bool) -> None:
    header = struct.pack(">I", 0x0800 + array.ndim) + b"".join(struct.pack(">I", n) for n in array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    if gz:
        path.with_name(path.name + ".gz").write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)


def fake_mnist(root: Path, cls: str = "MNIST", gz: bool = True, n: int = 40) -> dict[str, np.ndarray]:
    raw = root / cls / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    arrays = {"x": rng.integers(0, 256, (n, 28, 28)), "y": np.arange(n) % 10,
              "x_test": rng.integers(0, 256, (n // 2, 28, 28)), "y_test": np.arange(n // 2) % 10}
    write_idx(raw / "train-images-idx3-ubyte", arrays["x"], gz)
    write_idx(raw / "train-labels-idx1-ubyte", arrays["y"], gz)
    write_idx(raw / "t10k-images-idx3-ubyte", arrays["x_test"], gz)
    write_idx(raw / "t10k-labels-idx1-ubyte", arrays["y_test"], gz)
    return arrays


def fake_cifar(root: Path, n: int = 20) -> dict[str, np.ndarray]:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batches[name] = {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                         "labels": [int(v) for v in rng.permutation(np.arange(n) % 10)]}
        (folder / name).write_bytes(pickle.dumps(batches[name]))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"c{i}" for i in range(10)]}))
    return batches["test_batch"]


def fake_eurosat(root: Path, per_class: int = 5) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    for c in ("River", "AnnualCrop", "Forest"):
        folder = root / "eurosat" / "2750" / c
        folder.mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(folder / f"{c}_{i}.jpg")
    return root / "eurosat" / "2750"


def fake_flowers(root: Path, seed: int = 0) -> dict[str, np.ndarray]:
    folder = root / "flowers17-16px"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in (("train", 34), ("val", 17), ("test", 17)):
        arrays[f"x_{split}"] = rng.random((n, 16, 16, 3)) * np.array([1.0, 2.0, 3.0])  # channels differ
        arrays[f"y_{split}"] = np.eye(17)[rng.permutation(np.arange(n) % 17)]
    for stem, a in arrays.items():
        np.save(folder / f"{stem}.npy", a)
    return arrays


def standardised(x: torch.Tensor) -> torch.Tensor:
    """Per-channel z-scores: equal for two tensors exactly when they differ by a per-channel affine map."""
    dims = [0, *range(2, x.dim())]
    std, mean = torch.std_mean(x.double(), dim=dims, keepdim=True)
    return (x.double() - mean) / std


def check_dataset(d: Dataset, in_shape: tuple[int, ...], n_classes: int) -> None:
    assert d.in_shape == in_shape and d.n_classes == n_classes
    for x, y in ((d.x_train, d.y_train), (d.x_val, d.y_val), (d.x_test, d.y_test)):
        assert x.dtype == torch.float32 and y.dtype == torch.int64 and x.device.type == "cpu"
        assert x.shape[1:] == in_shape and len(x) == len(y) > 0
        assert 0 <= int(y.min()) and int(y.max()) < n_classes


# ---- embedded datasets


def test_digits_shapes_dtypes_labels():
    d = load_dataset("digits")
    check_dataset(d, (1, 8, 8), 10)
    assert len(d.x_train) + len(d.x_val) + len(d.x_test) == 1797
    assert len(d.x_test) == 360 and len(d.x_val) == 288  # test_fraction of all, then val_fraction of the rest
    assert sorted(d.y_train.unique().tolist()) == list(range(10))


def test_mnist1d_keeps_its_official_test_split(monkeypatch):
    small = _builtin.mnist1d_args()
    small.num_samples = 500  # the published 5,000 take seconds to generate; the code path is the same
    monkeypatch.setattr(_builtin, "mnist1d_args", lambda: small)
    d = load_dataset("mnist1d", val_fraction=0.25)
    check_dataset(d, (1, 40), 10)
    assert (len(d.x_train), len(d.x_val), len(d.x_test)) == (300, 100, 100)


# ---- splits and normalisation


def test_splits_are_seeded():
    a, b, c = (load_dataset("digits", split_seed=s) for s in (0, 0, 1))
    assert torch.equal(a.x_val, b.x_val) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.x_val, c.x_val) and not torch.equal(a.x_test, c.x_test)


def test_splits_are_disjoint_complete_and_stratified():
    n, k = 200, 4
    raw = Raw(np.arange(n, dtype=np.float32).reshape(n, 1, 1), np.arange(n) % k, n_classes=k)
    d = split_and_normalise("t", raw, split_seed=3, val_fraction=0.25, test_fraction=0.2)
    # normalisation is one increasing affine map, so each sample index keeps a distinct value
    values = torch.cat([d.x_train, d.x_val, d.x_test]).flatten()
    assert len(values) == n and len(values.unique()) == n
    assert (len(d.x_train), len(d.x_val), len(d.x_test)) == (120, 40, 40)
    for y in (d.y_train, d.y_val, d.y_test):
        assert torch.bincount(y, minlength=k).tolist() == [len(y) // k] * k


def test_normalisation_uses_train_statistics_per_channel(tmp_path):
    raw = fake_flowers(tmp_path)
    d = load_dataset("flowers17", tmp_path)
    train = torch.from_numpy(raw["x_train"]).permute(0, 3, 1, 2)
    std, mean = torch.std_mean(train, dim=[0, 2, 3], keepdim=True)
    expected_val = (torch.from_numpy(raw["x_val"]).permute(0, 3, 1, 2) - mean) / std
    assert torch.allclose(d.x_val.double(), expected_val, atol=1e-5)
    assert torch.allclose(d.x_train.mean(dim=[0, 2, 3]), torch.zeros(3), atol=1e-5)
    assert torch.allclose(d.x_train.std(dim=[0, 2, 3]), torch.ones(3), atol=1e-5)


# ---- file datasets in torchvision's layouts


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "extracted"])
@pytest.mark.parametrize("name,cls", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_idx_layouts(tmp_path, gz, name, cls):
    raw = fake_mnist(tmp_path, cls, gz)
    before = sorted(p.name for p in (tmp_path / cls / "raw").iterdir())
    d = load_dataset(name, tmp_path, val_fraction=0.25)
    check_dataset(d, (1, 28, 28), 10)
    assert (len(d.x_train), len(d.x_val), len(d.x_test)) == (30, 10, 20)
    assert torch.equal(d.y_test, torch.from_numpy(raw["y_test"]))  # the official test set, in its order
    assert torch.allclose(standardised(d.x_test), standardised(torch.from_numpy(raw["x_test"])[:, None]))
    rows = {tuple(r) for r in torch.cat([d.x_train, d.x_val]).flatten(1).tolist()}
    assert len(rows) == 40  # no training image lost or used twice
    assert sorted(p.name for p in (tmp_path / cls / "raw").iterdir()) == before  # data dir untouched


def test_cifar10_layout(tmp_path):
    test_batch = fake_cifar(tmp_path)
    d = load_dataset("cifar10", tmp_path, val_fraction=0.5)
    check_dataset(d, (3, 32, 32), 10)
    assert (len(d.x_train), len(d.x_val), len(d.x_test)) == (50, 50, 20)
    assert d.y_test.tolist() == test_batch["labels"]
    chw = torch.from_numpy(test_batch["data"]).reshape(-1, 3, 32, 32)  # rows are R plane, G plane, B plane
    assert torch.allclose(standardised(d.x_test), standardised(chw), atol=1e-5)


def test_eurosat_layout_is_an_image_folder(tmp_path):
    fake_eurosat(tmp_path, per_class=5)
    d = load_dataset("eurosat", tmp_path, val_fraction=0.25, test_fraction=0.2)
    check_dataset(d, (3, 8, 8), 3)
    assert (len(d.x_train), len(d.x_val), len(d.x_test)) == (9, 3, 3)  # no official test split: both carved
    for y in (d.y_train, d.y_val, d.y_test):
        assert torch.bincount(y, minlength=3).min() >= 1  # stratified


def test_eurosat_bad_images_and_too_few_samples_are_user_errors(tmp_path):
    folder = fake_eurosat(tmp_path / "a", per_class=1)
    with pytest.raises(UserError, match="cannot carve a stratified test split"):
        load_dataset("eurosat", tmp_path / "a")
    (folder / "River" / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(UserError, match="cannot decode image .*broken.jpg"):
        load_dataset("eurosat", tmp_path / "a")


def test_flowers17_keeps_the_papers_split(tmp_path):
    raw = fake_flowers(tmp_path)
    d = load_dataset("flowers17", tmp_path, split_seed=5, val_fraction=0.5)  # fractions and seed do not apply
    check_dataset(d, (3, 16, 16), 17)
    assert (len(d.x_train), len(d.x_val), len(d.x_test)) == (34, 17, 17)
    assert torch.equal(d.y_val, torch.from_numpy(raw["y_val"].argmax(1)))


# ---- errors for people


@pytest.mark.parametrize("name,fragment", [("mnist", "train-images-idx3-ubyte"),
                                           ("fashion-mnist", "FashionMNIST/raw"), ("cifar10", "data_batch_1"),
                                           ("eurosat", "2750"), ("flowers17", "x_train.npy")])
def test_missing_data_is_one_line_naming_folder_and_files(tmp_path, name, fragment):
    with pytest.raises(UserError) as missing:
        load_dataset(name, tmp_path / "data")
    with pytest.raises(UserError) as no_dir:
        load_dataset(name, None)
    for text in (str(missing.value), str(no_dir.value)):
        assert "\n" not in text and name in text and fragment in text and "--data-dir" in text
    assert str(tmp_path / "data") in str(missing.value) and "no such folder" in str(missing.value)
    assert not (tmp_path / "data").exists()  # looking never creates anything


def test_unknown_dataset_and_bad_parameters():
    with pytest.raises(UserError, match="unknown dataset 'imagenet'; known datasets: digits, mnist1d"):
        load_dataset("imagenet")
    for bad in (0, 1, -0.1, float("nan"), "0.2"):
        with pytest.raises(UserError, match="val_fraction must be"):
            load_dataset("digits", val_fraction=bad)
    with pytest.raises(UserError, match="split_seed must be an integer"):
        load_dataset("digits", split_seed=1.5)


def test_data_dir_argument_then_environment(tmp_path, monkeypatch):
    assert resolve_data_dir(None) is None and resolve_data_dir("") is None
    monkeypatch.setenv("HYPERION_DATA_DIR", str(tmp_path))
    assert resolve_data_dir(None) == tmp_path.resolve()
    assert resolve_data_dir(tmp_path / "x") == (tmp_path / "x").resolve()
    fake_flowers(tmp_path)
    assert load_dataset("flowers17").n_classes == 17
    assert DATASETS == ("digits", "mnist1d", "mnist", "fashion-mnist", "cifar10", "eurosat", "flowers17")


# ---- download (never for real here: torchvision is replaced)


def test_download_only_when_asked(tmp_path, monkeypatch):
    calls = []

    def fake_download(name: str, cls_name: str, root: Path) -> None:
        calls.append(cls_name)
        fake_mnist(root, cls_name)

    monkeypatch.setattr(_torchvision, "download", fake_download)
    with pytest.raises(UserError, match="missing files"):
        load_dataset("mnist", tmp_path)
    assert calls == []
    assert load_dataset("mnist", tmp_path, val_fraction=0.25, download=True).n_classes == 10
    assert calls == ["MNIST"]
    load_dataset("mnist", tmp_path, val_fraction=0.25, download=True)
    assert calls == ["MNIST"]  # present files are used as they are


def test_failed_download_is_one_line(tmp_path, monkeypatch):
    def offline(root: str, download: bool) -> None:
        raise OSError("<urlopen error [Errno -3] Temporary failure\nin name resolution>")

    datasets = types.ModuleType("torchvision.datasets")
    datasets.CIFAR10 = offline
    package = types.ModuleType("torchvision")
    package.datasets = datasets
    monkeypatch.setitem(sys.modules, "torchvision", package)
    monkeypatch.setitem(sys.modules, "torchvision.datasets", datasets)
    with pytest.raises(UserError) as info:
        load_dataset("cifar10", tmp_path, download=True)
    text = str(info.value)
    assert "\n" not in text and "download into" in text and "Temporary failure in name resolution" in text


# ---- the processed-tensor cache


def cache_files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache").iterdir())


def test_second_load_comes_from_the_cache(tmp_path, monkeypatch):
    fake_flowers(tmp_path)
    first = load_dataset("flowers17", tmp_path)
    [entry] = cache_files(tmp_path)  # one entry, no temp files left behind
    assert entry.suffix == ".pt"

    def unreadable(paths):
        raise AssertionError("the source was read again")

    source = data_module._REGISTRY["flowers17"]
    monkeypatch.setitem(data_module._REGISTRY, "flowers17", dataclasses.replace(source, read=unreadable))
    second = load_dataset("flowers17", tmp_path)
    for f in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        assert torch.equal(getattr(first, f), getattr(second, f))
    assert second.name == "flowers17" and second.n_classes == 17


def test_cache_keys_cover_split_parameters(tmp_path):
    load_dataset("digits", split_seed=0)
    load_dataset("digits", split_seed=1)
    load_dataset("digits", split_seed=0, val_fraction=0.3)
    load_dataset("digits", split_seed=0)
    assert len(cache_files(tmp_path)) == 3


def test_changed_source_files_are_not_served_from_a_stale_entry(tmp_path):
    fake_flowers(tmp_path, seed=0)
    first = load_dataset("flowers17", tmp_path)
    fake_flowers(tmp_path, seed=1)
    later = os.stat(tmp_path / "flowers17-16px" / "x_train.npy").st_mtime_ns + 10**9
    for p in (tmp_path / "flowers17-16px").iterdir():
        os.utime(p, ns=(later, later))  # same sizes: only the times tell the files changed
    assert not torch.equal(first.x_train, load_dataset("flowers17", tmp_path).x_train)


def test_damaged_cache_entry_is_rebuilt(tmp_path):
    first = load_dataset("digits")
    [entry] = cache_files(tmp_path)
    entry.write_bytes(b"truncated")
    again = load_dataset("digits")
    assert torch.equal(first.x_val, again.x_val)
    assert entry.stat().st_size > 1000 and load_dataset("digits").n_classes == 10


# ---- real data, where this checkout has the shared copies


@pytest.mark.skipif(not (SHARED / "MNIST" / "raw").is_dir(),
                    reason=f"no MNIST/raw under {SHARED}: set HYPERION_SHARED_DATASETS to the shared datasets folder")
def test_real_mnist_from_the_shared_gz_files():
    d = load_dataset("mnist", SHARED)
    check_dataset(d, (1, 28, 28), 10)
    assert len(d.x_train) + len(d.x_val) == 60000 and len(d.x_test) == 10000
    assert torch.bincount(d.y_test).tolist() == MNIST_TEST_COUNTS
