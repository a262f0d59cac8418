"""Random search (Bergstra & Bengio, JMLR 2012): uniform samples of Syne Tune's domains. One class for
any number of objectives: ``random`` (the weighted sum) and ``mo-random`` (the bag-of-baselines' floor,
Guerrero-Viu et al., 2021, Section 4: every config trained for the full budget) sample the same stream.
(``mo-random`` had its own class drawing from ``JointSpace.sample``, a second random search with another
stream; merged in issue 19, its published rows re-run.)

Why an adapter, and why not Syne Tune's ``RandomSearcher``: in Syne Tune 0.16 ``RandomSearcher``
stores its ``random_seed`` but never uses it (``sample_random_config`` calls ``domain.sample()``
without a random state, so it draws from numpy's global generator: two runs with the same seed
differ), and the ``RandomSearch`` scheduler asserts on several metrics. We sample the very same
Syne Tune domains (``space.to_syne_tune()``) with our own seeded ``RandomState``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hyperion_bench.methods.optimizer import Optimizer, Suggestion


class RandomSearch(Optimizer):
    """Learns nothing; its seed fixes the whole stream, so the same seed proposes the same configs whatever
    the objectives."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.domains = self.space.to_syne_tune()
        self.random_state = np.random.RandomState(self.seed % 2**32)

    def ask(self, key: int) -> Suggestion:
        return Suggestion({name: d.sample(random_state=self.random_state) for name, d in self.domains.items()})

    def tell(self, key: int, values: np.ndarray | None, result: dict[str, Any]) -> None:
        pass  # random search learns nothing

    def observe(self, config: dict[str, Any], values: np.ndarray | None) -> None:
        pass
