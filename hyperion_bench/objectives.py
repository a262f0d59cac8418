"""Derived metrics, the weighted sum and objective vectors (everything minimised).

Why: single-objective methods optimise the suite's weighted sum (the Hyperion paper's
``training_loss + 1e-5 * n_params`` and ``(1 - acc) + 0.4 * n_params / 1e4``); multi-objective
methods and the hypervolume use the suite's Pareto metrics. Both are computed here, once.
"""

from __future__ import annotations

import math
from typing import Any

from hyperion_bench.suites import Objectives


def derive(metrics: dict[str, Any]) -> dict[str, Any]:
    """Add the metrics that are functions of the measured ones."""
    out = dict(metrics)
    out["log10_n_params"] = math.log10(max(int(metrics["n_params"]), 1))
    out["neg_val_accuracy_pct"] = -100.0 * (1.0 - float(metrics["val_error"]))
    return out


def weighted_sum(objectives: Objectives, metrics: dict[str, Any]) -> float:
    return float(sum(w * float(metrics[m]) for m, w in objectives.weighted_sum.items()))


def objective_vector(objectives: Objectives, metrics: dict[str, Any]) -> list[float]:
    return [float(metrics[m]) for m in objectives.pareto]
