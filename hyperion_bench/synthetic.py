"""Synthetic suites (ZDT1/2/3 from pymoo): the trial is the test function itself, no data, no training.

Why: the multi-objective optimisers must be checked quickly and exactly, apart from network training
noise. A synthetic trial evaluates pymoo's problem at ``x0..x{n-1}`` and reports ``f1``, ``f2`` (both
minimised), the suite's weighted sum, and the usual bookkeeping metrics, once per epoch so that
epoch-based schedulers (MOASHA) see the same reports as with a network. Fidelity is ignored: the
value does not depend on the epoch (a documented choice; see benchmarks/zdt1.toml).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np

from hyperion_bench.suites import SYNTHETIC, Suite


@cache
def problem(name: str, n_var: int) -> Any:
    """pymoo's problem, built once per process (constructing it costs more than evaluating it)."""
    from pymoo.problems import get_problem

    assert name in SYNTHETIC, name
    return get_problem(name, n_var=n_var)


def variables(suite: Suite, config: dict[str, Any]) -> np.ndarray:
    return np.array([float(config[p.name]) for p in suite.space.flat], dtype=float)


def objectives(suite: Suite, config: dict[str, Any]) -> dict[str, float]:
    """``{"f1": ..., "f2": ...}`` of ``config`` (exactly pymoo's values)."""
    x = variables(suite, config)
    f = np.asarray(problem(suite.dataset, len(x)).evaluate(x[None, :])).reshape(-1)
    return {f"f{i + 1}": float(v) for i, v in enumerate(f)}


def cheap_objectives(suite: Suite, config: dict[str, Any]) -> dict[str, float]:
    """The objectives known without "training": for ZDT, f1 = x0 exactly (MS-EHVI's cheap objective)."""
    return {"f1": float(config["x0"])}


def evaluate_synthetic(suite: Suite, config: dict[str, Any], *, epochs: int | None = None,
                       report: Callable[..., None] | None = None) -> dict[str, Any]:
    """The synthetic trial body; same report keys as ``evaluate`` where they make sense."""
    from hyperion_bench.objectives import weighted_sum

    started = time.perf_counter()
    values = objectives(suite, config)
    n_epochs = max(1, min(int(epochs) if epochs is not None else suite.max_epochs, suite.max_epochs))
    metrics: dict[str, Any] = {}
    for epoch in range(1, n_epochs + 1):
        metrics = {"epoch": epoch, **values}
        metrics["weighted_sum"] = weighted_sum(suite.objectives, metrics)
        metrics["elapsed_s"] = time.perf_counter() - started
        metrics["peak_gpu_mem_mb"] = 0.0
        if report is not None:
            report(**metrics)
    return metrics
