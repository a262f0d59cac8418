"""Multi-objective random search: the bag-of-baselines' floor (Guerrero-Viu et al., 2021, Section 4).

Why an Optimizer: it is the simplest instance of the ask/tell contract (``optimizer``) and the row
every other multi-objective method must beat. It samples uniformly from the joint space (the same
``Param.sample`` everything else uses) and trains every config for the full budget (``epochs=None``:
the suite's default).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hyperion_bench.methods.optimizer import Optimizer, Suggestion


class MORandom(Optimizer):
    def ask(self, key: int) -> Suggestion | None:
        return Suggestion(self.space.sample(self.rng), epochs=None)

    def tell(self, key: int, objectives: np.ndarray | None, result: dict[str, Any]) -> None:
        pass  # random search learns nothing
