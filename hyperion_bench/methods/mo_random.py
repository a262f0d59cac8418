"""Multi-objective random search: the bag-of-baselines' floor (Guerrero-Viu et al., 2021, Section 4).

Why an MOOptimizer: it is the simplest instance of the ask/tell contract (``_mo_base``) and the row
every other multi-objective method must beat. It samples uniformly from the joint space (the same
``Param.sample`` everything else uses) and trains every config for the full budget (``epochs=None``:
the suite's default).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hyperion_bench.methods._mo_base import MOOptimizer, MOSuggestion


class MORandom(MOOptimizer):
    def ask(self, key: int) -> MOSuggestion | None:
        return MOSuggestion(self.space.sample(self.rng), epochs=None)

    def tell(self, key: int, objectives: np.ndarray | None, result: dict[str, Any]) -> None:
        pass  # random search learns nothing
