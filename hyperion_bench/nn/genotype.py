"""A discrete cell architecture, and how a config of the joint space describes one.

Why it exists: every method, multi-trial or one-shot, must end in the same kind of object so that the
same builder trains and measures it. A genotype lists, per cell node, its incoming edges; an edge is
(input state, op, kernel, activation). States 0 and 1 are the cell's two inputs, state 2 + i is node i.
DARTS derives two edges per node with their own ops; a multi-trial config sets one op / kernel /
activation per node and a pair of inputs (``edges@j``), as in the Hyperion paper's Figure 3.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hyperion_bench.space import parse_edges


@dataclass(frozen=True)
class Edge:
    source: int
    op: str
    kernel: int
    activation: str


@dataclass(frozen=True)
class Genotype:
    """``normal[j]`` are node j's incoming edges; ``reduce`` defaults to the normal cell's."""

    normal: tuple[tuple[Edge, ...], ...]
    reduce: tuple[tuple[Edge, ...], ...] | None = None

    def __post_init__(self) -> None:
        for cell in (self.normal, self.reduce or ()):
            for j, edges in enumerate(cell):
                assert edges, f"node {j} has no input"
                for e in edges:
                    assert 0 <= e.source < j + 2, f"node {j} cannot read state {e.source}"

    @property
    def nodes(self) -> int:
        return len(self.normal)

    def cell(self, reduction: bool) -> tuple[tuple[Edge, ...], ...]:
        return self.reduce if reduction and self.reduce is not None else self.normal

    def to_json(self) -> str:
        def cell(c: Any) -> list:
            return [[[e.source, e.op, e.kernel, e.activation] for e in node] for node in c]

        return json.dumps({"normal": cell(self.normal), "reduce": None if self.reduce is None else cell(self.reduce)},
                          separators=(",", ":"))

    @staticmethod
    def from_json(text: str) -> Genotype:
        raw = json.loads(text)

        def cell(c: list) -> tuple:
            return tuple(tuple(Edge(int(s), str(o), int(k), str(a)) for s, o, k, a in node) for node in c)

        return Genotype(cell(raw["normal"]), None if raw["reduce"] is None else cell(raw["reduce"]))


def genotype_from_config(config: dict[str, Any], nodes: int, setting: Any, edges_searched: bool = True) -> Genotype:
    """Per-node values -> genotype. ``setting(name, node)`` resolves searched vs. fixed values.

    ``edges_searched``: the space generates ``edges@j`` (any cell suite with fusion parameters), so a
    config without it is an error (KeyError), not a chain; only a cell without searched fusion
    parameters is wired as the chain (0, 1), (1, 2), ..."""
    cell = []
    for j in range(nodes):
        edges = config.get(f"edges@{j}")
        if edges is None and edges_searched:
            raise KeyError(f"config sets no value for edges@{j}: a cell that is not searched needs its inputs")
        sources = parse_edges(edges) if edges is not None else (j, j + 1)  # no fusion parameter: a chain
        op, kernel, act = setting("op", j), int(setting("kernel", j)), setting("activation", j)
        cell.append(tuple(Edge(s, op, kernel, act) for s in sources))
    return Genotype(tuple(cell))
