"""UCR/UEA problems (``ucr:<Name>``): .ts files written here go through aeon's loader exactly as the
archive's do; missing problems are one line; window/rate configs the signal cannot honour fail as trials.

Tests that read .ts files need aeon (``pip install 'hyperion-bench[ucr]'``) and are skipped without it;
the suite checks and the missing-data messages run everywhere.
"""

import importlib.util

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import write_suite
from hyperion_bench.cli import main
from hyperion_bench.data import _ucr, load_dataset
from hyperion_bench.errors import UserError
from hyperion_bench.evaluate import MIN_SAMPLES, InvalidConfig, evaluate, prepare_signal
from hyperion_bench.suites import load_suite

needs_aeon = pytest.mark.skipif(importlib.util.find_spec("aeon") is None,
                                reason="aeon is not installed (pip install 'hyperion-bench[ucr]')")


def write_ts(folder, name, split, cases, labels, classes):
    """A .ts file in the archive's format: channels separated by ':', the class label last."""
    folder.mkdir(parents=True, exist_ok=True)
    channels = cases[0].shape[0]
    equal = len({c.shape[1] for c in cases}) == 1
    header = [f"@problemName {name}", "@timeStamps false", "@missing false",
              f"@univariate {'true' if channels == 1 else 'false'}"]
    if channels > 1:
        header.append(f"@dimensions {channels}")
    header.append(f"@equalLength {'true' if equal else 'false'}")
    if equal:
        header.append(f"@seriesLength {cases[0].shape[1]}")
    header += [f"@classLabel true {' '.join(classes)}", "@data"]
    rows = [":".join(",".join(repr(float(v)) for v in ch) for ch in case) + f":{label}"
            for case, label in zip(cases, labels, strict=True)]
    (folder / f"{name}_{split}.ts").write_text("\n".join(header + rows) + "\n")


def make_problem(root, name, channels, lengths_train, lengths_test, classes=("a", "b", "c"), seed=0):
    """Class k's series sit around level k (separable); returns the (cases, labels) of both splits."""
    rng = np.random.default_rng(seed)
    out = {}
    for split, lengths in (("TRAIN", lengths_train), ("TEST", lengths_test)):
        labels = [classes[i % len(classes)] for i in range(len(lengths))]
        cases = [classes.index(lab) + 0.1 * rng.standard_normal((channels, n)) for lab, n in zip(labels, lengths,
                                                                                                  strict=True)]
        write_ts(root / name, name, split, cases, labels, list(classes))
        out[split] = (cases, labels)
    return out


@needs_aeon
def test_univariate_equal_length_keeps_the_official_split(tmp_path):
    make_problem(tmp_path, "Uni", 1, [16] * 24, [16] * 9)
    d = load_dataset("ucr:Uni", tmp_path, split_seed=0, val_fraction=0.25)
    assert d.x_train.shape == (18, 1, 16) and d.x_val.shape == (6, 1, 16) and d.x_test.shape == (9, 1, 16)
    assert d.n_classes == 3 and d.y_test.tolist() == [0, 1, 2] * 3  # the file's order, header's class order
    assert d.y_val.bincount().tolist() == [2, 2, 2]  # stratified
    other = load_dataset("ucr:Uni", tmp_path, split_seed=1, val_fraction=0.25)
    assert not torch.equal(d.x_val, other.x_val)  # validation follows the suite's seed; test does not
    assert torch.equal(d.y_test, other.y_test)


@needs_aeon
def test_multivariate_unequal_lengths_are_padded_or_resampled(tmp_path):
    written = make_problem(tmp_path, "Multi", 3, [5, 8, 12, 7, 9, 6] * 3, [4, 13, 10])
    padded = _ucr.read(_ucr.locate("ucr:Multi", tmp_path, False), unequal="pad")
    assert padded.x.shape == (18, 3, 13) and padded.x_test.shape == (3, 3, 13)  # the longest: a test case
    first = written["TRAIN"][0][0]  # 3 x 5
    np.testing.assert_allclose(padded.x[0, :, :5], first, rtol=1e-6)
    np.testing.assert_allclose(padded.x[0, :, 5:], np.repeat(first[:, -1:], 8, axis=1), rtol=1e-6)  # held
    resampled = _ucr.read(_ucr.locate("ucr:Multi", tmp_path, False), unequal="resample", length=9)
    assert resampled.x.shape == (18, 3, 9)
    stretched = resampled.x[0]  # 5 samples onto 9: every other new sample is an old one, between them means
    np.testing.assert_allclose(stretched[:, ::2], first, rtol=1e-6)
    np.testing.assert_allclose(stretched[:, 1], (first[:, 0] + first[:, 1]) / 2, rtol=1e-5)
    with pytest.raises(UserError, match="cannot pad to length 10: the longest series has 13"):
        _ucr.read(_ucr.locate("ucr:Multi", tmp_path, False), unequal="pad", length=10)
    d = load_dataset("ucr:Multi", tmp_path, val_fraction=1 / 3, unequal="resample", length=9)
    assert d.in_shape == (3, 9) and d.x_test.shape[0] == 3
    assert load_dataset("ucr:Multi", tmp_path, val_fraction=1 / 3).in_shape == (3, 13)  # own cache entry


