"""DARTS (Liu et al., ICLR 2019) and hyperDARTS as methods of the harness: one one-shot run per seed.

Why a scheduler at all: so that DARTS is judged like every other method, through the same trial body
(``evaluate``), budget accounting and records. Its single config hands every cell-level (fusion)
parameter to the inner loop with all of the suite's choices (``inner@op``, ``inner@kernel``, ...), so
``evaluate`` builds the full supernet, searches it (first or second order, the suite's ``[oneshot]``
table), derives the genotype and trains the derived network. DARTS cannot search pipeline or macro
parameters: they sit at the space's default point (:meth:`JointSpace.default_point`), the same for every
seed. The search stops early when the (method, seed)'s wall-clock budget would run out.

hyperDARTS (seeds/hyperdarts-report.md) is the same run with ``inner_optimizer = "hyperdarts"`` in the
config: the supernet's cell weights come from a hypernetwork of the alphas (``nn/hyperdarts.py``), with
the suite's ``[hyperdarts]`` settings and the same ``[oneshot]`` epochs, batch and budget share as DARTS.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hyperion_bench.errors import UserError
from hyperion_bench.methods.optimizer import Optimizer, Suggestion
from hyperion_bench.oneshot import INNER_OPTIMIZER, INNER_PREFIX, full_inner_config


class Darts(Optimizer):
    """Suggests one config per seed (the full one-shot search), then nothing: one run, as DARTS does."""

    method = "darts"

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        from hyperion_bench.suites import DEFAULTS

        self.config = full_inner_config(self.space, DEFAULTS)
        if not any(k.startswith(INNER_PREFIX) for k in self.config):
            raise UserError(f"method {self.method} needs a cell suite with fusion parameters (op, kernel, activation)")
        if self.method != "darts":  # DARTS' configs carry no key, as before it existed
            self.config[INNER_OPTIMIZER] = self.method

    def ask(self, key: int) -> Suggestion | None:
        return Suggestion(dict(self.config)) if key == 0 else None

    def tell(self, key: int, values: np.ndarray | None, result: dict[str, Any]) -> None:
        pass  # one run: nothing to learn across trials

    def finalise(self, config: dict[str, Any]) -> dict[str, Any]:
        return config  # not a point of the flat space: the inner loop owns the fusion parameters


class HyperDarts(Darts):
    """hyperDARTS: the same single full one-shot run, with the hypernetwork supernet."""

    method = "hyperdarts"
