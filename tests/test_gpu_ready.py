"""CUDA-path properties that a CPU can check (issue 16): compiled searches in a warm worker, the
search's device copies, the peak-memory phases. The stand-in device tests are test_fake_devices.py."""

from __future__ import annotations

import pytest
import torch

from conftest import CELL_SUITE, write_suite
from hyperion_bench.suites import load_suite

ONESHOT = CELL_SUITE + """
[oneshot]
epochs = 1
batch_size = 4
"""
CONFIG = {"cells": 1, "channels": 4, "kernel@0": 3, "kernel@1": 3, "activation@0": "relu", "activation@1": "relu"}


@pytest.fixture
def suite(tmp_path):
    return load_suite(write_suite(tmp_path, ONESHOT))


def test_every_compiled_search_in_a_worker_compiles(suite, monkeypatch):
    """Dynamo gives up compiling a function after ``recompile_limit`` versions (8); a warm worker that
    never reset it ran every later search uncompiled, so search speed depended on trial order. With the
    limit at 1, two searches over different supernets must both be compiled. A counting backend stands
    in for inductor (which takes minutes on two cores)."""
    from hyperion_bench.oneshot import run_search

    compiled: list[int] = []

    def counting(gm, example_inputs):
        compiled[-1] += 1
        return gm.forward

    real = torch.compile
    monkeypatch.setattr(torch, "compile", lambda net, mode=None: real(net, backend=counting))
    monkeypatch.setattr(torch._dynamo.config, "recompile_limit", 1)
    suite.oneshot["compile"] = "reduce-overhead"
    x, y = torch.randn(8, 1, 8, 8), torch.arange(8) % 3
    try:
        for ops in ("conv|skip", "conv|max_pool|skip"):
            compiled.append(0)
            run_search(suite, {**CONFIG, "inner@op": ops}, x, y, 3, seed=0, deadline=None)
    finally:
        torch._dynamo.reset()
    assert compiled[0] > 0 and compiled[1] > 0, compiled