def test_a_missing_problem_is_one_line_naming_the_folder_and_files(tmp_path, capsys):
    suite = write_suite(tmp_path, SUITE.replace("NAME", "NoSuchProblem"))
    code = main(["run", "--suite", str(suite), "--methods", "random", "--max-trials", "1",
                 "--data-dir", str(tmp_path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert f"{tmp_path / 'NoSuchProblem'} (no such folder)" in err
    assert "NoSuchProblem/NoSuchProblem_TRAIN.ts and NoSuchProblem/NoSuchProblem_TEST.ts" in err
    (tmp_path / "NoSuchProblem").mkdir()
    (tmp_path / "NoSuchProblem" / "NoSuchProblem_TRAIN.ts").write_text("@data\n")
    with pytest.raises(UserError, match="missing files in .*NoSuchProblem: NoSuchProblem_TEST.ts"):
        load_dataset("ucr:NoSuchProblem", tmp_path)


@pytest.mark.parametrize("body, message", [
    ('dataset = "ucr:"', "expected ucr:<Name>"),
    ('dataset = "ucr:../etc"', "expected ucr:<Name>"),
    ('dataset = "ucr:X"\nunequal = "zero"', "data.unequal: must be one of pad, resample"),
    ('dataset = "ucr:X"\nlength = 1', "data.length: must be 0"),
    ('dataset = "digits"\nunequal = "pad"', "data.unequal: only ucr:<Name> datasets take it"),
])
def test_suite_checks_ucr_data_options(tmp_path, body, message):
    path = write_suite(tmp_path, SUITE.replace('dataset = "ucr:NAME"', body))
    with pytest.raises(UserError, match=message):
        load_suite(path)


def test_window_and_rate_that_leave_too_few_samples_are_invalid_configs():
    x = torch.zeros(2, 12, 29)  # JapaneseVowels' shape: 12 channels, 29 steps
    assert prepare_signal(x, 16, 2).shape == (2, 12, 8)
    assert prepare_signal(x, 0, 7).shape == (2, 12, MIN_SAMPLES)
    with pytest.raises(InvalidConfig, match="window 32 is longer than the signal \\(29 samples\\)"):
        prepare_signal(x, 32, 1)
    with pytest.raises(InvalidConfig, match="window 16 with downsample 8 leaves 2 of the signal's 29 samples"):
        prepare_signal(x, 16, 8)


@needs_aeon
def test_a_data_dir_suite_runs_end_to_end_and_records_invalid_configs_as_failed(tmp_path):
    """The whole path: runner -> worker -> the same loader -> 2-channel network; window 64 > length 13."""
    make_problem(tmp_path, "Runs", 2, [5, 8, 12, 7, 9, 6] * 4, [4, 13, 10, 6, 7, 8])
    suite = write_suite(tmp_path, SUITE.replace("NAME", "Runs"))
    out = tmp_path / "out"
    assert main(["run", "--suite", str(suite), "--methods", "random", "--max-trials", "4", "--seeds", "1",
                 "--data-dir", str(tmp_path), "--out", str(out)]) == 0
    frame = pd.read_csv(out / "s" / "random" / "seed-0" / "trials.csv")
    assert len(frame) == 4
    bad = frame["config_window"] == 64
    assert bad.any() and (~bad).any(), frame["config_window"].tolist()  # seed 0 samples both; else change the seed
    assert (frame.loc[bad, "status"] == "failed").all()
    assert frame.loc[bad, "error"].str.contains("InvalidConfig: window 64 is longer than the signal").all()
    assert (frame.loc[~bad, "status"] == "completed").all() and frame.loc[~bad, "test_error"].notna().all()


@needs_aeon
@pytest.mark.parametrize("name, channels", [("gesture", 1), ("vowels", 12)])
def test_the_bundled_suites_train_a_network_on_their_channels(name, channels):
    suite = load_suite(name)
    data = load_dataset(suite.dataset, split_seed=suite.split_seed, val_fraction=suite.val_fraction,
                        **suite.data_options)
    assert data.in_shape[0] == channels
    config = {**suite.space.sample(np.random.default_rng(0)), "cells": 1, "channels": 8}
    config = {k: v for k, v in config.items() if not k.startswith("inner")}
    metrics = evaluate(suite, config, data, epochs=1)
    assert 0 <= metrics["test_error"] <= 1 and metrics["n_params"] > 0


SUITE = """
[data]
dataset = "ucr:NAME"
val_fraction = 0.25

[network]
family = "cell"
nodes = 1

[training]
epochs = 1
batch_size = 8
channels = 4
cells = 1

[params.window]
role = "pipeline"
type = "choice"
choices = [0, 64]

[params.op]
role = "fusion"
type = "choice"
choices = ["conv", "skip"]

[objectives]
weighted_sum = { val_error = 1.0, n_params = 1e-5 }
"""
