"""Objectives known from a config without training: the model size (and ZDT's f1 = x0).

Why: MS-EHVI models only the expensive objective and evaluates the cheap one exactly (the paper's
Section 3.3). The parameter count of a config is exact and cheap: the network is built on PyTorch's
``meta`` device (shapes only, no memory, no compute) by the same ``build_network`` that trials use,
so the count is the one the trial will report.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

SIZE_METRICS = ("n_params", "log10_n_params")


def n_params_of(suite: Any, config: dict[str, Any], in_shape: tuple[int, ...], n_classes: int) -> int:
    """Trainable parameters of the network ``config`` describes, counted without allocating it."""
    import torch

    from hyperion_bench.nn import build_network, count_params

    shape = tuple(in_shape)
    if len(shape) == 2:  # 1-D signals: the window and sampling-rate pipeline parameters change the length
        length = shape[1]
        window, downsample = int(suite.setting(config, "window")), int(suite.setting(config, "downsample"))
        if 0 < window < length:
            length = window
        if downsample > 1 and length >= downsample:
            length //= downsample
        shape = (shape[0], length)
    with torch.device("meta"):
        model, _ = build_network(suite, config, shape, n_classes)
    return count_params(model)


def cheap_function(suite: Any, shape: tuple[tuple[int, ...], int] | None
                   ) -> Callable[[dict[str, Any]], dict[str, float] | None] | None:
    """A function config -> {cheap objective: value} for the suite, or None when it has none."""
    pareto = list(suite.objectives.pareto)
    if suite.family == "synthetic":
        from hyperion_bench.synthetic import cheap_objectives

        return lambda config: cheap_objectives(suite, config)
    if shape is None or not any(m in SIZE_METRICS for m in pareto):
        return None
    in_shape, n_classes = shape

    def cheap(config: dict[str, Any]) -> dict[str, float]:
        n = n_params_of(suite, config, in_shape, n_classes)
        return {"n_params": float(n), "log10_n_params": math.log10(max(n, 1))}

    return cheap
