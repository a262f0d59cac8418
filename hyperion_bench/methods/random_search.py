"""Random search (Bergstra & Bengio, JMLR 2012): uniform samples of Syne Tune's domains.

Why an adapter, and why not Syne Tune's ``RandomSearcher``: in Syne Tune 0.16 ``RandomSearcher``
stores its ``random_seed`` but never uses it (``sample_random_config`` calls ``domain.sample()``
without a random state, so it draws from numpy's global generator: two runs with the same seed
differ), and the ``RandomSearch`` scheduler asserts on several metrics. We sample the very same
Syne Tune domains (``space.to_syne_tune()``) with our own seeded ``RandomState``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hyperion_bench.methods._ask_tell import AskTellScheduler


class RandomSearchScheduler(AskTellScheduler):
    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.domains = self.space.to_syne_tune()
        self.random_state = np.random.RandomState(self.seed % 2**32)

    def ask(self, key: int) -> dict[str, Any]:
        return {name: domain.sample(random_state=self.random_state) for name, domain in self.domains.items()}

    def tell(self, key: int, value: float | None) -> None:
        pass  # random search learns nothing

    def observe(self, config: dict[str, Any], value: float | None) -> None:
        pass
