"""Named cell search spaces: the classic DARTS space and the Hyperion paper's Tables 2 and 3.

Why in code and not only in suite files: the classic DARTS space is not a product of op x kernel x
activation (pools only at 3x3, convs at 3x3 and 5x5, plus 'none'), so it is an explicit candidate list;
the benchmarks build supernets from these without a dataset. Suites express the factorised spaces
(Table 2 is the ``[params.op/kernel/activation]`` of the image suites).

Note on Table 3: the paper prints kernel sizes [3, 5, 7, 9]; ``shared/REFERENCES.md`` summarises it as
{3, 5, 7}. We follow the paper's table.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from hyperion_bench.nn.supernet import Candidate, dedupe

CLASSIC_DARTS: tuple[Candidate, ...] = (
    ("none", 0, "-"), ("max_pool", 3, "-"), ("avg_pool", 3, "-"), ("skip", 0, "-"),
    ("sep_conv", 3, "relu"), ("sep_conv", 5, "relu"), ("dil_conv", 3, "relu"), ("dil_conv", 5, "relu"),
)


@dataclass(frozen=True)
class FactorSpace:
    """A cell space given as the choices of each fusion parameter (a candidate is one combination)."""

    ops: tuple[str, ...]
    kernels: tuple[int, ...]
    activations: tuple[str, ...]

    def candidates(self, ops: tuple[str, ...] | None = None, kernels: tuple[int, ...] | None = None,
                   activations: tuple[str, ...] | None = None) -> list[Candidate]:
        """All candidates, or those of a reduced space (a subset of choices per parameter)."""
        return dedupe(list(itertools.product(ops or self.ops, kernels or self.kernels,
                                             activations or self.activations)))


TABLE2 = FactorSpace(("avg_pool", "skip", "dil_conv"), (3, 5, 7, 9), ("relu", "tanh"))
TABLE3 = FactorSpace(("avg_pool", "max_pool", "skip", "dil_conv", "sep_conv"), (3, 5, 7, 9), ("relu", "tanh"))


@dataclass(frozen=True)
class NetworkPreset:
    """A supernet: per-node candidates and the stacking (DARTS: 4 nodes, 8 cells, C=16, stem 3C)."""

    candidates: tuple[Candidate, ...]
    nodes: int = 4
    cells: int = 8
    channels: int = 16
    stem_multiplier: int = 3

    def per_node(self) -> list[list[Candidate]]:
        return [list(self.candidates) for _ in range(self.nodes)]


PRESETS: dict[str, NetworkPreset] = {
    "darts": NetworkPreset(CLASSIC_DARTS),
    "table2": NetworkPreset(tuple(TABLE2.candidates())),
    "table3": NetworkPreset(tuple(TABLE3.candidates())),
}
