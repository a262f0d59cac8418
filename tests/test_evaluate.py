"""evaluate(): the one trial body. Reports, determinism, failure on divergence, 1-D pipeline."""

import pytest
import torch

from conftest import CELL_SUITE, write_suite
from hyperion_bench.evaluate import TrialDiverged, evaluate, prepare_signal
from hyperion_bench.suites import load_suite

CONFIG = {"cells": 1, "channels": 4, "op@0": "conv", "op@1": "sep_conv", "kernel@0": 3, "kernel@1": 5,
          "activation@0": "relu", "activation@1": "tanh", "edges@0": "0+1", "edges@1": "0+2"}


@pytest.fixture
def suite(tmp_path):
    return load_suite(write_suite(tmp_path, CELL_SUITE))


def test_reports_every_epoch_and_test_error_at_the_end(suite, tiny_images):
    reports = []
    final = evaluate(suite, CONFIG, tiny_images, epochs=3, report=lambda **m: reports.append(m))
    assert [r["epoch"] for r in reports] == [1, 2, 3]
    for r in reports:
        for key in ("val_error", "val_loss", "train_loss", "n_params", "weighted_sum", "elapsed_s", "peak_gpu_mem_mb"):
            assert key in r
        assert r["weighted_sum"] == pytest.approx(r["val_error"] + 1e-5 * r["n_params"])
        assert 0.0 <= r["val_error"] <= 1.0
    assert "test_error" not in reports[0] and "test_error" in reports[-1]
    assert reports[-1]["peak_gpu_mem_mb"] == 0.0  # a CPU trial uses no GPU memory
    assert reports[1]["elapsed_s"] < reports[2]["elapsed_s"]
    assert final["genotype"].startswith('{"normal"')


def test_learns_a_separable_problem(suite, tiny_images):
    final = evaluate(suite, {**CONFIG, "channels": 8}, tiny_images, epochs=8)
    assert final["val_error"] < 0.2


def test_same_seed_same_numbers(suite, tiny_images):
    a = evaluate(suite, CONFIG, tiny_images, epochs=2, seed=7)
    b = evaluate(suite, CONFIG, tiny_images, epochs=2, seed=7)
    c = evaluate(suite, CONFIG, tiny_images, epochs=2, seed=8)
    timing = {"elapsed_s", "peak_gpu_mem_mb"}
    assert {k: v for k, v in a.items() if k not in timing} == {k: v for k, v in b.items() if k not in timing}
    assert a["train_loss"] != c["train_loss"]


def test_non_finite_loss_fails_the_trial(suite, tiny_images):
    bad = tiny_images
    bad.x_train = bad.x_train.clone()
    bad.x_train[0, 0, 0, 0] = float("nan")
    with pytest.raises(TrialDiverged, match="nan"):
        evaluate(suite, CONFIG, bad, epochs=1)


def test_signal_pipeline_window_and_downsample():
    x = torch.arange(40.0).view(1, 1, 40)
    assert prepare_signal(x, 0, 1).shape[-1] == 40
    cropped = prepare_signal(x, 24, 1)
    assert cropped.shape[-1] == 24 and cropped[0, 0, 0] == 8  # centred
    down = prepare_signal(x, 24, 2)
    assert down.shape[-1] == 12 and down[0, 0, 0] == 8.5  # average of 8 and 9


def test_one_dimensional_suite_uses_window_and_downsample(tiny_signals):
    suite = load_suite("mnist1d")
    config = {**suite.space.sample(__import__("numpy").random.default_rng(0)), "window": 24, "downsample": 2,
              "cells": 1, "channels": 16}
    small = evaluate(suite, config, tiny_signals, epochs=1)
    large = evaluate(suite, {**config, "window": 40, "downsample": 1}, tiny_signals, epochs=1)
    assert small["n_params"] == large["n_params"]  # the network does not depend on the input length
    assert small["elapsed_s"] > 0 and large["elapsed_s"] > 0


def test_trials_train_and_measure_on_the_windowed_downsampled_signal(tiny_signals):
    """evaluate() must feed every split through the window and the sampling rate: the same trial on data
    prepared beforehand (and then left alone: window 0 = the whole signal, downsample 1) gives the same numbers."""
    import dataclasses

    import numpy as np

    suite = load_suite("mnist1d")
    config = {**suite.space.sample(np.random.default_rng(0)), "cells": 1, "channels": 8, "window": 24, "downsample": 2}
    ready = dataclasses.replace(tiny_signals, **{k: prepare_signal(getattr(tiny_signals, k), 24, 2)
                                                 for k in ("x_train", "x_val", "x_test")})
    timing = {"elapsed_s", "peak_gpu_mem_mb"}
    inside = {k: v for k, v in evaluate(suite, config, tiny_signals, epochs=2).items() if k not in timing}
    before = {k: v for k, v in evaluate(suite, {**config, "window": 0, "downsample": 1}, ready, epochs=2).items()
              if k not in timing}
    raw = evaluate(suite, {**config, "window": 0, "downsample": 1}, tiny_signals, epochs=2)
    assert inside == before
    assert raw["train_loss"] != inside["train_loss"]  # the raw signal is a different problem
