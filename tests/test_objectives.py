"""Derived metrics, the weighted sum and objective vectors against hand-computed values (issue 18: these
mutants of objectives.py survived, because only whole trials reached the module)."""

from __future__ import annotations

import pytest

from hyperion_bench.objectives import derive, objective_vector, weighted_sum
from hyperion_bench.suites import Objectives


@pytest.mark.parametrize("n_params, log10", [(1000, 3.0), (1, 0.0), (0, 0.0)])  # 0 params: log10 of 1, not -inf
def test_derive_adds_log10_size_and_negative_accuracy_in_percent(n_params, log10):
    out = derive({"n_params": n_params, "val_error": 0.25, "epoch": 3})
    assert out == {"n_params": n_params, "val_error": 0.25, "epoch": 3, "log10_n_params": pytest.approx(log10),
                   "neg_val_accuracy_pct": pytest.approx(-75.0)}


def test_weighted_sum_and_objective_vector_follow_the_suite():
    objectives = Objectives(weighted_sum={"val_error": 1.0, "n_params": 1e-5}, pareto=["neg_val_accuracy_pct",
                            "log10_n_params"], reference_point=[0.0, 8.0])
    metrics = derive({"n_params": 20_000, "val_error": 0.1})
    assert weighted_sum(objectives, metrics) == pytest.approx(0.1 + 0.2)
    assert objective_vector(objectives, metrics) == pytest.approx([-90.0, 4.30103], abs=1e-5)
    with pytest.raises(KeyError):
        weighted_sum(Objectives({"train_loss": 1.0}, [], []), metrics)  # a missing metric is an error, not 0
